"""Background jobs: the runner around the import engine, the worker, detached start, recovery."""

from wsync.jobs.detached import schedule_import, start_detached_worker
from wsync.jobs.durations import parse_duration
from wsync.jobs.runner import run_claimed, run_job
from wsync.jobs.worker import mark_stuck_jobs, recover, work

__all__ = ["mark_stuck_jobs", "parse_duration", "recover", "run_claimed", "run_job", "schedule_import",
           "start_detached_worker", "work"]
