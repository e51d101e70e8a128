"""kill -9 of a real background worker at 10 random moments of a 2,000-product import, each
followed by `wsync recover` starting a new worker: the job still ends completed and exact."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from tests.proof.feeds import expected_skus, expected_urls, ledger_census, proof_rows, store_census
from tests.proof.workers import reap, wait_for, write_config, wsync_json
from tests.sync.conftest import write_feed
from wsync.jobs import schedule_import, start_detached_worker
from wsync.ledger import Ledger
from wsync.ledger.jobs import TERMINAL, JobStore
from wsync.sandbox import LatencyModel
from wsync.store import StoreClient, StoreSettings
from wsync.sync.options import ImportOptions

pytestmark = pytest.mark.slow

KILLS = 10
SEED = 4242
RANK = {"products": 0, "variations": 1, "images": 2, "done": 3}


def _reached(job: dict, at_claim: dict | None, target: str) -> bool:
    """The running worker has checkpointed at least once itself, in or past `target`; in the
    image phase, after at least one image batch of its own was saved."""
    checkpoint = job["checkpoint"] or {}
    if job["status"] != "running" or checkpoint == at_claim:
        return job["status"] != "running"  # ended: the caller's assertion says so
    phase = checkpoint.get("phase")
    if RANK.get(phase, -1) < RANK[target]:
        return False
    return phase != "images" or "images" in checkpoint


def test_kill_9_ten_times_then_recover_ends_exact(sandbox, image_host, tmp_path):
    # A few ms per item, so the job lasts long enough to be killed in every phase.
    sandbox.set_latency(LatencyModel(per_request_s=0.002, per_item_write_s=0.003, per_variation_write_s=0.004,
                                     per_image_s=0.004))
    rows = proof_rows(image_host.url)
    feed = write_feed(tmp_path / "feed.csv", rows)
    config = write_config(tmp_path, sandbox)
    ledger_path = tmp_path / "wsync.db"
    ledger = Ledger(ledger_path)
    jobs = JobStore(ledger)
    options = ImportOptions(concurrency=4).validate().to_dict()
    job_id = schedule_import(ledger, "test-feed", {"source": str(feed), "format": "csv", "feed_name": "test-feed",
                                                   "options": options})

    rng = random.Random(SEED)
    # Where the kills land: every phase, most of them in the image phase, where a request cut off
    # mid-way is what would make the store download an image twice.
    targets = sorted(rng.choices(["products", "variations", "images"], weights=[2, 3, 5], k=KILLS), key=RANK.get)
    pid = start_detached_worker(config, ledger_path, job_id)
    started = time.monotonic()
    phases_killed = []
    for kill, target in enumerate(targets):
        wait_for(lambda: (j := jobs.get(job_id))["status"] == "running" and j["worker_pid"] == pid, 30,
                 what=f"worker {pid} claiming job {job_id}")
        at_claim = jobs.get_checkpoint(job_id)
        # This worker has saved something of its own in (or past) the target phase ...
        wait_for(lambda: _reached(jobs.get(job_id), at_claim, target), 60,
                 what=f"worker {pid} reaching the {target} phase")
        # ... then dies at a random moment after that.
        time.sleep(rng.uniform(0.0, 0.6))
        job = jobs.get(job_id)
        assert job["status"] == "running", f"the job ended after {kill} kills: make it longer ({job['status']})"
        os.kill(pid, signal.SIGKILL)
        reap(pid)
        phases_killed.append((job["checkpoint"] or {}).get("phase"))
        code, doc = wsync_json(["--config", config, "recover"], tmp_path)
        assert code == 0 and doc["recovered"] == [job_id], doc
        pid = int(doc["workers"][str(job_id)])
    final = wait_for(lambda: (j := jobs.get(job_id))["status"] in TERMINAL and j, 120, interval=0.1,
                     what="the job ending")
    elapsed = time.monotonic() - started
    print(f"\n{KILLS} kills in phases {phases_killed}; job ended after {elapsed:.1f} s, "
          f"{final['attempts']} attempts, store requests {sandbox.stats()['requests']['total']}")

    assert final["status"] == "completed", final["error_messages"]
    assert final["attempts"] == KILLS + 1
    assert jobs.errors(job_id) == []
    result = final["result"]
    assert result["failed"] == 0 and result["success"], result

    want_products, want_variations = expected_skus(rows)
    store = StoreSettings(url=sandbox.url, consumer_key=sandbox.consumer_key, consumer_secret=sandbox.consumer_secret)
    with StoreClient(store) as reader:
        product_skus, variation_skus, _ = store_census(reader)
    assert set(product_skus) == want_products and max(product_skus.values()) == 1
    assert set(variation_skus) == want_variations and max(variation_skus.values()) == 1
    downloads = sandbox.stats()["downloads"]["per_url"]
    assert set(downloads) == expected_urls(rows)
    twice = {u: n for u, n in downloads.items() if n != 1}
    assert not twice, f"{len(twice)} image URLs downloaded more than once, e.g. {list(twice.items())[:3]}"

    # Counts: every item processed once across all attempts; the ledger equals the store.
    assert ledger_census(ledger, "test-feed") == {"products": 2000, "variations": 2000,
                                                  "product_ids": 2000, "variation_ids": 2000}
    assert final["total_processed"] == 4000 and final["total_errors"] == 0
    assert final["total_created"] + final["total_updated"] + final["total_unchanged"] == 4000
    assert result["created"] + result["updated"] + result["unchanged"] == 4000
    ledger.close()
