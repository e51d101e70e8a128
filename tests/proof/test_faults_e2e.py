"""A 2,000-product import against a store that fails the way real hosting does: 10 % of requests
answered 500/502/503/429, 2 % hanging past the client's read timeout (the write lands later),
2 % committed and then cut off. The job must still end complete and exact."""

from __future__ import annotations

import time

import pytest

from tests.proof.feeds import expected_skus, expected_urls, ledger_census, proof_rows, store_census
from tests.sync.conftest import SyncRig
from wsync.jobs.runner import run_job
from wsync.sandbox import Faults
from wsync.sync.options import ImportOptions

pytestmark = pytest.mark.slow

FAULTS = Faults(error_rate=0.10, hang_rate=0.02, hang_s=2.5, drop_rate=0.02, retry_after_s=1, seed=20240611)


def run_as_worker(rig: SyncRig, feed, **options) -> dict:
    """Run an import job the way a worker does (claim, heartbeat, final state); the final job row."""
    opts = ImportOptions(**options).validate()
    data = {"source": str(feed), "format": "csv", "feed_name": "test-feed", "options": opts.to_dict()}
    job_id = rig.jobs.create(kind="import", feed="test-feed", job_data=data)
    run_job(rig.ledger.path, job_id, rig.settings)
    return rig.jobs.get(job_id)


@pytest.fixture
def faulty_rig(sandbox, tmp_path):
    rig = SyncRig(sandbox, tmp_path)
    # A short read timeout, so a hang costs the test 1.5 s, not two minutes; the client gets a
    # generous retry budget, as configured for a flaky host.
    rig.store = rig.store.with_changes(read_timeout=1.5, connect_timeout=2.0, max_attempts=6,
                                       max_retry_wait_s=15.0, backoff_base_s=0.05, concurrency=8)
    rig.settings.store = rig.store
    yield rig
    rig.ledger.close()


def test_import_under_faults_is_exact_and_a_second_run_writes_nothing(faulty_rig, sandbox, image_host):
    rig = faulty_rig
    rows = proof_rows(image_host.url)
    want_products, want_variations = expected_skus(rows)
    want_urls = expected_urls(rows)
    assert len(want_products) == 2000 and len(want_variations) == 2000 and len(want_urls) == 1000
    feed = rig.feed(rows)

    sandbox.set_faults(FAULTS)
    started = time.monotonic()
    job = run_as_worker(rig, feed, concurrency=8)
    elapsed = time.monotonic() - started
    stats = sandbox.stats()
    sandbox.set_faults(Faults())
    result = job["result"]
    print(f"\nfaulty run: {elapsed:.1f} s, store requests {stats['requests']['total']}, faults {stats['faults']}, "
          f"client requests {result.get('requests')}")

    errors = rig.jobs.errors(job["id"])
    assert errors == [], errors[:5]
    assert job["status"] == "completed", job["error_messages"]
    assert result["failed"] == 0 and result["success"], result
    # Every fault kind was really exercised.
    assert stats["faults"].get("errors", 0) > 50 and stats["faults"].get("hangs", 0) > 5
    assert stats["faults"].get("drops", 0) > 5

    with rig.client() as reader:
        product_skus, variation_skus, by_sku = store_census(reader)
    assert set(product_skus) == want_products and max(product_skus.values()) == 1
    assert set(variation_skus) == want_variations and max(variation_skus.values()) == 1
    downloads = stats["downloads"]["per_url"]
    assert set(downloads) == want_urls
    twice = {u: n for u, n in downloads.items() if n != 1}
    assert not twice, f"{len(twice)} image URLs downloaded more than once, e.g. {list(twice.items())[:3]}"
    assert sandbox.stats()["counts"]["attachments"] == 1000
    # Every product shows the images the feed gives it.
    wanted = {r["sku"]: [u for u in r["images"].split(",") if u] for r in rows if not r.get("parent")}
    wrong = [s for s, p in by_sku.items() if len(p["images"]) != len(wanted[s])]
    assert not wrong, wrong[:5]

    # The ledger and the job's counts agree with the store.
    census = ledger_census(rig.ledger, "test-feed")
    assert census == {"products": 2000, "variations": 2000, "product_ids": 2000, "variation_ids": 2000}
    assert result["created"] == 4000 and result["updated"] == 0 and result["total_processed"] == 4000
    assert job["total_created"] == 4000 and job["total_processed"] == 4000 and job["total_errors"] == 0

    again = run_as_worker(rig, feed, concurrency=8)["result"]
    assert again["requests"]["write"] == 0, again
    assert again["created"] == 0 and again["updated"] == 0 and again["unchanged"] == 4000
    assert sandbox.stats()["downloads"]["ok"] == 1000
