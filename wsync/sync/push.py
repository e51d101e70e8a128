"""Batched writes with fallbacks: the part that makes "exactly once" true against real hosting.

A batch endpoint has no transaction, and a request that dies mid-way (5xx, timeout, dropped
connection) leaves some items saved and no answer. So when a whole request fails:
1. creates in it are reconciled by SKU first (the store tells which ones were in fact saved;
   those become updates), so an outcome-unknown create is never sent again blindly. When the
   request may still be running (timeout, cut connection, 504: PHP goes on without its client)
   and some creates are not there yet, they are looked up again until they all are, or until
   the request cannot be running any more (sent-at plus `max_request_s`); never sent before;
2. the rest is retried in halves, down to single items, so one poisoned row cannot sink the
   other 99;
3. a single item that still fails is reported with the store's code and message.
A journal (wsync.sync.journal) records each batch that could land twice before it is sent and
crosses it out once settled, so a worker killed mid-request leaves a note for the next one.
Authentication failures and a store that cannot be reached at all end the job instead: the
ledger keeps what was done and a re-run (or `wsync recover`) finishes the work.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from wsync.errors import StoreUnavailable
from wsync.store.client import answer_fields
from wsync.store.errors import OutcomeUnknown, StoreAuthError, StoreConnectionError, StoreError
from wsync.store.limiter import FixedLimit
from wsync.store.response import StoreResponse

log = logging.getLogger("wsync.sync.push")

# After this many whole requests in a row fail to reach the store, stop the job: the store is down.
MAX_CONSECUTIVE_UNREACHABLE = 4
# While creates of a request that may still be running are missing: first look-up again after
# this long, then 1.5x longer each time, at most MAX_POLL_S apart.
FIRST_POLL_S = 0.5
MAX_POLL_S = 5.0
# When looking up the creates of a failed request fails too (the client has already retried it):
# pauses before asking again; after the last, the creates are left for the next run to settle.
LOOKUP_PAUSES_S = (2.0, 6.0, 15.0)
# Requests a lone item of a failed request gets on its own. Only whole-request failures (5xx,
# timeouts, dropped answers) come here, and they are transient: on a host failing one request in
# six (the proof's faults) an item that met four failures in a row was still being lost.
LONE_RETRIES = 2


@dataclass
class Op:
    action: str  # create | update | delete
    body: dict[str, Any]  # for delete: {"id": N}
    ref: Any = None  # the caller's handle on the item (a key, a record)
    sku: str | None = None
    origin: str | None = None  # "create" when a create was found saved and is re-sent as an update
    attempts: int = 0


@dataclass
class OpResult:
    op: Op
    ok: bool
    data: dict[str, Any] | None = None
    error: StoreError | None = None
    reconciled: bool = False  # a create found saved after an ambiguous failure

    @property
    def code(self) -> str | None:
        return self.error.code if self.error else None


class BatchClient(Protocol):
    """The store the pusher writes to: StoreClient, or a test's stand-in. A batch request, and a
    plain POST for a batch that must not be repeated by retries (`idempotent=False`)."""

    def batch(self, endpoint: str, payload: Mapping[str, list[Any]],
              fields: Sequence[str] | None = None) -> dict[str, Any]: ...

    def post(self, endpoint: str, data: Any, params: Mapping[str, Any] | None = None,
             idempotent: bool = False) -> StoreResponse: ...


# Given the creates of a failed request, return {index in that list: store object} for the saved ones.
Reconciler = Callable[[list[Op]], dict[int, dict[str, Any]]]


class Journal(Protocol):
    """Where a batch that could land twice is noted before it is sent (wsync.sync.journal)."""

    def begin(self, endpoint: str, ops: list[Op]) -> int | None: ...

    def end(self, token: int | None) -> None: ...


# Told while a worker waits for a request that may still be running:
# {"endpoint", "missing", "until", "skus"} (the SKUs of the creates not seen yet).
WaitListener = Callable[[dict[str, Any]], None]


class Unsettled(Exception):
    """The job is stopping while a request it sent may still be saving: its creates are neither
    confirmed nor safe to send again. The journal keeps the request for the next worker."""


@dataclass
class PushStats:
    requests: int = 0
    failed_requests: int = 0
    splits: int = 0
    reconciled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class BatchPusher:
    def __init__(self, client: BatchClient, endpoint: str, *, size: int, concurrency: int | FixedLimit,
                 reconcile: Reconciler | None = None, should_stop: Callable[[], bool] | None = None,
                 max_request_s: float = 0.0, reconcile_updates: bool = False, idempotent: bool | None = None,
                 journal: Journal | None = None, on_wait: WaitListener | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time,
                 fields: Sequence[str] | None = None, endpoint_for: Callable[[list[Op]], str] | None = None,
                 taper: bool = False):
        self.client = client
        # The last requests of a long run made smaller (see `_chunks`): for items that do not
        # care how they are grouped (products; a parent's variations do, it is synced per request).
        self.taper = taper
        # Where a chunk goes, when that depends on its items (a variations batch of several
        # parents goes to the first one's endpoint); else always `endpoint`.
        self.endpoint_for = endpoint_for
        # The fields read from each saved item's answer; None: the whole object.
        self.fields = list(fields) if fields else None
        self.endpoint = endpoint
        self.size = size
        # How many requests may be in flight: asked again before each is sent, so an adaptive
        # limit (wsync.store.limiter) shared by the job's phases takes effect at once.
        self.limit = concurrency if isinstance(concurrency, FixedLimit) else FixedLimit(concurrency)
        self.reconcile = reconcile
        self.should_stop = should_stop or (lambda: False)
        # The longest a store request may run: a request sent longer ago than this is over.
        self.max_request_s = max_request_s
        self.journal = journal
        self.on_wait = on_wait
        self.sleep = sleep
        self.clock = clock
        # Image updates carry {src}: repeating one downloads the image again, so they are not
        # idempotent, and after an ambiguous failure they are checked on the store, not re-sent.
        self.reconcile_updates = reconcile_updates
        self.idempotent = idempotent
        self.stats = PushStats()
        self._unreachable = 0
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------
    def run(self, ops: Iterable[Op]) -> Iterator[list[OpResult]]:
        """Send `ops` in chunks, as many requests at a time as the limit allows; yield each chunk's
        results as it completes (the caller persists them, so a crash loses at most the requests
        in flight)."""
        ops = list(ops)
        chunks = self._chunks(ops)
        pending: set[Future[list[OpResult]]] = set()
        with ThreadPoolExecutor(max_workers=self.limit.ceiling, thread_name_prefix="wsync-push") as pool:
            it = iter(chunks)
            exhausted = False
            while True:
                while not exhausted and len(pending) < self.limit.allowed() and not self.should_stop():
                    chunk = next(it, None)
                    if chunk is None:
                        exhausted = True
                        break
                    pending.add(pool.submit(self._send, chunk))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        yield future.result()
                    except BaseException:
                        for other in pending:
                            other.cancel()
                        raise
                if self.should_stop():
                    exhausted = True

    # -- internals ---------------------------------------------------------------------
    def _chunks(self, ops: list[Op]) -> Iterator[list[Op]]:
        """Requests of `size` items; with `taper`, a run of two rounds or more (`size` items for
        each request the limit allows, twice over) ends in smaller ones: once fewer items are left
        than a full round holds, each request takes the remaining items' share of the requests
        in flight (guided self-scheduling), at least a fifth of `size`. The last request sent then
        ends about when those before it do, instead of running on alone: on the real store a last
        batch of 50 products ran 3.7-3.9 s with nothing else in flight, half of its two cores idle."""
        start = 0
        taper = self.taper and len(ops) >= 2 * self.size * self.limit.allowed()
        floor = max(1, self.size // 5)
        while start < len(ops):
            size = self.size
            if taper:
                in_flight = self.limit.allowed()
                left = len(ops) - start
                if left < self.size * in_flight:
                    size = max(floor, min(self.size, math.ceil(left / in_flight)))
            yield ops[start:start + size]
            start += size

    def _payload(self, chunk: list[Op]) -> dict[str, list[Any]]:
        payload: dict[str, list[Any]] = {}
        for op in chunk:
            if op.action == "delete":
                payload.setdefault("delete", []).append(op.body["id"])
            else:
                payload.setdefault(op.action, []).append(op.body)
        return payload

    def _endpoint(self, chunk: list[Op]) -> str:
        return self.endpoint_for(chunk) if self.endpoint_for is not None else self.endpoint

    def _send(self, chunk: list[Op]) -> list[OpResult]:
        if not chunk:
            return []
        endpoint = self._endpoint(chunk)
        token = self.journal.begin(endpoint, chunk) if self.journal is not None else None
        sent_at = self.clock()
        try:
            self.stats.add(requests=1)
            if self.idempotent is False:
                # Never repeated by retries (an image download would run twice); the answer
                # restricted as a batch's is, which the plain POST does not do by itself.
                body, params = answer_fields(self._payload(chunk), self.fields)
                answer = self.client.post(endpoint, body, params=params, idempotent=False).data or {}
            else:
                # `fields` only when asked for: a BatchClient need not take it otherwise.
                answer = (self.client.batch(endpoint, self._payload(chunk), fields=self.fields) if self.fields
                          else self.client.batch(endpoint, self._payload(chunk)))
        except StoreAuthError:
            self._end(token)  # refused at authentication: nothing ran
            raise
        except (OutcomeUnknown, StoreError, StoreConnectionError) as exc:
            self.stats.add(failed_requests=1)
            # The journal row stays until the fallback has settled what this request did; if
            # the fallback is cut short (the job stops, the store goes away) it stays for the
            # next worker.
            results, settled = self._fallback(chunk, exc, sent_at, token)
            if settled:
                self._end(token)
            return results
        self._end(token)
        with self._lock:
            self._unreachable = 0
        return self._align(chunk, answer, endpoint)

    def _end(self, token: int | None) -> None:
        if self.journal is not None:
            self.journal.end(token)

    def _align(self, chunk: list[Op], answer: dict[str, Any], endpoint: str) -> list[OpResult]:
        """Match answer slots to ops: the store answers creates, updates, deletes in input order."""
        slots = {k: list(answer.get(k) or []) for k in ("create", "update", "delete")}
        results = []
        for op in chunk:
            queue = slots.get(op.action) or []
            item = queue.pop(0) if queue else None
            if item is None:
                err = StoreError("the store's batch answer has no slot for this item", code="wsync_missing_slot",
                                 status=200)
                results.append(OpResult(op, False, error=err))
            elif isinstance(item, dict) and item.get("error"):
                err = StoreError.from_body(item["error"] or {}, endpoint=endpoint)
                results.append(OpResult(op, False, data=item, error=err))
            else:
                results.append(OpResult(op, True, data=item))
        return results

    def _fallback(self, chunk: list[Op], exc: Exception, sent_at: float,
                  token: int | None) -> tuple[list[OpResult], bool]:
        """The results of a chunk whose request failed, and whether what it may have created is
        settled (False: its creates could not be looked up, and its journal row must stay)."""
        unreachable = isinstance(exc, StoreConnectionError) and not isinstance(exc, OutcomeUnknown)
        with self._lock:
            self._unreachable = self._unreachable + 1 if unreachable else 0
            if self._unreachable >= MAX_CONSECUTIVE_UNREACHABLE:
                self._end(token)  # never reached the store: nothing to settle
                raise StoreUnavailable(f"the store stopped answering: {exc}",
                                       hint="the ledger keeps what was done; run the import again (or `wsync recover`)")
        endpoint = self._endpoint(chunk)
        log.warning("batch of %d to %s failed (%s); reconciling and retrying in smaller requests",
                    len(chunk), endpoint, exc)
        remaining: list[Op] = []
        creates = [op for op in chunk if op.action == "create" or self.reconcile_updates]
        saved: dict[int, dict[str, Any]] = {}
        if creates and self.reconcile is not None:
            try:
                saved = self._reconcile_patiently(creates, exc, sent_at)
            except (StoreError, StoreConnectionError) as lookup_exc:
                if isinstance(lookup_exc, StoreAuthError):
                    raise
                # Whether the store saved them cannot be told now: they are neither sent again
                # (that could make duplicates) nor forgotten. They fail in this run, and the
                # journal row stays, so the next run settles them by SKU before it plans.
                unknown = StoreError(f"not confirmed: the request failed ({_short(exc)}) and the store could not "
                                     f"be asked whether it saved the item ({_short(lookup_exc)}); the next run "
                                     "settles it", code="wsync_outcome_unknown",
                                     status=getattr(lookup_exc, "status", None))
                log.warning("batch of %d to %s failed and its creates could not be looked up (%s): left for the "
                            "next run to settle", len(chunk), endpoint, lookup_exc)
                lost = {id(op) for op in creates}
                failed = [OpResult(op, False, error=unknown) for op in chunk if id(op) in lost]
                rest = [op for op in chunk if id(op) not in lost]
                return failed + (self._send(rest) if rest else []), False
            self.stats.add(reconciled=len(saved))
        create_index = {id(op): i for i, op in enumerate(creates)}
        done: list[OpResult] = []
        for op in chunk:
            i = create_index.get(id(op))
            if i is not None and i in saved and self.reconcile_updates:
                done.append(OpResult(op, True, data=saved[i], reconciled=True))
            elif i is not None and i in saved:
                # It exists, but a request that died mid-way may have saved it half-done: send the
                # same fields again as an update, which is safe to repeat.
                remaining.append(Op("update", {**op.body, "id": saved[i]["id"]}, ref=op.ref, sku=op.sku,
                                    origin="create", attempts=op.attempts))
            else:
                remaining.append(op)
        if not remaining:
            return done, True
        if len(remaining) > 1:
            self.stats.add(splits=1)
            half = len(remaining) // 2
            return done + self._send(remaining[:half]) + self._send(remaining[half:]), True
        op = remaining[0]
        if op.attempts < LONE_RETRIES:
            # A lone item gets more requests of its own (a create only once reconciliation
            # showed it unsaved): transient trouble should not cost an item.
            op.attempts += 1
            return done + self._send([op]), True
        error = exc if isinstance(exc, StoreError) else StoreError(str(exc), code="wsync_request_failed")
        return [*done, OpResult(op, False, error=error)], True

    def _reconcile_patiently(self, creates: list[Op], exc: Exception, sent_at: float) -> dict[int, dict[str, Any]]:
        """`_reconcile_settled`, asked again a few times when the look-up itself fails: the store
        that just failed a batch is often overloaded for a moment (its 503s also lower the
        concurrency limit meanwhile), and a look-up that succeeds saves the items."""
        for pause in LOOKUP_PAUSES_S:
            try:
                return self._reconcile_settled(creates, exc, sent_at)
            except StoreAuthError:
                raise
            except (StoreError, StoreConnectionError) as lookup_exc:
                if self.should_stop():
                    raise
                log.info("looking up %d creates sent to %s failed (%s); again in %.0f s", len(creates), self.endpoint,
                         lookup_exc, pause)
                self.sleep(pause)
        return self._reconcile_settled(creates, exc, sent_at)


    def _reconcile_settled(self, creates: list[Op], exc: Exception, sent_at: float) -> dict[int, dict[str, Any]]:
        """Which of `creates` the store saved, once that is final. Looked up at once: after a
        dropped answer they are usually all there, and nothing is waited for. Only when some are
        missing and the request may still be running is it looked up again, until they are all
        there or the request cannot be running any more."""
        assert self.reconcile is not None
        saved = self.reconcile(creates)
        if len(saved) == len(creates) or not _may_still_run(exc):
            return saved
        deadline = sent_at + self.max_request_s
        delay = FIRST_POLL_S
        while len(saved) < len(creates) and self.clock() < deadline:
            if self.should_stop():
                raise Unsettled(f"{len(creates) - len(saved)} creates sent to {self.endpoint} are not confirmed yet")
            if self.on_wait is not None:
                unseen = [op.sku or "" for i, op in enumerate(creates) if i not in saved]
                self.on_wait({"endpoint": self.endpoint, "missing": len(creates) - len(saved), "until": deadline,
                              "skus": unseen})
            self.sleep(max(0.0, min(delay, deadline - self.clock())))
            delay = min(delay * 1.5, MAX_POLL_S)
            saved = self.reconcile(creates)
        return saved


def _may_still_run(exc: Exception) -> bool:
    """Whether a failed write may still be running on the store, so reconciling now could miss it.
    A request that got an HTTP answer (500: PHP ended with a fatal error; 502: the gateway saw the
    backend die) is over, whatever it saved. A read timeout, a dropped connection (no status) or
    a gateway timeout (504: the gateway stopped waiting, PHP did not) may still land."""
    status = getattr(exc, "status", None)
    return status is None or status == 504


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
