"""An import against a store behind a proxy that fails the way real hosting does: requests
answered 500/502/503 or 429 with Retry-After, hanging past the client's read timeout (the write
lands later), committed and then cut off, and cut off while the store is still saving them. The
job must still end complete and exact: one product and one variation per SKU, every image URL
downloaded once, the ledger equal to the store, and a second run writes nothing.
Runs on the sandbox, or live (see conftest.py)."""

from __future__ import annotations

import time

import pytest

from tests.proof.conftest import SHAPE, ProofStore
from tests.proof.feeds import expected_skus, expected_urls, ledger_census, shaped_rows, store_census
from tests.sync.conftest import LIVE, SyncRig
from wsync.jobs.runner import run_job
from wsync.sandbox import ImageHost, ProxyFaults
from wsync.sync.options import ImportOptions

# A live store imports the bench catalogue with images in minutes, not seconds.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400 if LIVE else 300)]


def faults_for(store: ProofStore) -> ProxyFaults:
    # A hang must outlast the client's read timeout, which on a live store has to cover its
    # slowest honest batch: hangs are rarer there, so the proof does not take an hour.
    hang_rate, hang_s = (0.005, 25.0) if store.live else (0.02, 2.5)
    return ProxyFaults(error_rate=0.08, error_statuses=(500, 502, 503), rate_limit_rate=0.03, retry_after_s=1,
                       hang_rate=hang_rate, hang_s=hang_s, drop_rate=0.03, cut_rate=0.02, cut_after_s=0.2,
                       seed=20240611)


def run_as_worker(rig: SyncRig, feed, **options) -> dict:
    """Run an import job the way a worker does (claim, heartbeat, final state); the final job row."""
    opts = ImportOptions(**options).validate()
    data = {"source": str(feed), "format": "csv", "feed_name": "test-feed", "options": opts.to_dict()}
    job_id = rig.jobs.create(kind="import", feed="test-feed", job_data=data)
    run_job(rig.ledger.path, job_id, rig.settings)
    return rig.jobs.get(job_id)


def test_import_under_faults_is_exact_and_a_second_run_writes_nothing(proof_store: ProofStore,
                                                                     proof_images: ImageHost, tmp_path):
    store = proof_store
    rows = shaped_rows(proof_images.url, SHAPE, store.prefix)
    want_products, want_variations = expected_skus(rows)
    want_urls = expected_urls(rows)
    assert (len(want_products), len(want_variations), len(want_urls)) == (
        SHAPE.products, SHAPE.variations, SHAPE.distinct_images)
    faults = faults_for(store)
    proxy = store.proxy(faults)
    try:
        # A short read timeout on the sandbox, so a hang costs the test 1.5 s, not two minutes; a
        # generous retry budget, as configured for a flaky host; requests that may still run are
        # over after max_request_s.
        read_timeout = 20.0 if store.live else 1.5
        settings = store.settings(proxy.url, read_timeout=read_timeout, connect_timeout=2.0, max_attempts=6,
                                  max_retry_wait_s=15.0, concurrency=8,
                                  max_request_s=faults.hang_s + (60.0 if store.live else 3.0))
        rig = SyncRig(None, tmp_path, store=settings)
        feed = rig.feed(rows)
        started = time.monotonic()
        concurrency = 4 if store.live else 8
        job = run_as_worker(rig, feed, concurrency=concurrency)
        elapsed = time.monotonic() - started
        proxy.wait_idle(60)
        stats = proxy.stats()
        result = job["result"]
        print(f"\nfaulty run: {elapsed:.1f} s, proxy {stats}, client requests {result.get('requests')}")

        errors = rig.jobs.errors(job["id"])
        assert errors == [], errors[:5]
        assert job["status"] == "completed", job["error_messages"]
        assert result["failed"] == 0 and result["success"], result
        # Every fault kind was really exercised.
        for kind in ("errors", "rate_limited", "drops", "cuts", "hangs"):
            assert stats["faults"].get(kind, 0) > 0, (kind, stats)

        with store.reader() as reader:
            product_skus, variation_skus, by_sku = store_census(reader, store.prefix)
        assert set(product_skus) == want_products and max(product_skus.values()) == 1
        assert set(variation_skus) == want_variations and max(variation_skus.values()) == 1
        downloads = {f"{proof_images.url}{path}": n for path, n in proof_images.downloads().items()}
        assert set(downloads) == want_urls
        twice = {u: n for u, n in downloads.items() if n != 1}
        assert not twice, f"{len(twice)} image URLs downloaded more than once, e.g. {list(twice.items())[:3]}"
        if store.sandbox is not None:
            assert store.sandbox.stats()["counts"]["attachments"] == SHAPE.distinct_images
        # Every product shows the images the feed gives it.
        wanted = {r["sku"]: [u for u in r["images"].split(",") if u] for r in rows if not r.get("parent")}
        wrong = [s for s, p in by_sku.items() if len(p["images"]) != len(wanted[s])]
        assert not wrong, wrong[:5]

        # The ledger and the job's counts agree with the store: products in the plain counts,
        # variations in their own.
        census = ledger_census(rig.ledger, "test-feed")
        assert census == {"products": SHAPE.products, "variations": SHAPE.variations,
                          "product_ids": SHAPE.products, "variation_ids": SHAPE.variations}
        assert result["created"] == SHAPE.products and result["updated"] == 0
        assert result["total_processed"] == SHAPE.products
        assert result["variations"] == {"created": SHAPE.variations, "updated": 0, "unchanged": 0, "skipped": 0,
                                        "failed": 0, "processed": SHAPE.variations, "deleted": 0}, result
        assert job["total_created"] == SHAPE.products and job["total_processed"] == SHAPE.products
        assert job["total_errors"] == 0

        again = run_as_worker(rig, feed, concurrency=concurrency)["result"]
        assert again["requests"]["write"] == 0, again
        assert again["created"] == 0 and again["updated"] == 0 and again["unchanged"] == SHAPE.products
        assert again["variations"]["unchanged"] == SHAPE.variations == again["variations"]["processed"], again
        assert sum(proof_images.downloads().values()) == SHAPE.distinct_images
        rig.ledger.close()
    finally:
        proxy.stop()
