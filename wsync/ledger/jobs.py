"""Jobs in the ledger: create, claim, heartbeat, progress, per-item errors, checkpoints, finish.

Every state change that two processes could race on (claiming, cancelling, finishing, marking
stuck) is one conditional UPDATE inside BEGIN IMMEDIATE, so two workers never run one job and a
late writer never overwrites a newer state. Everything written passes through redact().
"""

from __future__ import annotations

import builtins
import json
import os
import socket
import sqlite3
from datetime import UTC, datetime
from typing import Any

from wsync.ledger.db import Ledger, now_iso
from wsync.redact import redact

ACTIVE = ("scheduled", "running", "processing_stuck")
CLAIMABLE = ("scheduled", "processing_stuck")
TERMINAL = ("completed", "failed", "cancelled")
STATUSES = ACTIVE + TERMINAL

MAX_MESSAGE_CHARS = 2000
MAX_JOB_MESSAGES = 200
# A job whose worker died this many times in a row without the job advancing (no item or
# checkpoint saved) is not retried again: something in it kills workers.
MAX_ATTEMPTS = 5

_JSON_COLUMNS = ("job_data", "error_messages", "result", "checkpoint")
_PROGRESS_COLUMNS = {
    "progress": "progress",
    "processed": "total_processed",
    "created": "total_created",
    "updated": "total_updated",
    "unchanged": "total_unchanged",
    "errors": "total_errors",
    "images_scheduled": "images_scheduled",
}


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def pid_alive(pid: int | None) -> bool:
    """True when a process with this pid exists on this host and is not a zombie."""
    if not pid or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            # state is the field after the parenthesised command name
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def _progress_mark(row: Any) -> str:
    """What changes whenever a job advances: the engine saves a checkpoint after every batch."""
    return f"{row['total_processed']}|{row['checkpoint'] or ''}"


def _clean(text: object) -> str:
    s = redact(text)
    if len(s) > MAX_MESSAGE_CHARS:
        s = s[: MAX_MESSAGE_CHARS - 1] + "…"
    return s


def _dumps(value: Any) -> str:
    # The redaction pass covers the serialised form, so a secret nested anywhere is scrubbed too.
    return redact(json.dumps(value, ensure_ascii=False, default=str))


def _row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return None if row is None else _doc(row)


def _doc(row: sqlite3.Row) -> dict[str, Any]:
    """A job row as a document: its JSON columns decoded."""
    doc = dict(row)
    for column in _JSON_COLUMNS:
        raw = doc.get(column)
        if raw is None:
            continue
        try:
            doc[column] = json.loads(raw)
        except (TypeError, ValueError):
            doc[column] = raw
    doc["cancel_requested"] = bool(doc.get("cancel_requested"))
    return doc


class JobStore:
    # `list` below is a method: the signatures after it name the builtin as builtins.list.

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    @property
    def _conn(self) -> sqlite3.Connection:
        return self.ledger.conn

    # -- create / read -------------------------------------------------------------------
    def create(self, *, kind: str = "import", feed: str | None, job_data: dict[str, Any], status: str = "scheduled",
               estimated_total: int | None = None) -> int:
        if status not in STATUSES:
            raise ValueError(f"unknown job status {status!r}")
        now = now_iso()
        with self.ledger.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO background_jobs (kind, feed, job_data, status, estimated_total, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (kind, feed, _dumps(job_data or {}), status, estimated_total, now, now),
            )
            if cur.lastrowid is None:  # an INSERT always sets it
                raise RuntimeError("the ledger gave the new job no id")
            return cur.lastrowid

    def get(self, job_id: int) -> dict[str, Any] | None:
        return _row(self._conn.execute("SELECT * FROM background_jobs WHERE id = ?", (int(job_id),)).fetchone())

    def list(self, status: str | None = None, limit: int | None = 20) -> list[dict[str, Any]]:
        sql = "SELECT * FROM background_jobs"
        args: list[Any] = []
        if status:
            sql += " WHERE status = ?"
            args.append(status)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [_doc(r) for r in self._conn.execute(sql, args).fetchall()]

    # -- claiming and liveness -----------------------------------------------------------
    def claim(self, job_id: int | None = None, *, worker_pid: int, worker_host: str) -> dict[str, Any] | None:
        """Atomically move one scheduled|processing_stuck job to running for this worker."""
        now = now_iso()
        with self.ledger.transaction() as conn:
            while True:
                columns = "id, attempts, total_processed, checkpoint, claim_mark, progress_attempt"
                if job_id is None:
                    row = conn.execute(
                        f"SELECT {columns} FROM background_jobs WHERE status IN (?, ?) ORDER BY id LIMIT 1",
                        CLAIMABLE).fetchone()
                else:
                    row = conn.execute(
                        f"SELECT {columns} FROM background_jobs WHERE id = ? AND status IN (?, ?)",
                        (int(job_id), *CLAIMABLE)).fetchone()
                if row is None:
                    return None
                mark = _progress_mark(row)
                progress_attempt = row["progress_attempt"]
                if row["claim_mark"] is not None and row["claim_mark"] != mark:
                    progress_attempt = row["attempts"]  # the previous attempt advanced the job
                if row["attempts"] - progress_attempt >= MAX_ATTEMPTS:
                    self._append_message(conn, row["id"], f"gave up after {row['attempts']} attempts:"
                                         f" the worker stopped {row['attempts'] - progress_attempt} times in a row"
                                         " without the job advancing")
                    conn.execute("UPDATE background_jobs SET status='failed', completed_at=?, updated_at=?"
                                 " WHERE id=?", (now, now, row["id"]))
                    if job_id is not None:
                        return None
                    continue
                conn.execute(
                    "UPDATE background_jobs SET status='running', worker_pid=?, worker_host=?, heartbeat_at=?,"
                    " started_at=COALESCE(started_at, ?), attempts=attempts+1, updated_at=?, claim_mark=?,"
                    " progress_attempt=? WHERE id=?",
                    (int(worker_pid), worker_host, now, now, now, mark, progress_attempt, row["id"]))
                return _row(conn.execute("SELECT * FROM background_jobs WHERE id=?", (row["id"],)).fetchone())

    def heartbeat(self, job_id: int, worker_pid: int | None = None) -> bool:
        """Record that the worker is alive. True when the job should stop: a cancel was
        requested, or (given worker_pid) the job is no longer running under this worker."""
        now = now_iso()
        with self.ledger.transaction() as conn:
            row = conn.execute("SELECT status, cancel_requested, worker_pid FROM background_jobs WHERE id=?",
                               (int(job_id),)).fetchone()
            if row is None:
                return True
            held = row["status"] == "running" and (worker_pid is None or row["worker_pid"] == worker_pid)
            if held:
                conn.execute("UPDATE background_jobs SET heartbeat_at=? WHERE id=?", (now, int(job_id)))
            return bool(row["cancel_requested"]) or not held

    def cancel_requested(self, job_id: int) -> bool:
        row = self._conn.execute("SELECT cancel_requested FROM background_jobs WHERE id=?", (int(job_id),)).fetchone()
        return bool(row and row[0])

    # -- progress, errors, checkpoints ---------------------------------------------------
    def update_progress(self, job_id: int, *, progress: float | None = None, processed: int | None = None,
                        created: int | None = None, updated: int | None = None, unchanged: int | None = None,
                        errors: int | None = None, images_scheduled: int | None = None) -> None:
        values = {"progress": progress, "processed": processed, "created": created, "updated": updated,
                  "unchanged": unchanged, "errors": errors, "images_scheduled": images_scheduled}
        sets: list[str] = []
        args: list[Any] = []
        for name, value in values.items():
            if value is None:
                continue
            if name == "progress":
                value = max(0.0, min(100.0, float(value)))
            else:
                value = int(value)
            sets.append(f"{_PROGRESS_COLUMNS[name]}=?")
            args.append(value)
        if not sets:
            return
        sets.append("updated_at=?")
        args.extend([now_iso(), int(job_id)])
        with self.ledger.transaction() as conn:
            conn.execute(f"UPDATE background_jobs SET {', '.join(sets)} WHERE id=?", args)

    def add_error(self, job_id: int, *, sku: str | None, stage: str, code: str | None, message: str) -> None:
        with self.ledger.transaction() as conn:
            conn.execute(
                "INSERT INTO job_errors (job_id, sku, stage, code, message, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (int(job_id), None if sku is None else _clean(sku), stage, None if code is None else _clean(code),
                 _clean(message), now_iso()))

    def errors(self, job_id: int, limit: int | None = None) -> builtins.list[dict[str, Any]]:
        sql = "SELECT sku, stage, code, message, created_at FROM job_errors WHERE job_id=? ORDER BY id"
        args = [int(job_id)]
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [dict(r) for r in self._conn.execute(sql, args).fetchall()]

    def error_count(self, job_id: int) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM job_errors WHERE job_id=?", (int(job_id),)).fetchone()[0])

    def _append_message(self, conn: sqlite3.Connection, job_id: int, message: str) -> None:
        raw = conn.execute("SELECT error_messages FROM background_jobs WHERE id=?", (int(job_id),)).fetchone()
        if raw is None:
            return
        try:
            messages = json.loads(raw[0] or "[]")
        except ValueError:
            messages = []
        messages.append(_clean(message))
        # Keep the first message (usually the cause) and the most recent ones.
        if len(messages) > MAX_JOB_MESSAGES:
            messages = messages[:1] + messages[-(MAX_JOB_MESSAGES - 1):]
        conn.execute("UPDATE background_jobs SET error_messages=?, updated_at=? WHERE id=?",
                     (json.dumps(messages, ensure_ascii=False), now_iso(), int(job_id)))

    def add_message(self, job_id: int, message: str) -> None:
        with self.ledger.transaction() as conn:
            self._append_message(conn, job_id, message)

    def save_checkpoint(self, job_id: int, checkpoint: dict[str, Any]) -> None:
        with self.ledger.transaction() as conn:
            conn.execute("UPDATE background_jobs SET checkpoint=?, updated_at=? WHERE id=?",
                         (_dumps(checkpoint), now_iso(), int(job_id)))

    def get_checkpoint(self, job_id: int) -> dict[str, Any] | None:
        row = self._conn.execute("SELECT checkpoint FROM background_jobs WHERE id=?", (int(job_id),)).fetchone()
        if row is None or row[0] is None:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None

    # -- state changes -------------------------------------------------------------------
    def finish(self, job_id: int, status: str, result: dict[str, Any] | None = None, *,
               only_if_pid: int | None = None) -> bool:
        """Move the job to a terminal state. With only_if_pid, only while that worker still holds it
        (a worker whose job was taken over must not overwrite the new worker's outcome)."""
        if status not in TERMINAL:
            raise ValueError(f"finish() takes one of {TERMINAL}, not {status!r}")
        now = now_iso()
        sql = ("UPDATE background_jobs SET status=?, result=?, completed_at=?, updated_at=?,"
               " progress=CASE WHEN ?='completed' THEN 100 ELSE progress END WHERE id=?")
        args: list[Any] = [status, None if result is None else _dumps(result), now, now, status, int(job_id)]
        if only_if_pid is not None:
            sql += " AND status='running' AND worker_pid=?"
            args.append(int(only_if_pid))
        with self.ledger.transaction() as conn:
            return conn.execute(sql, args).rowcount == 1

    def request_cancel(self, job_id: int) -> bool:
        """A waiting job is cancelled at once; a running one is asked to stop after its current
        batch. False when the job does not exist or has already ended."""
        now = now_iso()
        with self.ledger.transaction() as conn:
            row = conn.execute("SELECT status FROM background_jobs WHERE id=?", (int(job_id),)).fetchone()
            if row is None or row["status"] in TERMINAL:
                return False
            if row["status"] in CLAIMABLE:
                conn.execute("UPDATE background_jobs SET status='cancelled', cancel_requested=1, completed_at=?,"
                             " updated_at=? WHERE id=?", (now, now, int(job_id)))
            else:
                conn.execute("UPDATE background_jobs SET cancel_requested=1, updated_at=? WHERE id=?",
                             (now, int(job_id)))
            return True

    def mark_stuck(self, job_id: int, reason: str, *, only_if_pid: int | None = None) -> bool:
        """scheduled|running -> processing_stuck, so the next worker resumes it from its checkpoint."""
        # A job already processing_stuck is touched again: the worker started for it never claimed it.
        sql = ("UPDATE background_jobs SET status='processing_stuck', updated_at=? WHERE id=? "
               "AND status IN ('scheduled','running','processing_stuck')")
        args: list[Any] = [now_iso(), int(job_id)]
        if only_if_pid is not None:
            sql += " AND worker_pid=?"
            args.append(int(only_if_pid))
        with self.ledger.transaction() as conn:
            changed = conn.execute(sql, args).rowcount == 1
            if changed:
                self._append_message(conn, job_id, reason)
            return changed

    def find_stuck(self, older_than_s: float, *, host: str | None = None) -> builtins.list[dict[str, Any]]:
        """Jobs to resume: scheduled for longer than the threshold, running under a worker that is
        gone (dead pid on this host) or silent (no heartbeat within the threshold), or marked
        stuck that long ago with no worker having taken them since."""
        host = host or socket.gethostname()
        now = datetime.now(UTC)
        stuck: list[dict[str, Any]] = []
        rows = self._conn.execute(
            "SELECT * FROM background_jobs WHERE status IN ('scheduled','running','processing_stuck') ORDER BY id"
        ).fetchall()
        for job in map(_doc, rows):
            if job["status"] == "processing_stuck":
                # Marked for resume, but the worker started for it died before claiming it.
                marked = parse_iso(job["updated_at"])
                if marked is None or (now - marked).total_seconds() >= older_than_s:
                    job["stuck_reason"] = "waiting to be resumed, but no worker has claimed it"
                    stuck.append(job)
                continue
            if job["status"] == "scheduled":
                created = parse_iso(job["created_at"])
                if created and (now - created).total_seconds() >= older_than_s:
                    waited = int((now - created).total_seconds())
                    job["stuck_reason"] = f"still scheduled after {waited} s: no worker took it"
                    stuck.append(job)
                continue
            if job["worker_host"] == host and not pid_alive(job["worker_pid"]):
                job["stuck_reason"] = f"worker {job['worker_pid']} on {host} is no longer running"
                stuck.append(job)
                continue
            beat = parse_iso(job["heartbeat_at"] or job["started_at"])
            if beat is None or (now - beat).total_seconds() >= older_than_s:
                age = "never" if beat is None else f"{int((now - beat).total_seconds())} s ago"
                job["stuck_reason"] = f"worker {job['worker_pid']} on {job['worker_host']} last reported {age}"
                stuck.append(job)
        return stuck

    def stats(self) -> dict[str, int]:
        row = self._conn.execute(
            "SELECT COUNT(*) AS total_jobs,"
            " SUM(status='scheduled') AS scheduled, SUM(status='running') AS running,"
            " SUM(status='processing_stuck') AS processing_stuck,"
            " SUM(status='completed') AS completed, SUM(status='failed') AS failed,"
            " SUM(status='cancelled') AS cancelled,"
            " SUM(total_processed) AS total_products_processed, SUM(total_created) AS total_products_created,"
            " SUM(total_updated) AS total_products_updated FROM background_jobs").fetchone()
        # A sqlite3.Row iterates its values, not its keys: keys() is needed here.
        return {key: int(row[key] or 0) for key in row.keys()}  # noqa: SIM118
