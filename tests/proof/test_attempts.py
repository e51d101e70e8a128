"""A job is given up after MAX_ATTEMPTS dead workers in a row that made no progress, not after
MAX_ATTEMPTS dead workers in all: a long job killed often but advancing each time must finish."""

from __future__ import annotations

import socket

from wsync.ledger import Ledger
from wsync.ledger.jobs import MAX_ATTEMPTS, JobStore

HOST = socket.gethostname()


def _die(store: JobStore, job_id: int) -> None:
    """The worker was killed: recover marks the job for the next worker."""
    assert store.mark_stuck(job_id, "worker is no longer running")


def test_a_job_that_advances_between_kills_is_never_given_up(tmp_path):
    ledger = Ledger(tmp_path / "wsync.db")
    store = JobStore(ledger)
    job_id = store.create(feed="f", job_data={})
    for attempt in range(1, 3 * MAX_ATTEMPTS):
        job = store.claim(job_id, worker_pid=100 + attempt, worker_host=HOST)
        assert job is not None and job["attempts"] == attempt
        store.update_progress(job_id, processed=attempt * 10)
        _die(store, job_id)
    assert store.claim(job_id, worker_pid=1, worker_host=HOST) is not None
    ledger.close()


def test_image_phase_checkpoints_count_as_progress(tmp_path):
    ledger = Ledger(tmp_path / "wsync.db")
    store = JobStore(ledger)
    job_id = store.create(feed="f", job_data={})
    store.update_progress(job_id, processed=50)
    for attempt in range(1, 3 * MAX_ATTEMPTS):
        assert store.claim(job_id, worker_pid=100 + attempt, worker_host=HOST) is not None
        # processed stays put in the image phase; the checkpoint moves
        store.save_checkpoint(job_id, {"phase": "images", "images": {"attached": attempt}})
        _die(store, job_id)
    assert store.claim(job_id, worker_pid=1, worker_host=HOST) is not None
    ledger.close()


def test_a_job_that_kills_its_workers_without_advancing_is_given_up(tmp_path):
    ledger = Ledger(tmp_path / "wsync.db")
    store = JobStore(ledger)
    job_id = store.create(feed="f", job_data={})
    # It advances for a while, then every worker dies before saving anything.
    for attempt in range(1, 4):
        store.claim(job_id, worker_pid=100 + attempt, worker_host=HOST)
        store.update_progress(job_id, processed=attempt)
        _die(store, job_id)
    for attempt in range(MAX_ATTEMPTS):
        assert store.claim(job_id, worker_pid=200 + attempt, worker_host=HOST) is not None
        _die(store, job_id)
    assert store.claim(job_id, worker_pid=1, worker_host=HOST) is None
    job = store.get(job_id)
    assert job["status"] == "failed"
    assert f"stopped {MAX_ATTEMPTS} times in a row without the job advancing" in job["error_messages"][-1]
    ledger.close()
