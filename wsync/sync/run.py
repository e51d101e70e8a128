"""What every phase of an import works on: one `ImportRun`, handed from phase to phase.

The engine (wsync.sync.engine) builds the run, then hands it to each phase in turn
(wsync.sync.phases: products, variations, links, missing, images). A phase plans its items,
pushes them and records each outcome through the run: the item's ledger record
(`records`, saved with `items`), its count (`counts`), its error (`ctx.error`), the job's
progress and checkpoint (`report`), and the journal a write that could land twice is noted in
(`journal`). Nothing else is shared between phases.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from wsync.ledger import Ledger
from wsync.ledger.items import ItemMap, ItemRecord
from wsync.ledger.pending import PendingWrites
from wsync.store.limiter import FixedLimit
from wsync.sync.journal import Describe, WriteJournal
from wsync.sync.options import DEFAULT_WINDOW, ImportOptions
from wsync.sync.plan import ItemPlan
from wsync.sync.settle import DEFAULT_MAX_REQUEST_S, MAX_REQUEST_CEILING_S

if TYPE_CHECKING:
    from pathlib import Path

    from wsync.catalogue import Product
    from wsync.ledger.jobs import JobStore
    from wsync.mapping.spill import SpilledProducts
    from wsync.store import StoreClient, StoreSettings
    from wsync.store.errors import StoreError
    from wsync.sync.taxonomy import Taxonomy

log = logging.getLogger("wsync.sync.engine")

# Told each time the counts move: {"phase", every count, "items_processed", "total"}.
Progress = Callable[[dict[str, Any]], None]


@dataclass
class Counts:
    """What a job did, each item counted once, in one place. The unprefixed counts are PRODUCTS
    of the feed: created + updated + unchanged + skipped + failed == processed (removed counts
    products that left the feed). `variations_*` count the feed's variations the same way
    (variations_deleted: stale ones the store no longer needs). `feed_errors` are feed records
    refused before planning: neither a product nor a variation, and never in `failed`."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    removed: int = 0
    failed: int = 0
    processed: int = 0
    variations_created: int = 0
    variations_updated: int = 0
    variations_deleted: int = 0
    variations_unchanged: int = 0
    variations_skipped: int = 0
    variations_failed: int = 0
    variations_processed: int = 0
    feed_errors: int = 0

    def add(self, kind: str, outcome: str, n: int = 1) -> None:
        """n items of `kind` (product | variation) ended as `outcome` (created, updated,
        unchanged, skipped or failed): counted there and as processed."""
        prefix = "variations_" if kind == "variation" else ""
        setattr(self, prefix + outcome, getattr(self, prefix + outcome) + n)
        setattr(self, prefix + "processed", getattr(self, prefix + "processed") + n)

    @property
    def items_processed(self) -> int:
        """Products and variations processed: what progress is measured in."""
        return self.processed + self.variations_processed

    @property
    def errors(self) -> int:
        """Items in error: failed products, failed variations and refused feed records."""
        return self.failed + self.variations_failed + self.feed_errors

    def variations(self) -> dict[str, int]:
        return {"created": self.variations_created, "updated": self.variations_updated,
                "unchanged": self.variations_unchanged, "skipped": self.variations_skipped,
                "failed": self.variations_failed, "processed": self.variations_processed,
                "deleted": self.variations_deleted}

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class JobContext:
    """What a running job reports to: the ledger's job row, and an optional progress callback."""

    job_id: int | None
    jobs: JobStore | None  # None for a plan (no job)
    should_stop: Callable[[], bool] = lambda: False
    progress: Progress | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, stage: str, sku: str | None, message: str, code: str | None = None) -> None:
        self.errors.append({"stage": stage, "sku": sku, "code": code, "message": message})
        if self.jobs is not None and self.job_id is not None:
            self.jobs.add_error(self.job_id, sku=sku, stage=stage, code=code, message=message)

    def checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Save the job's checkpoint (nothing for a plan)."""
        if self.jobs is not None and self.job_id is not None:
            self.jobs.save_checkpoint(self.job_id, checkpoint)

    def message(self, text: str) -> None:
        """A line in the job's messages (nothing for a plan)."""
        if self.jobs is not None and self.job_id is not None:
            self.jobs.add_message(self.job_id, text)


class ImportRun:
    """One import (or plan) of one feed: the ledger and store it works between, its options, and
    what its phases have done so far."""

    def __init__(self, *, ledger: Ledger, client: StoreClient, feed: str, options: ImportOptions, ctx: JobContext,
                 dry_run: bool = False, max_request_s: float = 0.0, measured: bool = False):
        self.ledger = ledger
        self.client = client
        self.feed = feed
        self.opts = options
        self.ctx = ctx
        self.dry_run = dry_run
        self._max_request_s = max_request_s
        self._measured = measured
        self.pending = PendingWrites(ledger)
        self.items = ItemMap(ledger, feed)
        # The items of the current window of products as the ledger knows them, (kind, key) ->
        # record (`load_window`), updated by every phase as its writes are answered.
        self.records: dict[tuple[str, str], ItemRecord] = {}
        # The ledger's records of the products that left the feed (the missing phase's plan).
        self.missing_records: dict[str, ItemRecord] = {}
        self.counts = Counts()
        self.total = 0  # products and variations of the feed: what progress is over
        self.created_now: set[tuple[str, str]] = set()
        self.skipped_now: set[str] = set()  # keys of products skipped on purpose (their variations too)
        # Categories, attributes and shipping classes, resolved while the products are planned.
        self.taxonomy: Taxonomy | None = None
        # The ledger's variations by parent key, built once by the variations phase.
        self.parent_index: dict[str, list[ItemRecord]] | None = None
        # Whether the store files a variations batch's items under the product_id each names
        # (recordings/34): None until a batch of several parents was checked on the store, then
        # True; False after a check failed (each parent's variations go on their own).
        self.across_parents: bool | None = None
        # The store's product count as a dry run first learned it (wsync.sync.adopt.find_existing).
        self.catalogue_size: dict[str, int] = {}
        self.started = time.monotonic()
        self.lock = threading.Lock()  # records and parent_index, written from worker threads
        # How many requests the phases keep in flight: one limit for the whole job, told of every
        # attempt the client makes (wsync.store.limiter); `close()` stops telling it.
        self.limit = options.limit()
        self._observers = watch(client, self.limit)

    def close(self) -> None:
        """Stop telling this job's limit of the client's requests (the client may serve another job)."""
        unwatch(self._observers, self.limit)
        self._observers = None

    # -- one window of products at a time ------------------------------------------------
    def load_window(self, products: list[Product]) -> None:
        """Make `records` the ledger's records for these products (and their variations, and the
        variations filed under them): what their plan and push look at, and update."""
        self.records = self.items.load_for([p.key for p in products],
                                           [v.key for p in products for v in p.variations])
        self.parent_index = None

    # -- reporting ---------------------------------------------------------------------
    def report(self, phase: str) -> None:
        """Progress, counts and a checkpoint into the job's row, and to the progress callback."""
        ctx = self.ctx
        # Progress is over products and variations (self.total counts both); the ledger's
        # processed/created/updated/unchanged are products, its errors are Counts.errors.
        items = self.counts.items_processed
        progress = round(100.0 * items / self.total, 1) if self.total else 100.0
        if ctx.jobs is not None and ctx.job_id is not None:
            ctx.jobs.update_progress(ctx.job_id, progress=min(progress, 99.0 if phase != "done" else 100.0),
                                     processed=self.counts.processed, created=self.counts.created,
                                     updated=self.counts.updated, unchanged=self.counts.unchanged,
                                     errors=self.counts.errors)
            ctx.jobs.save_checkpoint(ctx.job_id, {"phase": phase, "counts": self.counts.as_dict(),
                                                  "concurrency": self.limit.snapshot()})
        if ctx.progress is not None:
            ctx.progress({"phase": phase, **self.counts.as_dict(), "items_processed": items, "total": self.total,
                          "concurrency": self.limit.snapshot()})

    def count_quiet(self, plan: ItemPlan) -> None:
        """A product or variation nothing is sent for: skipped, unchanged, or done by an earlier
        attempt of this job (counted as that attempt did)."""
        if plan.action == "skip" and plan.kind == "product":
            self.skipped_now.add(plan.key)
        outcome = "skipped" if plan.action == "skip" else (plan.done_earlier or "unchanged")
        self.counts.add(plan.kind, outcome)

    # -- writes that could land twice ----------------------------------------------------
    @property
    def max_request_s(self) -> float:
        """The longest a store request may run. With `measured`, never less than twice the longest
        request this job has seen answered (a store that took 200 s to answer may take longer
        unanswered), at most an hour."""
        if not self._measured:
            return self._max_request_s
        seen = float(getattr(getattr(self.client, "counters", None), "longest_s", 0.0) or 0.0)
        return min(max(self._max_request_s, 2 * seen), MAX_REQUEST_CEILING_S)

    def journal(self, kind: str, describe: Describe, parent_id: int | None = None) -> WriteJournal | None:
        """Where this job notes the writes that could land twice (none for a plan)."""
        if self.dry_run:
            return None
        return WriteJournal(self.pending, job_id=self.ctx.job_id, feed=self.feed, kind=kind, describe=describe,
                            parent_id=parent_id)

    def waiting(self, info: dict[str, Any]) -> None:
        """A request that may still be running left creates unconfirmed: say so where status reads."""
        until = time.strftime("%H:%M:%S", time.localtime(info["until"]))
        log.info("waiting for %d item(s) of a request to %s that may still be saving (until %s)",
                 info["missing"], info["endpoint"], until)
        self.ctx.checkpoint({
            "phase": "settling", "counts": self.counts.as_dict(),
            # The same shape as a dead worker's settling (sync/settle.py), plus the endpoint.
            "settling": {"requests": 1, "items": info["missing"], "waiting_for": list(info.get("skus", []))[:10],
                         "endpoint": info["endpoint"], "until": iso(info["until"]),
                         "why": "a request that timed out or lost its connection may still be saving"}})


def watch(client: Any, limit: FixedLimit) -> list[Any] | None:
    """Tell `limit` of every attempt `client` makes (a test's stand-in without observers: nothing)."""
    observers = getattr(client, "observers", None)
    if not isinstance(observers, list):
        return None
    observers.append(limit.observe)
    return observers


def unwatch(observers: list[Any] | None, limit: FixedLimit) -> None:
    if observers is not None and limit.observe in observers:
        observers.remove(limit.observe)


def windows(products: list[Product] | SpilledProducts, size: int = DEFAULT_WINDOW) -> Iterator[list[Product]]:
    """The products in feed order, `size` at a time (read back from disk for a spilled feed).
    A window's products, variations, plans and ledger records are what a job holds in memory,
    whatever the feed's size."""
    if isinstance(products, list):
        for start in range(0, len(products), size):
            yield products[start:start + size]
        return
    yield from products.windows(size)


def describe_failure(error: StoreError | None) -> str:
    """An item's error as the job reports it: the store's message and code."""
    if error is None:
        return "the store did not save it"
    code = f" ({error.code})" if getattr(error, "code", None) else ""
    message = getattr(error, "message", str(error))
    if getattr(error, "code", None) == "woocommerce_rest_product_not_created":
        message += " - a trashed product still holds this SKU: empty the store's trash or restore that product"
    return f"{message}{code}"


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).replace(microsecond=0).isoformat()


class EngineSettings(Protocol):
    """What the engine reads from the configuration (wsync.config.Settings): the store, the feeds
    of wsync.toml, and the directory their relative paths start from. The entry points also take
    None: no configuration, for an ad-hoc feed with a client given."""

    @property
    def store(self) -> StoreSettings | None: ...

    @property
    def feeds(self) -> dict[str, dict[str, Any]]: ...

    @property
    def base_dir(self) -> Path: ...


def make_client(settings: EngineSettings | None, pool_size: int = 0) -> StoreClient:
    """A client for the configured store; ConfigError when none is configured."""
    from wsync.errors import ConfigError
    from wsync.store import StoreClient

    store = settings.store if settings is not None else None
    if store is None:
        raise ConfigError("no store is configured", key="store.url",
                          hint="set [store] url in wsync.toml, or WSYNC_STORE_URL and the key variables")
    return StoreClient(store, pool_size=pool_size)


def max_request_s(opts: ImportOptions, settings: EngineSettings | None) -> float:
    """The longest a store request may run, as configured: `[store] max_request_s` (default
    300 s, at most an hour); the job option `settle_s` pins it (tests, rehearsals)."""
    if opts.settle_s is not None:
        return float(opts.settle_s)
    store = settings.store if settings is not None else None
    configured = store.max_request_s if store is not None else DEFAULT_MAX_REQUEST_S
    return min(float(DEFAULT_MAX_REQUEST_S if configured is None else configured), MAX_REQUEST_CEILING_S)
