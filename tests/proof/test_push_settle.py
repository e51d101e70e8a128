"""After a batch fails without a trustworthy answer, when the pusher waits, when it sends again,
and what it leaves in the journal. The rule: look the creates up at once; wait only while some
are missing AND the request may still be running (timeout, cut connection, 504), at most until
sent-at plus max_request_s; never send a create again before that."""

from __future__ import annotations

import pytest

from wsync.store.errors import OutcomeUnknown, StoreServerError
from wsync.sync.push import BatchPusher, Op, Unsettled


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


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


class Journal:
    def __init__(self) -> None:
        self.open: dict[int, list[str]] = {}
        self.began = 0

    def begin(self, endpoint, ops):
        self.began += 1
        self.open[self.began] = [op.sku for op in ops]
        return self.began

    def end(self, token):
        self.open.pop(token, None)


def ops(n: int = 4) -> list[Op]:
    return [Op("create", {"sku": f"A{i}", "name": "x"}, ref=i, sku=f"A{i}") for i in range(n)]


def store_lands(after_lookups: dict[str, int]):
    """A reconciler over a store where SKU s shows up at the n-th look-up (never if absent)."""
    calls: list[list[str]] = []

    def reconcile(creates):
        calls.append([op.sku for op in creates])
        return {i: {"id": 500 + i} for i, op in enumerate(creates)
                if op.sku in after_lookups and len(calls) >= after_lookups[op.sku]}

    return reconcile, calls


def run(pusher: BatchPusher, items: list[Op]):
    return [r for chunk in pusher.run(items) for r in chunk]


@pytest.mark.parametrize("failure", [StoreServerError("boom", status=500), OutcomeUnknown("cut", status=502)])
def test_an_answered_failure_is_over_nothing_is_waited_for(failure):
    clock, journal = Clock(), Journal()
    client = OneFailureClient(failure)
    reconcile, calls = store_lands({})
    pusher = BatchPusher(client, "products/batch", size=10, concurrency=1, reconcile=reconcile, max_request_s=60,
                         journal=journal, sleep=clock.sleep, clock=clock)
    results = run(pusher, ops())
    assert all(r.ok for r in results) and len(results) == 4
    assert calls == [["A0", "A1", "A2", "A3"]]  # looked up once: a 500 may have saved some
    assert clock.slept == []
    assert journal.open == {}


@pytest.mark.parametrize("status", [None, 504])
def test_all_creates_already_saved_no_wait_and_no_create_again(status):
    """Commit-then-drop: the store saved the batch and the answer was lost."""
    clock, journal = Clock(), Journal()
    client = OneFailureClient(OutcomeUnknown("dropped", status=status))
    reconcile, calls = store_lands({f"A{i}": 1 for i in range(4)})
    pusher = BatchPusher(client, "products/batch", size=10, concurrency=1, reconcile=reconcile, max_request_s=60,
                         journal=journal, sleep=clock.sleep, clock=clock)
    results = run(pusher, ops())
    assert all(r.ok for r in results)
    assert clock.slept == [] and len(calls) == 1
    assert not any(p.get("create") for p in client.sent[1:]), "a saved create was sent again as a create"
    assert journal.open == {}


def test_missing_creates_are_looked_up_again_until_they_land():
    """A cut connection: the store is still saving; A2 and A3 appear at the 3rd look-up."""
    clock = Clock()
    client = OneFailureClient(OutcomeUnknown("connection cut", status=None))
    reconcile, calls = store_lands({"A0": 1, "A1": 1, "A2": 3, "A3": 3})
    waits: list[dict] = []
    pusher = BatchPusher(client, "products/batch", size=10, concurrency=1, reconcile=reconcile, max_request_s=60,
                         sleep=clock.sleep, clock=clock, on_wait=waits.append)
    results = run(pusher, ops())
    assert all(r.ok for r in results)
    assert len(calls) == 3 and len(clock.slept) == 2 and sum(clock.slept) < 5
    assert waits[0]["missing"] == 2 and waits[0]["until"] == pytest.approx(1060.0)
    assert waits[0]["skus"] == ["A2", "A3"]  # what status shows as the settling's waiting_for
    assert not any(p.get("create") for p in client.sent[1:])


def test_creates_that_never_land_are_sent_again_only_after_the_deadline():
    clock = Clock()
    client = OneFailureClient(OutcomeUnknown("read timeout", status=None))
    reconcile, _calls = store_lands({"A0": 1})
    pusher = BatchPusher(client, "products/batch", size=10, concurrency=1, reconcile=reconcile, max_request_s=30,
                         sleep=clock.sleep, clock=clock)
    results = run(pusher, ops())
    assert all(r.ok for r in results)
    assert clock.now == pytest.approx(1030.0)  # waited exactly until sent-at + max_request_s
    assert max(clock.slept) <= 5.0  # looked up again at least every 5 s, not one blind wait
    resent = [p for p in client.sent[1:] if p.get("create")]
    assert sorted(b["sku"] for p in resent for b in p["create"]) == ["A1", "A2", "A3"]


def test_stopping_while_a_request_may_still_run_keeps_it_for_the_next_worker():
    clock, journal = Clock(), Journal()
    client = OneFailureClient(OutcomeUnknown("connection cut", status=None))
    reconcile, _ = store_lands({})
    stop = {"now": False}

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        stop["now"] = True  # a cancel arrives while it waits

    pusher = BatchPusher(client, "products/batch", size=10, concurrency=1, reconcile=reconcile, max_request_s=60,
                         journal=journal, sleep=sleep, clock=clock, should_stop=lambda: stop["now"])
    with pytest.raises(Unsettled):
        run(pusher, ops())
    assert len(client.sent) == 1, "nothing may be sent again while the first request may be saving"
    assert list(journal.open.values()) == [["A0", "A1", "A2", "A3"]]


def test_the_journal_holds_a_batch_exactly_while_it_is_in_flight():
    journal = Journal()
    seen_open: list[int] = []

    class Client:
        def batch(self, endpoint, payload):
            seen_open.append(len(journal.open))
            return {"create": [{"id": 1, **b} for b in payload["create"]]}

    pusher = BatchPusher(Client(), "products/batch", size=2, concurrency=1, journal=journal)
    run(pusher, ops())
    assert seen_open == [1, 1] and journal.open == {} and journal.began == 2


class Overloaded:
    """A reconciler over a store that answers 503 to the first `failures` look-ups."""

    def __init__(self, failures: int, saved: set[str]):
        self.failures, self.saved, self.calls = failures, saved, 0

    def __call__(self, creates):
        self.calls += 1
        if self.calls <= self.failures:
            raise StoreServerError("Service Unavailable", status=503)
        return {i: {"id": 700 + i} for i, op in enumerate(creates) if op.sku in self.saved}


def test_a_look_up_refused_for_a_while_is_asked_again_and_saves_the_items():
    clock, journal = Clock(), Journal()
    client = OneFailureClient(OutcomeUnknown("cut", status=502))
    reconcile = Overloaded(failures=2, saved={"A0", "A1"})
    pusher = BatchPusher(client, "products/batch", size=10, concurrency=1, reconcile=reconcile, max_request_s=60,
                         journal=journal, sleep=clock.sleep, clock=clock)
    results = run(pusher, ops())
    assert all(r.ok for r in results) and len(results) == 4
    assert reconcile.calls == 3 and clock.slept[:2] == [2.0, 6.0]
    # A0 and A1 were saved: sent again as updates, never as creates; A2 and A3 created once.
    resent = [body["sku"] for p in client.sent[1:] for body in p.get("create", [])]
    assert sorted(resent) == ["A2", "A3"]
    assert journal.open == {}


def test_creates_that_cannot_be_looked_up_fail_unsent_and_stay_in_the_journal():
    """The store stays overloaded: whether it saved the creates cannot be told. They must not be
    sent again (duplicates) nor forgotten: failed in this run, left in the journal for the next
    run to settle. The batch's updates are idempotent and still go through."""
    clock, journal = Clock(), Journal()
    client = OneFailureClient(OutcomeUnknown("cut", status=502))
    reconcile = Overloaded(failures=99, saved=set())
    items = [*ops(3), Op("update", {"id": 9, "sku": "U9"}, ref=9, sku="U9")]
    pusher = BatchPusher(client, "products/batch", size=10, concurrency=1, reconcile=reconcile, max_request_s=60,
                         journal=journal, sleep=clock.sleep, clock=clock)
    results = run(pusher, items)
    by_sku = {r.op.sku: r for r in results}
    assert [by_sku[s].ok for s in ("A0", "A1", "A2")] == [False, False, False]
    assert all(by_sku[s].error.code == "wsync_outcome_unknown" for s in ("A0", "A1", "A2"))
    assert "next run settles it" in str(by_sku["A0"].error) and "503" not in by_sku["A0"].error.code
    assert by_sku["U9"].ok
    assert not any(p.get("create") for p in client.sent[1:]), "a create of unknown outcome was sent again"
    assert list(journal.open.values()) == [["A0", "A1", "A2", "U9"]]
