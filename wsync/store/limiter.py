"""How many requests a job keeps in flight: a fixed number, or found as it goes (AIMD).

The client tells every observer about each HTTP attempt it makes (`Attempt`: status or failure
kind, seconds, items in the request), retried ones included, so a limit sees the 429s, 503s and
timeouts the retries hide. `FixedLimit(n)` always allows `n` and only measures the rate;
`AdaptiveLimit` (`--concurrency auto`) starts low and:

- starts like TCP's slow start: while each window does more work than the last and its time
  per item stays near the best (`SLOW_START_LATENCY`: no queueing yet), the limit doubles, up
  to half the ceiling (2, 4, 8 under a ceiling of 16), so a short job reaches a big store's
  level in a few windows without a blind jump into a host's queue limit; the first window that
  does not pay, queues or overloads ends it (a doubling that did not pay is taken back);
- then, after each window of answered batch writes (at least `MIN_WINDOW`, and one more than the limit)
  with no overload, compares the items done per second with the best window so far: one more in
  flight while it grows by more than `GROWTH`; a step that did not pay is taken back, and tried
  again after `REPROBE_WINDOWS` quiet windows (the store may have freed up). Items are weighted
  by the best time per item seen for their kind of request, so a window of product batches and
  one of variation batches compare;
- halves the limit (never below 1) at once on an overload answer: 429, 503, 504, a timeout or a
  dropped / refused connection, of a request sent since the limit last changed (the others were
  sent at a limit already given up);
- lowers it by one when a window's time per item is `LATENCY_FACTOR` times the best seen for
  the same kind of request (route and batch size): the store is queueing requests, not doing
  more. One step, not half: latency is a gradual signal where an overload answer is a sharp one,
  and a store short of CPU answers slower with every request in flight past its cores while
  still doing a little more with each (importing the bench catalogue into the real store, the
  seconds spent at 3 / 4 / 5 in flight were 59 / 32 / 11 when it halved, 25 / 45 / 40 after).
  Latency alone never takes it below `LATENCY_FLOOR` (2): slow answers without an error are a
  busy store or a busy machine, and one request in flight leaves the store idle while each
  answer travels back (on the real store with 2 php-fpm workers, a run that backed off to 1 on
  latency took 231 s where a pinned 2 or 4 took 158-191 s). Only an overload answer goes lower.

Every rule reads an injected clock, so the limit is tested without sleeping. Thread-safe.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_START = 2
DEFAULT_CEILING = 8
MAX_CEILING = 16
OVERLOAD_STATUSES = frozenset({429, 503, 504})
OVERLOAD_FAILURES = frozenset({"timeout", "dropped", "refused", "connection"})
MIN_WINDOW = 4           # answered writes a decision needs at the least
GROWTH = 0.05            # a step up must raise items/s by more than 5 % to stay
LATENCY_FACTOR = 2.5     # a window's time per item this many times the best: the store is queueing
LATENCY_FLOOR = 2        # the lowest a back-off on latency alone (no error answered) goes
REPROBE_WINDOWS = 6      # quiet windows at a plateau before one more step up is tried
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
    """Additive increase while items/s grows, multiplicative decrease on overload (module doc)."""

    mode = "auto"

    def __init__(self, ceiling: int = DEFAULT_CEILING, *, start: int = DEFAULT_START, clock: Clock = time.monotonic):
        super().__init__(1, clock=clock)
        self._ceiling = max(1, min(int(ceiling), MAX_CEILING))
        self._limit = max(1, min(start, self._ceiling))
        self._peak = self._limit
        self._changed_at = clock()
        self._window: list[tuple[float, int, float, tuple[str, str, int]]] = []  # (answered, items, per item, kind)
        self._window_start: float | None = None  # first answer after the last change: not in the window
        self._best_rate: float | None = None
        self._best_per_item: dict[tuple[str, str, int], float] = {}
        self._probing = False
        self._quiet = 0
        self._slow_start = True
        self._last_step = 0
        self._kind_seen: dict[tuple[str, str, int], float] = {}  # when a kind of request was first answered

    def _decide(self, attempt: Attempt, now: float, sent: float, ok: bool) -> None:
        if attempt.overload:
            if sent >= self._changed_at:
                self._back_off(now)
            return
        if not ok or not attempt.items or not attempt.endpoint.endswith("batch"):
            # Only batches are sent as the limit allows; a lone write (a category the products
            # need, made before them) says nothing of it, and its items, a request each, would set
            # a rate of work no window of batches could beat (the limit then sat at 2 for 30 s).
            return
        kind = _kind(attempt)
        per_item = max(attempt.elapsed_s, 0.0) / attempt.items
        best = self._best_per_item.get(kind)
        if best is None:
            self._kind_seen[kind] = now
        if best is None or per_item < best:
            self._best_per_item[kind] = per_item
        if sent < self._changed_at:
            return  # sent at the limit before: says nothing of this one
        if self._window_start is None:
            self._window_start = now
            return
        self._window.append((now, attempt.items, per_item, kind))
        if len(self._window) >= max(MIN_WINDOW, self._limit + 1):
            self._close_window(now)

    def _close_window(self, now: float) -> None:
        window, start = self._window, self._window_start
        assert start is not None
        span = now - start
        # The store's work done per second: each item weighted by the best time seen for its kind
        # of request, so windows of different requests (products, then variations) compare.
        work = sum(n * self._best_per_item[k] for _, n, _, k in window)
        rate = work / span if span > 0 else float("inf")
        ratios = sorted(p / max(self._best_per_item[k], 1e-9) for _, _, p, k in window)
        if ratios[len(ratios) // 2] > LATENCY_FACTOR:
            # One step down, not half: on a store short of CPU, answers slow as soon as more
            # requests are in flight than it has cores, while each one more still adds a little
            # (on the real store's two cores: 89 % busy at 3 in flight, 94 % at 4, 96 % at 5).
            # Halving there threw away that little for a dozen seconds at a time.
            self._back_off(now, floor=min(LATENCY_FLOOR, self._ceiling), by_one=True)
            return
        if ratios[len(ratios) // 2] > SLOW_START_LATENCY:
            self._slow_start = False  # requests have begun to wait for a worker: no more doubling
        up = 1
        # A kind of request first answered in this window has its best time from this very level,
        # queueing included: its ratios cannot show queueing, so they do not justify a doubling.
        known = all(self._kind_seen.get(k, now) < start for _, _, _, k in window)
        if self._slow_start and known:
            up = max(1, min(self._limit, self._ceiling // 2 - self._limit))
        if self._best_rate is None:
            # The first window at this level since a back-off: the baseline, then a step up.
            self._best_rate = rate
            self._step(now, +up)
        elif rate > self._best_rate * (1 + GROWTH):
            self._best_rate = rate
            self._step(now, +up)
        elif self._probing:
            self._slow_start = False
            self._step(now, -self._last_step)  # the step did not pay: take it back
            self._probing = False
        else:
            self._quiet += 1
            if self._quiet >= REPROBE_WINDOWS:
                self._step(now, +1)
            else:
                self._restart_window(now)

    def _step(self, now: float, delta: int) -> None:
        new = max(1, min(self._ceiling, self._limit + delta))
        self._probing = delta > 0 and new != self._limit
        self._last_step = new - self._limit
        self._quiet = 0
        if new != self._limit:
            self._limit = new
            self._peak = max(self._peak, new)
            self._changed_at = now
            self._window_start = None
        else:
            self._window_start = now
        self._window = []

    def _restart_window(self, now: float) -> None:
        self._window = []
        self._window_start = now

    def _back_off(self, now: float, floor: int = 1, by_one: bool = False) -> None:
        self._slow_start = False
        lowered = max(1, floor, self._limit - 1 if by_one else self._limit // 2)
        if lowered < self._limit:
            self.backoffs += 1
        self._limit = min(self._limit, lowered)
        self._changed_at = now
        self._window = []
        self._window_start = None
        self._best_rate = None  # measured again at the new limit
        self._probing = False
        self._quiet = 0


def make_limit(concurrency: int | str, ceiling: int = DEFAULT_CEILING, *, clock: Clock = time.monotonic) -> FixedLimit:
    """The limit `--concurrency` asks for: "auto" adapts up to `ceiling`, a number is pinned."""
    if concurrency == "auto":
        return AdaptiveLimit(ceiling, clock=clock)
    return FixedLimit(int(concurrency), clock=clock)
