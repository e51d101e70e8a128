"""Run one claimed job: heartbeat while the engine works, then record how it ended.

The engine (wsync.sync.engine.run_import / run_images) does the work and keeps progress,
per-item errors and checkpoints in the ledger; the runner owns the job's life cycle around it:
claim, heartbeat, cancel, and the final state. A job-level failure ends as `failed` with a
redacted one-line message, never a traceback in the ledger.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from wsync.errors import UsageError, WsyncError
from wsync.ledger import Ledger
from wsync.ledger.jobs import JobStore
from wsync.redact import redact

if TYPE_CHECKING:
    from wsync.config import Settings
    from wsync.sync.run import Progress

log = logging.getLogger("wsync.jobs")

HEARTBEAT_INTERVAL_S = 2.0


class Engine(Protocol):
    """What runs a claimed job: wsync.sync.engine.run_import or run_images (or a stand-in with the
    same contract). It reports progress, item errors and checkpoints through `jobs`, polls
    `should_stop` between batches, and returns the job's result document."""

    def __call__(self, job_id: int, *, ledger: Ledger, settings: Settings | None, jobs: JobStore,
                 should_stop: Callable[[], bool]) -> dict[str, Any]: ...


_ENGINE_FUNCTIONS = {"import": "run_import", "images": "run_images", "undo": "run_undo"}
# Kinds whose engine lives in a module of its own (the rest are in wsync.sync.engine).
_ENGINE_MODULES = {"undo": "wsync.sync.undo"}


def resolve_engine(kind: str) -> Engine:
    """The engine function for a job kind, looked up when a job runs (not at import time), so
    the worker starts even where the engine cannot be imported and reports that per job."""
    name = _ENGINE_FUNCTIONS.get(kind)
    if name is None:
        raise UsageError(f"unknown job kind {kind!r}: expected one of {', '.join(_ENGINE_FUNCTIONS)}")
    try:
        import importlib

        sync_engine = importlib.import_module(_ENGINE_MODULES.get(kind, "wsync.sync.engine"))
    except ImportError as exc:
        raise WsyncError(f"the import engine cannot be loaded: {exc}") from exc
    function: Engine | None = getattr(sync_engine, name, None)
    if function is None:
        raise WsyncError(f"the import engine has no {name}(): this installation is incomplete")
    return function


def worker_identity() -> tuple[int, str]:
    return os.getpid(), socket.gethostname()


class _Heartbeat(threading.Thread):
    """Beats every few seconds on its own connection; turns a cancel request (or losing the job
    to another worker) into the engine's should_stop."""

    def __init__(self, jobs: JobStore, job_id: int, pid: int, interval: float):
        super().__init__(name=f"wsync-heartbeat-{job_id}", daemon=True)
        self.jobs, self.job_id, self.pid, self.interval = jobs, job_id, pid, interval
        self.done = threading.Event()
        self.stop_requested = threading.Event()
        self.cancelled = threading.Event()
        self.lost = threading.Event()

    def beat(self) -> None:
        try:
            if self.jobs.heartbeat(self.job_id, self.pid):
                if self.jobs.cancel_requested(self.job_id):
                    if not self.cancelled.is_set():
                        log.info("job %s: cancel requested; stopping after the current batch", self.job_id)
                    self.cancelled.set()
                else:
                    if not self.lost.is_set():
                        log.warning("job %s is no longer held by worker %s; stopping", self.job_id, self.pid)
                    self.lost.set()
                self.stop_requested.set()
        except Exception as exc:  # a busy or briefly unwritable ledger must not kill the job
            log.warning("job %s: heartbeat failed: %s", self.job_id, redact(exc))

    def run(self) -> None:
        try:
            while not self.done.wait(self.interval):
                self.beat()
        finally:
            self.jobs.ledger.close()  # this thread's connection


def run_claimed(jobs: JobStore, job: dict[str, Any], settings: Settings | None, engine: Engine | None = None, *,
                settings_error: WsyncError | None = None, stop_event: threading.Event | None = None,
                heartbeat_interval: float | None = None) -> dict[str, Any]:
    """Run a job this process has already claimed and record its outcome. Returns the final row.

    stop_event is the worker's own stop signal (SIGTERM): the job then stops after its batch and
    goes back to processing_stuck, to be resumed from its checkpoint by the next worker."""
    job_id = int(job["id"])
    pid = os.getpid()
    heart = _Heartbeat(jobs, job_id, pid, heartbeat_interval or HEARTBEAT_INTERVAL_S)
    heart.beat()  # a cancel that arrived between claim and start is seen before the first batch
    heart.start()

    def should_stop() -> bool:
        return heart.stop_requested.is_set() or (stop_event is not None and stop_event.is_set())

    log.info("job %s (%s, feed %s) started by worker %s, attempt %s",
             job_id, job.get("kind"), job.get("feed"), pid, job.get("attempts"))
    try:
        if engine is None:
            if settings is None and settings_error is not None:
                raise settings_error
            engine = resolve_engine(job.get("kind") or "import")
        result = engine(job_id, ledger=jobs.ledger, settings=settings, jobs=jobs, should_stop=should_stop)
    except KeyboardInterrupt:
        if stop_event is not None and stop_event.is_set():
            # A worker aborted while stopping: the job itself was not cancelled, so it resumes later.
            jobs.mark_stuck(job_id, "the worker was aborted mid-batch; the job resumes from its checkpoint",
                            only_if_pid=pid)
        else:
            # Ctrl-C on a foreground import: the user meant to stop this job.
            jobs.add_message(job_id, "interrupted from the terminal")
            jobs.finish(job_id, "cancelled", {"stopped": True, "reason": "interrupted"}, only_if_pid=pid)
        raise
    except Exception as exc:
        if isinstance(exc, WsyncError):
            message = redact(str(exc))
        else:
            message = redact(f"internal error: {type(exc).__name__}: {exc}")
            log.error("job %s failed with an internal error", job_id, exc_info=True)
        log.error("job %s failed: %s", job_id, message)
        jobs.add_message(job_id, message)
        jobs.finish(job_id, "failed", {"error": message, "error_type": type(exc).__name__}, only_if_pid=pid)
    else:
        _record_outcome(jobs, job_id, pid, result if isinstance(result, dict) else {}, heart, should_stop())
    finally:
        heart.done.set()
        heart.join(timeout=5)
    return jobs.get(job_id) or job


def _record_outcome(jobs: JobStore, job_id: int, pid: int, result: dict[str, Any], heart: _Heartbeat,
                    stopping: bool) -> None:
    if heart.lost.is_set():
        log.warning("job %s was taken over by another worker; leaving its outcome to that worker", job_id)
        return
    # The engine says whether it stopped early; an engine that does not say is judged by
    # whether a stop was requested while it ran.
    stopped = bool(result.get("stopped", result.get("cancelled", stopping)))
    if not stopped:
        jobs.finish(job_id, "completed", result, only_if_pid=pid)
        log.info("job %s completed", job_id)
    elif heart.cancelled.is_set() or jobs.cancel_requested(job_id):
        jobs.add_message(job_id, "cancelled on request; finished batches are kept")
        jobs.finish(job_id, "cancelled", result, only_if_pid=pid)
        log.info("job %s cancelled", job_id)
    else:
        jobs.mark_stuck(job_id, "the worker was stopped before the job ended; it resumes from its checkpoint",
                        only_if_pid=pid)
        log.info("job %s paused for resume (worker stopping)", job_id)


def run_job(ledger_path: str | os.PathLike[str], job_id: int, settings: Settings | None,
            engine: Engine | None = None, *, settings_error: WsyncError | None = None,
            stop_event: threading.Event | None = None) -> dict[str, Any] | None:
    """Claim one job and run it to its end. None when the job is not waiting (another worker has
    it, or it already ended); raises ConfigError when it does not exist."""
    ledger = Ledger(Path(ledger_path))
    jobs = JobStore(ledger)
    try:
        if jobs.get(job_id) is None:
            raise UsageError(f"job {job_id} does not exist in the ledger {ledger_path}")
        pid, host = worker_identity()
        job = jobs.claim(job_id, worker_pid=pid, worker_host=host)
        if job is None:
            return None
        return run_claimed(jobs, job, settings, engine, settings_error=settings_error, stop_event=stop_event)
    finally:
        ledger.close()


def run_in_process(settings: Settings, job_data: dict[str, Any], *,
                   progress: Progress | None = None) -> tuple[int, dict[str, Any], JobStore]:
    """Run an import job in this process (`wsync import` in the foreground, `wsync demo`), created
    and claimed like any job, so it is recorded, resumable and cancellable the same way.
    Returns (job id, final row, the JobStore it is recorded in)."""
    from wsync.sync.engine import run_import

    jobs = JobStore(Ledger(settings.ledger_path))
    job_id = jobs.create(kind="import", feed=job_data.get("feed") or job_data.get("source"), job_data=job_data)
    engine = functools.partial(run_import, progress=progress)
    return job_id, run_here(jobs, job_id, settings, engine), jobs


def run_here(jobs: JobStore, job_id: int, settings: Settings | None, engine: Engine | None = None) -> dict[str, Any]:
    """Claim a scheduled job for this process and run it to its end; its final row. A job another
    worker claimed first is theirs: WsyncError, nothing run twice."""
    pid, host = worker_identity()
    job = jobs.claim(job_id, worker_pid=pid, worker_host=host)
    if job is None:
        raise WsyncError(f"job {job_id} was claimed by another worker before it could start here")
    return run_claimed(jobs, job, settings, engine)
