"""A worker died with a batch in flight, and the store is still saving it (recordings/27: PHP goes
on after its client is gone). The next run of the feed must settle that batch before it plans:
wait while its creates are still landing, adopt them, and create none of them a second time.
Runs against the sandbox (which saves batches item by item, like a real store) or a live store."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import requests

from tests.sync.conftest import LIVE, SyncRig
from wsync.feeds import FeedSpec, load_catalogue
from wsync.ledger.pending import PendingWrites
from wsync.sandbox import LatencyModel
from wsync.store.signing import endpoint_url, sign


def dead_pid() -> int:
    """The pid of a process that has ended."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def send_and_hang_up(rig: SyncRig, creates: list[dict]) -> None:
    """POST a products batch and give up on it at once, as a killed worker would: the store
    keeps saving it."""
    url, route = endpoint_url(rig.store, "products/batch", plain=False)
    full_url, auth = sign(rig.store, "POST", url, route)
    try:
        requests.post(full_url, json={"create": creates}, auth=auth, timeout=(5, 0.3),
                      verify=os.environ.get("REQUESTS_CA_BUNDLE", True))
    except requests.exceptions.ReadTimeout:
        return
    raise AssertionError("the batch answered before its client hung up: make it slower")


def test_a_dead_workers_batch_still_saving_is_settled_not_created_again(rig):
    if not LIVE:
        # 20 creates saved over ~1.5 s, each one's SKU check apart from its insert, as on a real store.
        rig.sandbox.set_latency(LatencyModel(per_request_s=0.01, per_item_write_s=0.075))
    rows = rig.rows(20, 0)
    feed = rig.feed(rows)
    products = load_catalogue(FeedSpec.adhoc(str(feed), format="csv", name="test-feed")).products
    ledger_items = [{"key": p.key, "sku": p.sku} for p in products]
    # What the dead worker's journal said, written just before it sent the batch.
    PendingWrites(rig.ledger).add(job_id=None, feed="test-feed", kind="product", endpoint="products/batch",
                                  parent_id=None, items=ledger_items, pid=dead_pid(), host=socket.gethostname())
    creates = [{"sku": p.sku, "name": p.name, "type": "simple", "regular_price": "1.00"} for p in products]
    started = time.monotonic()
    send_and_hang_up(rig, creates)

    result, _ = rig.run(feed, process_images=False, settle_s=60.0)
    waited = time.monotonic() - started

    skus = [p["sku"] for p in rig.all_products()]
    assert sorted(skus) == sorted(p.sku for p in products), "a SKU is missing or was created twice"
    assert result["settled"]["writes"] == 1
    assert result["settled"]["adopted_items"] == 20
    assert result["created"] == 0 and result["updated"] == 20 and result["failed"] == 0
    assert waited < 30, "it waited for the deadline although everything had landed"
    assert PendingWrites(rig.ledger).for_feed("test-feed") == []


def test_a_dead_workers_batch_that_saved_nothing_waits_out_its_deadline_then_creates(rig):
    rows = rig.rows(3, 0)
    feed = rig.feed(rows)
    products = load_catalogue(FeedSpec.adhoc(str(feed), format="csv", name="test-feed")).products
    PendingWrites(rig.ledger).add(job_id=None, feed="test-feed", kind="product", endpoint="products/batch",
                                  parent_id=None, items=[{"key": p.key, "sku": p.sku} for p in products],
                                  pid=dead_pid(), host=socket.gethostname())
    started = time.monotonic()
    result, _ = rig.run(feed, process_images=False, settle_s=2.0)
    assert time.monotonic() - started >= 1.5, "it created before the dead request could have ended"
    assert result["settled"] == {"writes": 1, "adopted_items": 0, "adopted_images": 0,
                                 "waited_s": result["settled"]["waited_s"]}
    assert result["created"] == 3
    assert sorted(p["sku"] for p in rig.all_products()) == sorted(p.sku for p in products)


def test_a_live_workers_batch_is_left_to_it(rig):
    """A write of a worker that is still running (this process, holding its job) is not touched."""
    feed = rig.feed(rig.rows(2, 0))
    job_id = rig.jobs.create(kind="import", feed="test-feed", job_data={})
    rig.jobs.claim(job_id, worker_pid=os.getpid(), worker_host=socket.gethostname())
    pending = PendingWrites(rig.ledger)
    pending.add(job_id=job_id, feed="test-feed", kind="product", endpoint="products/batch", parent_id=None,
                items=[{"key": "x", "sku": rig.sku("nothing")}], pid=os.getpid(), host=socket.gethostname())
    assert pending.orphaned("test-feed") == []
    result, _ = rig.run(feed, process_images=False, settle_s=30.0)
    assert "settled" not in result and result["created"] == 2
    assert len(pending.for_feed("test-feed")) == 1
