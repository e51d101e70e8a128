"""How many requests a job keeps in flight: a fixed number, or found as it goes.

The client tells every observer about each HTTP attempt it makes (`Attempt`: status or failure
kind, seconds, items in the request), retried ones included, so a limit sees the 429s, 503s and
timeouts the retries hide. `FixedLimit(n)` always allows `n` and only measures the rate;
`AdaptiveLimit` (`--concurrency auto`) starts at `DEFAULT_START` and steers by how long the store takes per
item, the way TCP Vegas steers by round-trip time:

- Each answered batch's time per item is compared with the best seen for its kind of request
  (route and batch size); a window (at least `MIN_WINDOW` answers, and one more than the limit)
  takes the median of those ratios. By Little's law the store is serving `limit / ratio`
  requests at once, so about `limit * (1 - 1 / ratio)` are waiting for it (for a worker, or for
  a core).
- Fewer than `QUEUE_LOW` waiting: one more in flight (in the slow start, while the ratio stays
  under `SLOW_START_LATENCY`, the limit doubles instead, up to half the ceiling: a short job
  reaches a big store's level in a few windows without a blind jump into a host's queue limit).
  More than `QUEUE_HIGH` waiting: down to what the store serves at once plus `QUEUE_LOW`. In
  between: held. A store with room answers as fast with more in flight, and the limit rises to
  the ceiling; a store short of workers or cores answers slower with each one more, and the
  limit settles a couple of requests past what it can serve, which keeps it busy between one
  answer and the next request.
- Halves the limit (never below 1) at once on an overload answer: 429, 503, 504, a timeout or a
  dropped / refused connection, of a request sent since the limit last changed (the others were
  sent at a limit already given up). It then rises again only to one below the level that was
  refused, and past it after `REPROBE_WINDOWS` quiet windows there.
- Latency alone (too many waiting) never takes it below `QUEUE_LOW` + 1 (3): slow answers without an
  error are a busy store or a busy machine, and too few in flight leave the store idle while
  each answer travels back (on the real store with 2 php-fpm workers, a run that backed off to 1
  on latency took 231 s where a pinned 2 or 4 took 158-191 s). Only an overload answer goes lower.
  Two waiting, as TCP Vegas keeps two to four packets queued: the real store's cores were 80 %
  busy at 2 in flight, 89 % at 3, 94 % at 4 and 96 % at 5, but an import that kept them 90-92 %
  busy at 5-7 took no less time than one at 3-4 (the extra CPU went to contention), while a
  sandbox host with two workers and a queue of four, which answers 503 past six in flight, met
  503s when three were kept waiting.

Why time per item and not items per second: on the real store (two cores, the bench catalogue)
the items done per second in windows of seven answers at a pinned 6 varied by 70 % (batches of
unlike items answered in bunches), while the median time per item of the same windows, within a
phase, varied by 5 %. An earlier rule that kept a step up only when the rate grew by 5 % was
deciding on noise: it hovered at 3 in flight (the cores 89 % busy). Only batches count: a lone
write (a category the products need, made before them) is not sent as the limit allows, and says
nothing of it. A kind of request first answered mid-job (variation batches after product
batches) is timed with the queue of that moment, so its best is taken as that time over the
last window's ratio rather than as it came.

Every rule reads an injected clock, so the limit is tested without sleeping. Thread-safe.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_START = 4        # two served by a two-worker host, two waiting (docs/benchmarks.md, bench_concurrency)
DEFAULT_CEILING = 8
MAX_CEILING = 16
OVERLOAD_STATUSES = frozenset({429, 503, 504})
OVERLOAD_FAILURES = frozenset({"timeout", "dropped", "refused", "connection"})
MIN_WINDOW = 3           # answered batches a decision needs at the least (the median of three)
QUEUE_LOW = 2.0          # fewer requests than this waiting for the store: one more in flight
QUEUE_HIGH = 4.0         # more than this: back to what it serves at once, plus QUEUE_LOW
REPROBE_WINDOWS = 6      # quiet windows below a level that overloaded before it is tried again
SLOW_START_LATENCY = 1.25  # a window's time per item above this many times the best ends the slow start
RATE_WINDOW_S = 10.0     # the rate shown is over the last 10 s of answers

Clock = Callable[[], float]


@dataclass(frozen=True)
class Attempt:
    """One HTTP attempt as the client saw it: `status` when answered, else `failure` (timeout,
    dropped, refused, connection); `items` the items a write carried (0 for a read)."""

    method: str
    endpoint: str
    status: int | None
    failure: str | None
    elapsed_s: float
    items: int = 0

    @property
    def overload(self) -> bool:
        return self.status in OVERLOAD_STATUSES or (self.status is None and self.failure in OVERLOAD_FAILURES)


def items_in(method: str, data: Any) -> int:
    """Items a request writes: a batch's creates, updates and deletes; 1 for another write, 0 for a read."""
    if method == "GET":
        return 0
    if isinstance(data, dict) and any(isinstance(data.get(k), list) for k in ("create", "update", "delete")):
        return sum(len(data.get(k) or []) for k in ("create", "update", "delete"))
    return 1


_DIGITS = re.compile(r"\d+")


def _kind(attempt: Attempt) -> tuple[str, str, int]:
    """Requests whose time per item can be compared: same route (ids left out), same size class."""
    return attempt.method, _DIGITS.sub("N", attempt.endpoint), max(1, attempt.items).bit_length()


class FixedLimit:
    """`n` requests in flight whatever happens; measures what was done, for the reports."""

    mode = "fixed"

    def __init__(self, n: int, *, clock: Clock = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._limit = max(1, int(n))
        self._ceiling = self._limit
        self._peak = self._limit
        self._recent: deque[tuple[float, int]] = deque()  # (answered at, items)
        self._first_sent: float | None = None
        self.overloaded = 0      # 429 / 503 / 504 answers
        self.failures = 0        # timeouts and connection failures
        self.backoffs = 0
        self.items = 0

    @property
    def ceiling(self) -> int:
        return self._ceiling

    def allowed(self) -> int:
        """How many requests may be in flight now (asked again before each one is sent)."""
        with self._lock:
            return self._limit

    def observe(self, attempt: Attempt) -> None:
        """One HTTP attempt the client made (called from any thread)."""
        now = self._clock()
        with self._lock:
            sent = now - max(0.0, attempt.elapsed_s)
            if self._first_sent is None or sent < self._first_sent:
                self._first_sent = sent
            if attempt.status in OVERLOAD_STATUSES:
                self.overloaded += 1
            elif attempt.status is None and attempt.failure:
                self.failures += 1
            ok = attempt.status is not None and attempt.status < 400
            if ok and attempt.items:
                self.items += attempt.items
                self._recent.append((now, attempt.items))
            self._decide(attempt, now, sent, ok)

    def _decide(self, attempt: Attempt, now: float, sent: float, ok: bool) -> None:
        """The adaptive rules (none for a fixed limit); called under the lock."""

    def rate(self) -> float:
        """Items written per second over the last RATE_WINDOW_S of answers."""
        now = self._clock()
        with self._lock:
            return self._rate(now)

    def _rate(self, now: float) -> float:
        while self._recent and self._recent[0][0] < now - RATE_WINDOW_S:
            self._recent.popleft()
        if not self._recent or self._first_sent is None:
            return 0.0
        span = min(RATE_WINDOW_S, now - self._first_sent)
        return sum(n for _, n in self._recent) / span if span > 0 else 0.0

    def snapshot(self) -> dict[str, Any]:
        """What the progress bar, the job's checkpoint and its result show."""
        now = self._clock()
        with self._lock:
            return {"mode": self.mode, "current": self._limit, "ceiling": self._ceiling, "peak": self._peak,
                    "rate": round(self._rate(now), 1), "backoffs": self.backoffs, "overloaded": self.overloaded,
                    "failures": self.failures}


class AdaptiveLimit(FixedLimit):
    """Steered by the requests waiting for the store, halved on overload (module doc)."""

    mode = "auto"

    def __init__(self, ceiling: int = DEFAULT_CEILING, *, start: int = DEFAULT_START, clock: Clock = time.monotonic):
        super().__init__(1, clock=clock)
        self._ceiling = max(1, min(int(ceiling), MAX_CEILING))
        self._limit = max(1, min(start, self._ceiling))
        self._peak = self._limit
        self._changed_at = clock()
        self._window: list[tuple[float, int, float, tuple[str, str, int]]] = []  # (answered, items, per item, kind)
        self._window_start = self._changed_at  # when the window began: kinds seen before it are known
        self._best_per_item: dict[tuple[str, str, int], float] = {}
        self._slow_start = True
        self._last_ratio = 1.0  # the last window's median time per item over the best
        self._overloaded_at: int | None = None  # the last level an overload answer came at
        self._quiet = 0                          # windows held just below it
        self._kind_seen: dict[tuple[str, str, int], float] = {}  # when a kind of request was first answered

    def _decide(self, attempt: Attempt, now: float, sent: float, ok: bool) -> None:
        if attempt.overload:
            if sent >= self._changed_at:
                self._back_off(now)
            return
        if not ok or not attempt.items or not attempt.endpoint.endswith("batch"):
            return  # only batches are sent as the limit allows (module doc)
        kind = _kind(attempt)
        per_item = max(attempt.elapsed_s, 0.0) / attempt.items
        best = self._best_per_item.get(kind)
        if best is None:
            self._kind_seen[kind] = now
            # A kind first answered now (variation batches after product batches) is timed with
            # the queue the store has now: its best is taken as that time over the last window's
            # ratio, or at 6 in flight on two workers it would look unqueued and the limit climb
            # on into the store's 503s.
            best = per_item / self._last_ratio
            self._best_per_item[kind] = best
        if per_item < best:
            self._best_per_item[kind] = per_item
        if sent < self._changed_at:
            return  # sent at the limit before: says nothing of this one
        self._window.append((now, attempt.items, per_item, kind))
        if len(self._window) >= max(MIN_WINDOW, self._limit + 1):
            self._close_window(now)

    def _close_window(self, now: float) -> None:
        window = self._window
        ratios = sorted(p / max(self._best_per_item[k], 1e-9) for _, _, p, k in window)
        ratio = max(1.0, ratios[len(ratios) // 2])
        self._last_ratio = ratio
        serving = self._limit / ratio           # Little's law: in flight / time, at the best time
        waiting = self._limit - serving
        if waiting > QUEUE_HIGH:
            target = math.ceil(serving + QUEUE_LOW)
            self._back_off(now, floor=target, to=target)
            return
        if ratio > SLOW_START_LATENCY:
            self._slow_start = False  # requests have begun to wait: no more doubling
        if waiting >= QUEUE_LOW or self._limit >= self._ceiling:
            self._restart_window(now)  # held: a couple waiting keeps the store busy
            return
        up = 1
        if self._overloaded_at is not None and self._limit + 1 >= self._overloaded_at:
            # The store refused requests at that level: stay under it for a while, then try once
            # more (it may have freed up). Without this the limit climbed back each window.
            self._quiet += 1
            if self._quiet < REPROBE_WINDOWS:
                self._restart_window(now)
                return
            self._overloaded_at, self._quiet = None, 0
        # A kind of request first answered in this window has its best time from this very level,
        # queueing included: its ratios cannot show queueing, so they do not justify a doubling.
        known = all(self._kind_seen.get(k, now) < self._window_start for _, _, _, k in window)
        if self._slow_start and known:
            up = max(1, min(self._limit, self._ceiling // 2 - self._limit))
        self._step(now, +up)

    def _step(self, now: float, delta: int) -> None:
        new = max(1, min(self._ceiling, self._limit + delta))
        if new != self._limit:
            self._limit = new
            self._peak = max(self._peak, new)
            self._changed_at = now
        self._window_start = now
        self._window = []

    def _restart_window(self, now: float) -> None:
        self._window = []
        self._window_start = now

    def _back_off(self, now: float, floor: int = 1, to: int | None = None) -> None:
        """Halve the limit (an overload answer), or lower it `to` a level (too many waiting)."""
        self._slow_start = False
        if to is None:
            self._overloaded_at, self._quiet = self._limit, 0
        lowered = max(1, floor, self._limit // 2 if to is None else to)
        if lowered < self._limit:
            self.backoffs += 1
        self._limit = min(self._limit, lowered)
        self._changed_at = now
        self._window = []
        self._window_start = now


def make_limit(concurrency: int | str, ceiling: int = DEFAULT_CEILING, *, clock: Clock = time.monotonic) -> FixedLimit:
    """The limit `--concurrency` asks for: "auto" adapts up to `ceiling`, a number is pinned."""
    if concurrency == "auto":
        return AdaptiveLimit(ceiling, clock=clock)
    return FixedLimit(int(concurrency), clock=clock)
