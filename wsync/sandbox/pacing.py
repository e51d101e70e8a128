"""How a write spends its time: item by item, with the database lock released while it sleeps.

A real store saves a batch one item after another and readers see the items appear as they are
saved; the batch goes on to the end after its client hung up (recorded on WooCommerce 8.2.2,
recordings/27: 11 of 50 products saved at 0.3 s, 40 at 1.6 s, all 50 by 2.3 s, the client gone
at 0.3 s). A product's SKU is checked early in its save and the row is inserted later, with
nothing held in between: two requests creating the same SKU at the same time can both pass the
check (recordings/27: 53 products for 50 SKUs).

So each item sleeps its share of the latency model with the lock released, a create checks under
the lock, sleeps a save window unlocked, then inserts without checking again. With no latency an
item runs in one piece under the lock, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wsync.sandbox.faults import LatencyModel


class Staged:
    """A create that passed its checks; `finish()` inserts it and returns the answer slot."""

    __slots__ = ("finish",)

    def __init__(self, finish: Callable[[], Any]):
        self.finish = finish


def settle(result: Any) -> Any:
    return result.finish() if isinstance(result, Staged) else result


def count_image_sources(body: Any) -> int:
    """Images a request (or one batch item) makes the store download: `{src}` without `id`."""
    if not isinstance(body, dict):
        return 0
    items = [body] + [i for k in ("create", "update") for i in (body.get(k) or []) if isinstance(i, dict)]
    n = 0
    for item in items:
        images = item.get("images")
        for img in images if isinstance(images, list) else []:
            if isinstance(img, dict) and img.get("src") and not img.get("id"):
                n += 1
        img = item.get("image")
        if isinstance(img, dict) and img.get("src") and not img.get("id"):
            n += 1
    return n


class Sleeper:
    """Sleeps for one request against a running schedule: the time spent between sleeps (the
    sandbox's own work, a sleep waking late) is taken off the next sleep, up to all of it, so a
    batch of 100 items takes its modelled time rather than that plus 200 wake-ups' worth of work.
    Lateness beyond one sleep is forgotten: a long wait for the lock does not erase later sleeps."""

    __slots__ = ("_due", "_sleep")

    def __init__(self, sleep: Callable[[float], None] = time.sleep):
        self._sleep = sleep
        self._due = time.monotonic()

    def __call__(self, seconds: float) -> None:
        now = time.monotonic()
        self._due = max(self._due, now - seconds) + seconds
        if self._due > now:
            self._sleep(self._due - now)


class Pacer:
    """Runs write steps under `lock`, sleeping each item's cost from `latency()` outside it."""

    # The share of an item's cost spent between its SKU check and its insert.
    SAVE_WINDOW_SHARE = 0.5

    def __init__(self, lock: AbstractContextManager[Any], latency: Callable[[], LatencyModel],
                 sleep: Callable[[float], None] = time.sleep):
        self.lock = lock
        self._latency = latency  # the store's current latency model
        self.sleep = sleep

    def item_cost(self, action: str, item: Any, variation: bool = False) -> float:
        images = count_image_sources(item) if action != "delete" else 0
        return self._latency().item_cost(action, variation=variation, images=images)

    def sleeper(self) -> Sleeper:
        return Sleeper(self.sleep)

    def run(self, step: Callable[[], Any], cost: float, sleeper: Sleeper | None = None) -> Any:
        """One item: sleep the first share of `cost` unlocked, run `step` under the lock; a
        `Staged` result is inserted after the save window, the lock released meanwhile, with no
        check repeated. An item its checks refuse costs only the first share."""
        if cost <= 0:
            with self.lock:
                return settle(step())
        sleep = sleeper or self.sleeper()
        window = cost * self.SAVE_WINDOW_SHARE
        sleep(cost - window)
        with self.lock:
            result = step()
        sleep(window)
        if isinstance(result, Staged):
            with self.lock:
                return result.finish()
        return result

    def whole(self, costs: Iterable[float]) -> AbstractContextManager[Any]:
        """The context a batch runs in: with no latency it holds the lock from its first item to
        its last (a reader sees all of it or none, and nothing waits); otherwise nothing."""
        return nullcontext() if any(c > 0 for c in costs) else self.lock
