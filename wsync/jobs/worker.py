"""The worker loop and stuck-job recovery.

`work()` claims waiting jobs one at a time (atomically: two workers never run one job) and runs
them in this process. `recover()` finds jobs nobody is running any more (scheduled too long,
worker dead, heartbeat stale), marks them processing_stuck and starts them again; the engine
resumes each from its checkpoint, so finished batches are not sent twice.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsync.jobs.context import JobContext
from wsync.jobs.detached import start_detached_worker
from wsync.jobs.runner import Engine, run_claimed, run_job, worker_identity
from wsync.ledger import Ledger
from wsync.ledger.jobs import JobStore

log = logging.getLogger("wsync.jobs")

DEFAULT_STUCK_AFTER_S = 300.0
DEFAULT_POLL_S = 2.0
# A looping worker re-checks for stuck jobs this often, not on every poll.
RECOVER_EVERY_S = 60.0


def mark_stuck_jobs(jobs: JobStore, older_than_s: float) -> list[dict[str, Any]]:
    """Mark every stuck job processing_stuck; returns the ones this call marked."""
    marked = []
    for job in jobs.find_stuck(older_than_s):
        # Conditional on the pid seen, so a job a live worker just claimed is left alone.
        pid = job["worker_pid"] if job["status"] == "running" else None
        if jobs.mark_stuck(job["id"], job["stuck_reason"], only_if_pid=pid):
            log.warning("job %s marked processing_stuck: %s", job["id"], job["stuck_reason"])
            marked.append(job)
    return marked


@dataclass
class WorkReport:
    recovered: list[int] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)


def work(ctx: JobContext, *, once: bool = True, job_id: int | None = None, engine: Engine | None = None,
         poll_s: float = DEFAULT_POLL_S, stuck_after_s: float = DEFAULT_STUCK_AFTER_S,
         stop_event: threading.Event | None = None) -> WorkReport:
    """Run claimable jobs. once: until none is left; otherwise poll until stop_event is set.
    With job_id, run that job only (if it is still waiting) and return."""
    stop_event = stop_event or threading.Event()
    ledger = Ledger(ctx.ledger_path)
    jobs = JobStore(ledger)
    report = WorkReport()
    pid, host = worker_identity()
    try:
        last_check: float | None = None
        while not stop_event.is_set():
            # A worker started for one job stays on that job; the others are the cron worker's.
            # A --once worker checks before every claim (a long job may leave others stuck meanwhile).
            if job_id is None and (once or last_check is None or time.monotonic() - last_check >= RECOVER_EVERY_S):
                report.recovered += [j["id"] for j in mark_stuck_jobs(jobs, stuck_after_s)]
                last_check = time.monotonic()
            job = jobs.claim(job_id, worker_pid=pid, worker_host=host)
            if job is None:
                if once or job_id is not None:
                    break
                stop_event.wait(poll_s)
                continue
            report.jobs.append(run_claimed(jobs, job, ctx.settings, engine,
                                           settings_error=ctx.settings_error, stop_event=stop_event))
            if job_id is not None:
                break
    finally:
        ledger.close()
    return report


def recover(ctx: JobContext, *, older_than_s: float, mode: str = "detached", config_path: Path | None = None,
            engine: Engine | None = None) -> dict[str, Any]:
    """Mark stuck jobs and start them again: `detached` (one background worker each),
    `foreground` (here, one after another) or `mark` (only mark them; a worker picks them up)."""
    if mode not in ("detached", "foreground", "mark"):
        raise ValueError(f"unknown recover mode {mode!r}")
    ledger = Ledger(ctx.ledger_path)
    jobs = JobStore(ledger)
    try:
        marked = mark_stuck_jobs(jobs, older_than_s)
    finally:
        ledger.close()
    ids = [job["id"] for job in marked]
    outcome: dict[str, Any] = {"recovered": ids, "workers": {}, "jobs": []}
    for job_id in ids:
        if mode == "detached":
            outcome["workers"][str(job_id)] = start_detached_worker(config_path, ctx.ledger_path, job_id)
        elif mode == "foreground":
            final = run_job(ctx.ledger_path, job_id, ctx.settings, engine, settings_error=ctx.settings_error)
            if final is not None:
                outcome["jobs"].append(final)
    return outcome
