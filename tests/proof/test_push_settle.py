"""When the pusher waits before reconciling an ambiguous write: only when the write may still be
running on the store (timeout, dropped connection, 504), not after a 500/502 answer."""

from __future__ import annotations

import pytest

from wsync.store.errors import OutcomeUnknown
from wsync.sync import push
from wsync.sync.push import BatchPusher, Op


class OneFailureClient:
    """Fails the first batch with `failure`, then saves everything it is sent."""

    def __init__(self, failure: Exception):
        self.failure = failure
        self.sent: list[dict] = []

    def batch(self, endpoint, payload):
        self.sent.append(payload)
        if len(self.sent) == 1:
            raise self.failure
        return {"create": [{"id": 100 + i, **body} for i, body in enumerate(payload.get("create", []))],
                "update": list(payload.get("update", []))}


@pytest.mark.parametrize("status, waits", [(500, False), (502, False), (504, True), (None, True)])
def test_settle_only_when_the_write_may_still_land(monkeypatch, status, waits):
    slept: list[float] = []
    monkeypatch.setattr(push.time, "sleep", slept.append)
    client = OneFailureClient(OutcomeUnknown("may or may not have been saved", status=status))
    looked_up: list[list[str]] = []

    def reconcile(creates):
        looked_up.append([op.sku for op in creates])
        return {}

    pusher = BatchPusher(client, "products/batch", size=10, concurrency=1, reconcile=reconcile, settle_s=7.0)
    ops = [Op("create", {"sku": f"A{i}", "name": "x"}, ref=i, sku=f"A{i}") for i in range(4)]
    results = [r for chunk in pusher.run(ops) for r in chunk]
    assert all(r.ok for r in results) and len(results) == 4
    assert looked_up == [["A0", "A1", "A2", "A3"]]  # reconciled either way: a 500 may have saved some
    assert slept == ([7.0] if waits else [])
