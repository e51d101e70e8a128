"""A long run of product batches ends in smaller requests, so its last one does not run alone."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import pytest

from wsync.store.limiter import FixedLimit
from wsync.sync.push import BatchPusher, Op


class Recorder:
    """A store that saves every item of a batch and notes each request's size."""

    url = "https://shop.test"

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.lock = threading.Lock()

    def batch(self, endpoint: str, payload: Mapping[str, list[Any]], **_: Any) -> dict[str, Any]:
        creates = list(payload.get("create") or [])
        with self.lock:
            self.sizes.append(len(creates))
        return {"create": [{"id": 1000 + int(body["sku"][1:]), "sku": body["sku"]} for body in creates]}


def push(n: int, *, size: int, limit: int, taper: bool) -> tuple[list[int], list[int]]:
    store = Recorder()
    pusher = BatchPusher(store, "products/batch", size=size, concurrency=FixedLimit(limit), taper=taper)  # type: ignore[arg-type]
    ops = [Op("create", {"sku": f"P{i}"}, ref=f"P{i}", sku=f"P{i}") for i in range(n)]
    saved = sorted(r.data["id"] - 1000 for part in pusher.run(ops) for r in part if r.ok and r.data)
    return store.sizes, saved


def test_a_long_run_tapers_to_the_share_of_the_requests_in_flight() -> None:
    sizes, saved = push(500, size=50, limit=4, taper=True)
    assert saved == list(range(500)), "every item sent once"
    assert sum(sizes) == 500 and max(sizes) == 50
    full = sizes.index(next(s for s in sizes if s < 50))
    assert full * 50 >= 500 - 4 * 50, "full requests while more than a round is left"
    tail = sizes[full:]
    assert tail == sorted(tail, reverse=True) and min(tail[:-1]) >= 10 and tail[0] < 50, sizes
    assert len(sizes) <= 2 * 10, "the taper costs a few requests, not one per item"


@pytest.mark.parametrize(("n", "limit", "taper"), [(500, 4, False), (300, 4, True), (126, 2, True)],
                         ids=["taper off", "under two rounds", "a small job"])
def test_requests_stay_full_without_the_taper_or_a_long_run(n: int, limit: int, taper: bool) -> None:
    sizes, saved = push(n, size=50, limit=limit, taper=taper)
    assert saved == list(range(n))
    assert sizes == [50] * (n // 50) + ([n % 50] if n % 50 else [])
