"""kill -9 of a real background worker at 10 random moments of an import (products, variations
and images), each followed at once by `wsync recover` starting a new worker: the job still ends
completed and exact. The store goes on saving the killed worker's last requests (the sandbox
does, like PHP), so the new worker must settle them before it plans, or it creates those SKUs
and downloads those images a second time. Runs on the sandbox, or live (see conftest.py)."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from tests.proof.conftest import KILL_SHAPE as SHAPE
from tests.proof.conftest import ProofStore, write_store_config
from tests.proof.feeds import expected_skus, expected_urls, ledger_census, shaped_rows, store_census
from tests.proof.workers import reap, wait_for, wsync_json
from tests.sync.conftest import LIVE, write_feed
from wsync.jobs import schedule_import, start_detached_worker
from wsync.ledger import Ledger
from wsync.ledger.jobs import TERMINAL, JobStore
from wsync.sandbox import ImageHost, LatencyModel
from wsync.sync.options import ImportOptions

# A live store imports the bench catalogue with images in minutes, not seconds.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400 if LIVE else 300)]
PATIENCE_S = 600 if LIVE else 60

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


def test_kill_9_ten_times_then_recover_ends_exact(proof_store: ProofStore, proof_images: ImageHost, tmp_path):
    store = proof_store
    if store.sandbox is not None:
        # Products are saved item by item at 0.1 s each, as a real store under load saves them
        # (33 ms alone, recordings/README): a killed worker's batch of 50 goes on being saved for
        # seconds, while the next worker starts. With less, the batch is over before the next
        # worker looks, and the proof would pass without settling (it did on the engine before).
        # Variations and images only need to last long enough to be killed in.
        store.sandbox.set_latency(LatencyModel(per_request_s=0.02, per_item_write_s=0.1,
                                               per_variation_write_s=0.02, per_image_s=0.02))
    rows = shaped_rows(proof_images.url, SHAPE, store.prefix)
    feed = write_feed(tmp_path / "feed.csv", rows)
    settings = store.settings(read_timeout=120.0 if store.live else 10.0)
    config = write_store_config(tmp_path, settings, max_request_s=120.0 if store.live else 5.0)
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
        # wait_for polls its predicate before it returns: each binds this kill's worker and target.
        wait_for(lambda pid=pid: (j := jobs.get(job_id))["status"] == "running" and j["worker_pid"] == pid, 30,
                 what=f"worker {pid} claiming job {job_id}")
        at_claim = jobs.get_checkpoint(job_id)
        # This worker has saved something of its own in (or past) the target phase ...
        wait_for(lambda at_claim=at_claim, target=target: _reached(jobs.get(job_id), at_claim, target), PATIENCE_S,
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
    final = wait_for(lambda: (j := jobs.get(job_id))["status"] in TERMINAL and j, 2 * PATIENCE_S, interval=0.1,
                     what="the job ending")
    elapsed = time.monotonic() - started
    print(f"\n{KILLS} kills in phases {phases_killed}; job ended after {elapsed:.1f} s, "
          f"{final['attempts']} attempts, messages {final['error_messages']}")

    assert final["status"] == "completed", final["error_messages"]
    assert final["attempts"] == KILLS + 1
    assert jobs.errors(job_id) == []
    result = final["result"]
    assert result["failed"] == 0 and result["success"], result

    want_products, want_variations = expected_skus(rows)
    with store.reader() as reader:
        product_skus, variation_skus, _ = store_census(reader, store.prefix)
    twice_skus = {s: n for s, n in {**product_skus, **variation_skus}.items() if n != 1}
    assert not twice_skus, f"{len(twice_skus)} SKUs more than once on the store, e.g. {list(twice_skus.items())[:5]}"
    assert set(product_skus) == want_products
    assert set(variation_skus) == want_variations
    downloads = {f"{proof_images.url}{path}": n for path, n in proof_images.downloads().items()}
    assert set(downloads) == expected_urls(rows)
    twice = {u: n for u, n in downloads.items() if n != 1}
    assert not twice, f"{len(twice)} image URLs downloaded more than once, e.g. {list(twice.items())[:3]}"
    if store.sandbox is not None:
        assert store.sandbox.stats()["counts"]["attachments"] == SHAPE.distinct_images

    # Counts: every item processed once across all attempts; the ledger equals the store. The
    # plain counts are products, the variations are counted apart.
    assert ledger_census(ledger, "test-feed") == {"products": SHAPE.products, "variations": SHAPE.variations,
                                                  "product_ids": SHAPE.products, "variation_ids": SHAPE.variations}
    assert final["total_processed"] == SHAPE.products and final["total_errors"] == 0
    assert final["total_created"] + final["total_updated"] + final["total_unchanged"] == SHAPE.products
    assert result["created"] + result["updated"] + result["unchanged"] == SHAPE.products
    variations = result["variations"]
    assert variations["created"] + variations["updated"] + variations["unchanged"] == SHAPE.variations, variations
    assert variations["processed"] == SHAPE.variations and variations["failed"] == variations["skipped"] == 0
    ledger.close()
