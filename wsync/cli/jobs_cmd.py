"""`wsync worker`, `wsync recover`, `wsync status` and `wsync jobs [cancel]`."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import typer

from wsync.cli import common
from wsync.errors import UsageError
from wsync.jobs import context as job_context
from wsync.jobs import render, report
from wsync.jobs.durations import parse_duration
from wsync.jobs.worker import DEFAULT_POLL_S, recover, work
from wsync.ledger import Ledger
from wsync.ledger.jobs import STATUSES, JobStore

LEDGER_HELP = "Ledger file (default: $WSYNC_LEDGER, else `ledger` from wsync.toml, else wsync.db)."

jobs_app = typer.Typer(help="List jobs (with stats), or cancel one.", invoke_without_command=True,
                       no_args_is_help=False)


def _context(ledger: Path | None) -> job_context.JobContext:
    return job_context.resolve(common.STATE.config, ledger)


def _open_existing(ctx: job_context.JobContext) -> Ledger:
    # Reading commands never create a ledger as a side effect of a mistyped path.
    if not ctx.ledger_path.exists():
        raise UsageError(f"no ledger at {ctx.ledger_path}",
                         hint="run from the directory holding wsync.toml, or pass --config / --ledger")
    return Ledger(ctx.ledger_path)


def _log_to_worker_file(ctx: job_context.JobContext) -> None:
    """Worker logs go to the private file beside the ledger. When stderr already is that file
    (a detached worker), the stderr handler is dropped so lines are not written twice."""
    log_path = ctx.worker_log
    common.setup_logging(common.STATE.verbose, log_file=log_path)
    try:
        same = os.path.samestat(os.fstat(sys.stderr.fileno()), os.stat(log_path))
    except (OSError, ValueError, AttributeError):
        same = False
    if same:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                root.removeHandler(handler)


def _stop_on_signals(stop: threading.Event) -> dict[signal.Signals, Any]:
    """SIGTERM/SIGINT: finish the current batch, leave the job to be resumed, exit.
    Returns the previous handlers, to be put back when the worker returns."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():  # a second signal: stop now
            raise KeyboardInterrupt
        logging.getLogger("wsync.jobs").warning("signal %s: stopping after the current batch", signum)
        common.err.print("stopping after the current batch (again to abort)")
        stop.set()

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in previous:
        signal.signal(sig, handler)
    return previous


def worker_cmd(
    once: bool = typer.Option(False, "--once", help="Run every job waiting now, then exit (default)."),
    loop: bool = typer.Option(False, "--loop", help="Keep polling for new jobs until stopped (SIGTERM/Ctrl-C)."),
    job: int | None = typer.Option(None, "--job", help="Run only this job (if it is still waiting)."),
    interval: str = typer.Option("2s", "--interval", help="With --loop: how often to look for new jobs."),
    stuck_after: str = typer.Option("5m", "--stuck-after",
                                    help="Jobs silent for this long are taken over (see `wsync recover`)."),
    ledger: Path | None = typer.Option(None, "--ledger", help=LEDGER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Run scheduled and stuck jobs (cron fallback: `* * * * * wsync worker --once`)."""
    if once and loop:
        raise UsageError("--once and --loop exclude each other")
    if loop and job is not None:
        raise UsageError("--job runs one job; it cannot be combined with --loop")
    poll_s = parse_duration(interval, option="--interval") or DEFAULT_POLL_S
    stuck_s = parse_duration(stuck_after, option="--stuck-after")
    ctx = _context(ledger)
    if job is not None and not ctx.ledger_path.exists():
        raise UsageError(f"no ledger at {ctx.ledger_path}", hint="pass --config or --ledger")
    _log_to_worker_file(ctx)
    if job is not None:
        check = Ledger(ctx.ledger_path)
        try:
            if JobStore(check).get(job) is None:
                raise UsageError(f"job {job} does not exist in the ledger {ctx.ledger_path}")
        finally:
            check.close()
    stop = threading.Event()
    previous = _stop_on_signals(stop)
    try:
        result = work(ctx, once=not loop, job_id=job, poll_s=poll_s, stuck_after_s=stuck_s, stop_event=stop)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    docs = [report.job_doc(j) for j in result.jobs]
    code = 0 if all(report.outcome_exit_code(d) == 0 for d in docs) else 1
    if as_json:
        common.emit_json({"success": code == 0, "recovered": result.recovered, "ran": len(docs), "jobs": docs})
    else:
        if not docs:
            common.out.print("no job waiting" if job is None
                             else f"job {job} is not waiting (another worker has it, or it ended)")
        for doc in docs:
            render.print_summary(common.out, doc)
    raise typer.Exit(code)


def recover_cmd(
    older_than: str = typer.Option("5m", "--older-than", help="Silent (or still scheduled) for this long: stuck."),
    foreground: bool = typer.Option(False, "--foreground", help="Resume the stuck jobs here, one after another."),
    no_run: bool = typer.Option(False, "--no-run", help="Only mark them processing_stuck; a worker resumes them."),
    ledger: Path | None = typer.Option(None, "--ledger", help=LEDGER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Resume jobs whose worker died or went silent, from their last checkpoint."""
    if foreground and no_run:
        raise UsageError("--foreground and --no-run exclude each other")
    seconds = parse_duration(older_than, option="--older-than")
    ctx = _context(ledger)
    outcome: dict[str, Any]
    if not ctx.ledger_path.exists():
        outcome = {"recovered": [], "workers": {}, "jobs": []}
    else:
        if foreground:
            _log_to_worker_file(ctx)
        mode = "foreground" if foreground else ("mark" if no_run else "detached")
        outcome = recover(ctx, older_than_s=seconds, mode=mode, config_path=common.STATE.config)
    doc = {"success": True, "message": "Stuck jobs check triggered", "recovered": outcome["recovered"],
           "workers": outcome["workers"]}
    if foreground:
        doc["jobs"] = [report.job_doc(j) for j in outcome["jobs"]]
    if as_json:
        common.emit_json(doc)
    elif outcome["recovered"]:
        common.out.print(f"resuming stuck jobs: {', '.join(map(str, outcome['recovered']))}"
                         + (" (marked only)" if no_run else ""))
    else:
        common.out.print("no stuck jobs")


def status_cmd(
    job_id: int = typer.Argument(..., help="The job id (from `wsync jobs` or `wsync import --background`)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Show live progress until the job ends; exit 0 only "
                                                                "if it completed with no item errors."),
    ledger: Path | None = typer.Option(None, "--ledger", help=LEDGER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Show a job: status, progress, counts, configuration and its first item errors."""
    jobs = JobStore(_open_existing(_context(ledger)))
    doc = report.status_doc(jobs, job_id)
    if follow:
        render.follow(common.err, lambda: report.status_doc(jobs, job_id)["job"])
        doc = report.status_doc(jobs, job_id)
    if as_json:
        common.emit_json(doc)
    else:
        render.print_summary(common.out, doc["job"])
    if follow:
        raise typer.Exit(report.outcome_exit_code(doc["job"]))


@jobs_app.callback()
def jobs_cmd(
    ctx: typer.Context,
    status: str | None = typer.Option(None, "--status", help=f"Only jobs in this state: {', '.join(STATUSES)}."),
    limit: int = typer.Option(20, "--limit", min=1, help="At most this many jobs, newest first."),
    ledger: Path | None = typer.Option(None, "--ledger", help=LEDGER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List recent jobs with duration and rate, and totals over all jobs."""
    if ctx.invoked_subcommand is not None:
        return
    if status is not None and status not in STATUSES:
        raise UsageError(f"--status: unknown state {status!r}", hint=f"one of {', '.join(STATUSES)}")
    job_ctx = _context(ledger)
    if job_ctx.ledger_path.exists():
        doc = report.list_doc(JobStore(Ledger(job_ctx.ledger_path)), status=status, limit=limit)
    else:  # no ledger yet: no jobs, and no file created by looking
        doc = {"success": True, "jobs": [], "stats": {k: 0 for k in (
            "total_jobs", "scheduled", "running", "processing_stuck", "completed", "failed", "cancelled",
            "total_products_processed", "total_products_created", "total_products_updated")}}
    if as_json:
        common.emit_json(doc)
    else:
        render.print_table(common.out, doc)


@jobs_app.command("cancel")
def cancel_cmd(
    job_id: int = typer.Argument(..., help="The job to cancel."),
    ledger: Path | None = typer.Option(None, "--ledger", help=LEDGER_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Cancel a job: a waiting one at once, a running one after its current batch."""
    jobs = JobStore(_open_existing(_context(ledger)))
    before = report.load_job(jobs, job_id)
    if not jobs.request_cancel(job_id):
        raise UsageError(f"job {job_id} already ended ({before['status']}): nothing to cancel")
    after = report.load_job(jobs, job_id)
    if after["status"] == "cancelled":
        message = f"job {job_id} cancelled"
    else:
        message = f"job {job_id} will stop after its current batch"
    doc = {"success": True, "message": message, "job_id": job_id, "status": after["status"],
           "cancel_requested": True}
    if as_json:
        common.emit_json(doc)
    else:
        common.out.print(message)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker_cmd)
    app.command("recover")(recover_cmd)
    app.command("status")(status_cmd)
    app.add_typer(jobs_app, name="jobs")
