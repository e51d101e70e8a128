"""A job marked for resume whose new worker died before claiming it is found again by recover."""

from wsync.ledger import Ledger
from wsync.ledger.jobs import JobStore


def test_processing_stuck_job_nobody_claimed_is_stuck_again(tmp_path):
    ledger = Ledger(tmp_path / "wsync.db")
    jobs = JobStore(ledger)
    job_id = jobs.create(feed="f", job_data={})
    assert jobs.mark_stuck(job_id, "worker died")
    assert jobs.find_stuck(60) == []  # just marked: a worker may be starting for it
    ledger.conn.execute("UPDATE background_jobs SET updated_at='2000-01-01T00:00:00+00:00' WHERE id=?", (job_id,))
    found = jobs.find_stuck(60)
    assert [j["id"] for j in found] == [job_id]
    assert "no worker has claimed it" in found[0]["stuck_reason"]
    assert jobs.mark_stuck(job_id, found[0]["stuck_reason"])
    assert jobs.get(job_id)["status"] == "processing_stuck"
