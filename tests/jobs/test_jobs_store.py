import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from wsync.ledger import Ledger
from wsync.ledger.jobs import MAX_ATTEMPTS, MAX_MESSAGE_CHARS, JobStore, parse_iso
from wsync.redact import register_secret

HOST = socket.gethostname()


def _ago(seconds):
    return (datetime.now(UTC) - timedelta(seconds=seconds)).replace(microsecond=0).isoformat()


def test_create_get_list_decode_json_and_use_iso_timestamps(store):
    job_id = store.create(feed="acme", job_data={"only": ["price", "stock"], "preset": "csv"}, estimated_total=40)
    job = store.get(job_id)
    assert job["status"] == "scheduled" and job["kind"] == "import" and job["feed"] == "acme"
    assert job["job_data"] == {"only": ["price", "stock"], "preset": "csv"}
    assert job["error_messages"] == [] and job["estimated_total"] == 40
    created = datetime.fromisoformat(job["created_at"])
    assert created.utcoffset() is not None
    other = store.create(kind="images", feed=None, job_data={})
    assert [j["id"] for j in store.list()] == [other, job_id]
    assert [j["id"] for j in store.list(status="scheduled", limit=1)] == [other]
    assert store.get(9999) is None
    with pytest.raises(ValueError):
        store.create(feed="x", job_data={}, status="bogus")


def test_claim_is_exclusive_and_records_the_worker(store):
    first = store.create(feed="a", job_data={})
    second = store.create(feed="b", job_data={})
    job = store.claim(worker_pid=os.getpid(), worker_host=HOST)
    assert job["id"] == first and job["status"] == "running" and job["attempts"] == 1
    assert job["worker_pid"] == os.getpid() and job["worker_host"] == HOST and job["started_at"]
    assert store.claim(first, worker_pid=1, worker_host=HOST) is None
    assert store.claim(worker_pid=1, worker_host=HOST)["id"] == second
    assert store.claim(worker_pid=1, worker_host=HOST) is None


def test_claims_from_many_threads_never_share_a_job(ledger_path, store):
    ids = [store.create(feed=f"f{i}", job_data={}) for i in range(30)]
    claimed: list[int] = []
    lock = threading.Lock()

    def grab(n):
        ledger = Ledger(ledger_path)
        mine = JobStore(ledger)
        while (job := mine.claim(worker_pid=1000 + n, worker_host=HOST)) is not None:
            with lock:
                claimed.append(job["id"])
        ledger.close()

    threads = [threading.Thread(target=grab, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == ids


def test_heartbeat_reports_cancel_and_lost_ownership(store):
    job_id = store.create(feed="a", job_data={})
    store.claim(job_id, worker_pid=42, worker_host=HOST)
    assert store.heartbeat(job_id, 42) is False
    assert store.heartbeat(job_id, 43) is True  # another worker holds it now
    assert store.request_cancel(job_id) is True
    assert store.get(job_id)["status"] == "running"  # a running job stops after its batch
    assert store.heartbeat(job_id) is True and store.cancel_requested(job_id)


def test_cancel_scheduled_at_once_and_finished_not_at_all(store):
    job_id = store.create(feed="a", job_data={})
    assert store.request_cancel(job_id) is True
    job = store.get(job_id)
    assert job["status"] == "cancelled" and job["completed_at"]
    assert store.request_cancel(job_id) is False
    assert store.request_cancel(12345) is False
    assert store.claim(job_id, worker_pid=1, worker_host=HOST) is None


def test_progress_errors_messages_and_checkpoint(store):
    register_secret("cs_verysecretvalue123")
    job_id = store.create(feed="a", job_data={})
    store.update_progress(job_id, progress=150, processed=20, created=5, updated=10, unchanged=5, errors=1,
                          images_scheduled=3)
    store.update_progress(job_id, processed=30)
    job = store.get(job_id)
    assert (job["progress"], job["total_processed"], job["total_created"], job["total_updated"],
            job["total_unchanged"], job["total_errors"], job["images_scheduled"]) == (100, 30, 5, 10, 5, 1, 3)
    store.add_error(job_id, sku="A-1", stage="product", code="bad",
                    message="rejected https://shop/wp-json?consumer_secret=cs_verysecretvalue123 " + "x" * 5000)
    error = store.errors(job_id)[0]
    assert "cs_verysecretvalue123" not in error["message"] and len(error["message"]) <= MAX_MESSAGE_CHARS
    assert store.get(job_id)["total_errors"] == 1  # add_error bumps nothing
    store.add_message(job_id, "key cs_verysecretvalue123 refused")
    assert "cs_verysecretvalue123" not in store.get(job_id)["error_messages"][0]
    assert store.get_checkpoint(job_id) is None
    store.save_checkpoint(job_id, {"done": [0, 1], "cursor": "p3"})
    assert store.get_checkpoint(job_id) == {"done": [0, 1], "cursor": "p3"}


def test_finish_only_by_the_worker_that_holds_the_job(store):
    job_id = store.create(feed="a", job_data={})
    store.claim(job_id, worker_pid=7, worker_host=HOST)
    assert store.finish(job_id, "completed", {"n": 1}, only_if_pid=8) is False
    assert store.finish(job_id, "completed", {"n": 1}, only_if_pid=7) is True
    job = store.get(job_id)
    assert job["status"] == "completed" and job["result"] == {"n": 1} and job["progress"] == 100
    assert parse_iso(job["completed_at"]) is not None
    with pytest.raises(ValueError):
        store.finish(job_id, "running")


def test_find_stuck_scheduled_dead_and_silent_but_not_live(store):
    fresh = store.create(feed="fresh", job_data={})
    old = store.create(feed="old", job_data={})
    store.ledger.conn.execute("UPDATE background_jobs SET created_at=? WHERE id=?", (_ago(600), old))
    dead_proc = subprocess.Popen([sys.executable, "-c", "pass"])
    dead_proc.wait()
    dead = store.create(feed="dead", job_data={})
    store.claim(dead, worker_pid=dead_proc.pid, worker_host=HOST)
    live = store.create(feed="live", job_data={})
    store.claim(live, worker_pid=os.getpid(), worker_host=HOST)
    silent = store.create(feed="silent", job_data={})
    store.claim(silent, worker_pid=4242, worker_host="elsewhere")
    store.ledger.conn.execute("UPDATE background_jobs SET heartbeat_at=? WHERE id=?", (_ago(900), silent))
    far_alive = store.create(feed="far", job_data={})
    store.claim(far_alive, worker_pid=4243, worker_host="elsewhere")

    stuck = {job["id"]: job["stuck_reason"] for job in store.find_stuck(300)}
    assert set(stuck) == {old, dead, silent}
    assert "no longer running" in stuck[dead] and "scheduled" in stuck[old] and "last reported" in stuck[silent]
    assert fresh not in stuck and live not in stuck and far_alive not in stuck

    assert store.mark_stuck(dead, stuck[dead]) is True
    job = store.get(dead)
    assert job["status"] == "processing_stuck" and stuck[dead] in job["error_messages"]
    assert store.claim(dead, worker_pid=os.getpid(), worker_host=HOST)["id"] == dead  # stuck jobs are claimable
    assert store.get(dead)["attempts"] == 2


def test_a_job_that_keeps_killing_workers_is_given_up(store):
    job_id = store.create(feed="a", job_data={})
    store.ledger.conn.execute("UPDATE background_jobs SET status='processing_stuck', attempts=? WHERE id=?",
                              (MAX_ATTEMPTS, job_id))
    other = store.create(feed="b", job_data={})
    assert store.claim(worker_pid=1, worker_host=HOST)["id"] == other
    job = store.get(job_id)
    assert job["status"] == "failed" and "gave up after" in job["error_messages"][-1]


def test_stats_count_states_and_products(store):
    a = store.create(feed="a", job_data={})
    b = store.create(feed="b", job_data={})
    store.create(feed="c", job_data={})
    store.claim(a, worker_pid=1, worker_host=HOST)
    store.update_progress(a, processed=10, created=4, updated=6)
    store.finish(a, "completed")
    store.claim(b, worker_pid=1, worker_host=HOST)
    store.update_progress(b, processed=5, created=1, updated=2)
    stats = store.stats()
    assert stats["total_jobs"] == 3 and stats["scheduled"] == 1 and stats["running"] == 1
    assert stats["completed"] == 1 and stats["failed"] == 0
    assert (stats["total_products_processed"], stats["total_products_created"],
            stats["total_products_updated"]) == (15, 5, 8)


def test_status_says_when_a_running_job_is_settling(store):
    """`status --json` carries what a settling job waits for; null once it has moved on."""
    from rich.console import Console

    from wsync.jobs import render, report

    job_id = store.create(feed="f", job_data={})
    store.claim(job_id, worker_pid=os.getpid(), worker_host=socket.gethostname())
    waiting = {"requests": 2, "items": 60, "waiting_for": ["A1", "A2"], "until": "2026-12-02T10:00:00+00:00",
               "why": "an earlier worker's requests may still be saving on the store"}
    store.save_checkpoint(job_id, {"phase": "settling", "settling": waiting})
    doc = report.status_doc(store, job_id)["job"]
    assert doc["settling"] == waiting
    console = Console(record=True, width=200)
    render.print_summary(console, doc)
    assert "settling: waiting for 60 item(s) of 2 request(s)" in console.export_text()
    store.save_checkpoint(job_id, {"phase": "products"})
    assert report.status_doc(store, job_id)["job"]["settling"] is None


def test_status_names_the_items_still_short_of_an_image(store):
    from rich.console import Console

    from wsync.jobs import render, report

    job_id = store.create(feed="f", job_data={})
    store.finish(job_id, "completed", {"images_missing": 2, "images_missing_skus": ["A1", "B2"]})
    console = Console(record=True, width=200)
    render.print_summary(console, report.status_doc(store, job_id)["job"])
    assert "images missing on 2 item(s): A1, B2" in console.export_text()


def test_status_and_jobs_show_products_and_variations_apart(store):
    """The row's processed / created / updated / unchanged are products; skipped, failed and the
    variations come from the checkpoint while the job runs and from its result once it ended;
    status and the jobs list count errors alike (every per-item error row)."""
    from rich.console import Console

    from wsync.jobs import render, report

    job_id = store.create(feed="f", job_data={})
    store.claim(job_id, worker_pid=os.getpid(), worker_host=HOST)
    store.update_progress(job_id, progress=60, processed=10, created=4, updated=3, unchanged=1, errors=3)
    counts = {"created": 4, "updated": 3, "unchanged": 1, "skipped": 1, "failed": 1, "processed": 10,
              "variations_created": 6, "variations_failed": 1, "variations_processed": 7, "feed_errors": 1}
    store.save_checkpoint(job_id, {"phase": "variations", "counts": counts})
    for stage in ("product", "variation", "feed", "image"):
        store.add_error(job_id, sku="A1", stage=stage, code=None, message="no")
    doc = report.status_doc(store, job_id)["job"]
    assert (doc["total_processed"], doc["total_created"], doc["total_updated"], doc["total_unchanged"],
            doc["total_skipped"], doc["total_failed"]) == (10, 4, 3, 1, 1, 1)
    assert doc["variations"] == {"created": 6, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 1,
                                 "processed": 7, "deleted": 0}
    assert doc["feed_errors"] == 1 and doc["total_errors"] == 4
    listed = report.list_doc(store)["jobs"][0]
    assert listed["total_errors"] == doc["total_errors"] and listed["variations"] == doc["variations"]

    console = Console(record=True, width=200)
    render.print_summary(console, doc)
    text = console.export_text()
    assert "products processed 10: created 4, updated 3, unchanged 1, skipped 1, failed 1" in text
    assert "variations processed 7: created 6, updated 0, unchanged 0, skipped 0, failed 1" in text
    assert "item errors 4 (1 feed record(s) refused)" in text

    result = {"created": 4, "updated": 3, "unchanged": 2, "skipped": 1, "failed": 0, "feed_errors": 0,
              "variations": {"created": 7, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0,
                             "processed": 7, "deleted": 2}}
    store.update_progress(job_id, processed=10, unchanged=2, errors=0)
    store.finish(job_id, "completed", result)
    doc = report.status_doc(store, job_id)["job"]
    assert (doc["total_failed"], doc["variations"]["created"], doc["variations"]["deleted"]) == (0, 7, 2)
    console = Console(record=True, width=200)
    render.print_table(console, report.list_doc(store))
    header = console.export_text().splitlines()[1]
    assert header.split()[4:9] == ["products", "new", "upd", "vars", "err"], header


def test_an_images_job_shows_no_product_or_variation_split(store):
    from wsync.jobs import report

    job_id = store.create(kind="images", feed="f", job_data={})
    store.finish(job_id, "completed", {"images": {"attached": 3}})
    doc = report.status_doc(store, job_id)["job"]
    assert doc["variations"] is None and doc["total_failed"] is None and doc["total_skipped"] is None
