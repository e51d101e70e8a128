"""Start a job in a worker process that outlives the terminal that asked for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from wsync.jobs.context import WORKER_LOG_NAME
from wsync.ledger import Ledger
from wsync.ledger.jobs import JobStore


def schedule_import(ledger: Ledger, feed: str | None, job_data: dict[str, Any], estimated_total: int | None = None, *,
                    kind: str = "import") -> int:
    """Record a job for a worker to run; job_data holds the job's options, never secrets."""
    return JobStore(ledger).create(kind=kind, feed=feed, job_data=job_data, estimated_total=estimated_total)


def worker_command(config_path: str | os.PathLike[str] | None, ledger_path: str | os.PathLike[str],
                   job_id: int | None) -> list[str]:
    command = [sys.executable, "-m", "wsync"]
    if config_path:
        command += ["--config", str(Path(config_path).resolve())]
    command += ["worker", "--once", "--ledger", str(Path(ledger_path).resolve())]
    if job_id is not None:
        command += ["--job", str(int(job_id))]
    return command


def start_detached_worker(config_path: str | os.PathLike[str] | None, ledger_path: str | os.PathLike[str],
                          job_id: int | None) -> int:
    """Spawn `wsync worker --once --job ID` in its own session and return its pid.

    Its own session: closing the terminal (SIGHUP to the foreground process group) does not
    reach it. Its stderr goes to the private worker log beside the ledger, so even a crash
    before logging is set up leaves a trace; stdin/stdout are /dev/null."""
    log_path = Path(ledger_path).resolve().parent / WORKER_LOG_NAME
    log_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log_path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
    try:
        process = subprocess.Popen(
            worker_command(config_path, ledger_path, job_id),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=fd,
            start_new_session=True, close_fds=True,
        )
    finally:
        os.close(fd)
    return process.pid
