"""The JSON documents `wsync status` and `wsync jobs` print (stable shapes scripts rely on)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from wsync.errors import UsageError
from wsync.ledger.jobs import JobStore, parse_iso, pid_alive

STATUS_ERRORS_SHOWN = 20


def json_object(value: object) -> dict[str, Any]:
    """A JSON column read as an object: empty when it holds something else (or nothing)."""
    return value if isinstance(value, dict) else {}


def duration_s(job: dict[str, Any]) -> float | None:
    """Seconds from start to end (or to now, while it runs); None before it starts."""
    started = parse_iso(job.get("started_at"))
    if started is None:
        return None
    ended = parse_iso(job.get("completed_at"))
    if ended is None:
        ended = datetime.now(UTC) if job.get("status") == "running" else parse_iso(job.get("updated_at"))
    if ended is None:
        return None
    return max(0.0, (ended - started).total_seconds())


def rate_per_min(job: dict[str, Any]) -> float | None:
    seconds = duration_s(job)
    if not seconds:
        return None
    return round(int(job.get("total_processed", 0)) * 60.0 / seconds, 1)


def worker_alive(job: dict[str, Any]) -> bool | None:
    """For a running job on this host: is its worker process still there? None when unknown."""
    if job.get("status") != "running" or job.get("worker_host") != socket.gethostname():
        return None
    return pid_alive(job.get("worker_pid"))


def settling(job: dict[str, Any]) -> dict[str, Any] | None:
    """While a running job waits for requests that may still be saving on the store (a dead
    worker's, or one that timed out): how many, for which items, and until when at the latest."""
    checkpoint = json_object(job.get("checkpoint"))
    if job.get("status") != "running" or checkpoint.get("phase") != "settling":
        return None
    doc = checkpoint.get("settling")
    return doc if isinstance(doc, dict) else None


def concurrency(job: dict[str, Any]) -> dict[str, Any] | None:
    """The job's requests in flight: mode (auto | fixed), current, peak, ceiling, items per
    second, back-offs and overload answers (429/503/504). From the result once it ended, else
    from the checkpoint; None for a job that does not say (older, or not started)."""
    for source in (json_object(job.get("result")), json_object(job.get("checkpoint"))):
        doc = source.get("concurrency")
        if isinstance(doc, dict):
            return doc
    return None


_VARIATION_COUNTS = ("created", "updated", "unchanged", "skipped", "failed", "processed", "deleted")


def job_counts(job: dict[str, Any]) -> dict[str, Any]:
    """What an import job's row holds beyond its count columns: products skipped and failed,
    its variations, its refused feed records. From the result once it ended, else from the
    checkpoint (saved after every batch). None where the job does not say (another kind, or
    it has not started)."""
    out: dict[str, Any] = {"total_skipped": None, "total_failed": None, "feed_errors": None, "variations": None}
    if job.get("kind") != "import":
        return out
    result = json_object(job.get("result"))
    checkpoint = json_object(job.get("checkpoint"))
    if isinstance(result.get("variations"), dict):
        variations = result["variations"]
        out["variations"] = {k: int(variations.get(k) or 0) for k in _VARIATION_COUNTS}
        out.update(total_skipped=int(result.get("skipped") or 0), total_failed=int(result.get("failed") or 0),
                   feed_errors=int(result.get("feed_errors") or 0))
    elif isinstance(checkpoint.get("counts"), dict):
        counts = checkpoint["counts"]
        out["variations"] = {k: int(counts.get(f"variations_{k}") or 0) for k in _VARIATION_COUNTS}
        out.update(total_skipped=int(counts.get("skipped") or 0), total_failed=int(counts.get("failed") or 0),
                   feed_errors=int(counts.get("feed_errors") or 0))
    return out


def job_doc(job: dict[str, Any], error_count: int | None = None) -> dict[str, Any]:
    """One job. total_processed / total_created / total_updated / total_unchanged / total_skipped /
    total_failed count products (the first sums the other five); `variations` counts the
    feed's variations the same way; total_errors counts item errors of every kind (failed
    products and variations, refused feed records, and with error_count every per-item error
    row the job left, image errors included). `progress` is over products and variations."""
    total_errors = int(job.get("total_errors") or 0)
    duration = duration_s(job)
    if error_count is not None:
        # The per-item error rows are the ground truth when an engine reports fewer.
        total_errors = max(total_errors, error_count)
    return {
        "id": job["id"],
        "kind": job["kind"],
        "feed": job["feed"],
        "status": job["status"],
        "undone_by": job.get("undone_by"),  # the undo job that put this job's changes back
        "progress": round(float(job.get("progress") or 0), 1),
        "estimated_total": job.get("estimated_total"),
        "total_processed": job.get("total_processed", 0),
        "total_created": job.get("total_created", 0),
        "total_updated": job.get("total_updated", 0),
        "total_unchanged": job.get("total_unchanged", 0),
        **job_counts(job),
        "total_errors": total_errors,
        "images_scheduled": job.get("images_scheduled", 0),
        "error_messages": job.get("error_messages") or [],
        "created_at": job.get("created_at"),
        "started_at": job.get("started_at"),
        "completed_at": job.get("completed_at"),
        "heartbeat_at": job.get("heartbeat_at"),
        "duration": None if duration is None else round(duration, 1),
        "rate_per_min": rate_per_min(job),
        "attempts": job.get("attempts", 0),
        "cancel_requested": bool(job.get("cancel_requested")),
        "worker_pid": job.get("worker_pid"),
        "worker_host": job.get("worker_host"),
        "worker_alive": worker_alive(job),
        "settling": settling(job),
        "concurrency": concurrency(job),
        "configuration": job.get("job_data") or {},
        "result": job.get("result"),
    }


def load_job(jobs: JobStore, job_id: int) -> dict[str, Any]:
    job = jobs.get(job_id)
    if job is None:
        raise UsageError(f"job {job_id} does not exist in the ledger {jobs.ledger.path}",
                         hint="`wsync jobs` lists the jobs this ledger knows")
    return job


def status_doc(jobs: JobStore, job_id: int) -> dict[str, Any]:
    job = load_job(jobs, job_id)
    doc = job_doc(job, jobs.error_count(job_id))
    doc["errors"] = jobs.errors(job_id, limit=STATUS_ERRORS_SHOWN)
    return {"success": True, "job": doc}


def list_doc(jobs: JobStore, status: str | None = None, limit: int = 20) -> dict[str, Any]:
    # Each job's errors as `wsync status` counts them: its per-item error rows included.
    return {"success": True, "jobs": [job_doc(job, jobs.error_count(job["id"]))
                                      for job in jobs.list(status=status, limit=limit)],
            "stats": jobs.stats()}


def outcome_exit_code(doc: dict[str, Any]) -> int:
    """0 for a job that completed with no item errors, 1 for anything else."""
    return 0 if doc["status"] == "completed" and not doc["total_errors"] else 1
