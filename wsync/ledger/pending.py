"""Writes in flight: batches sent to the store whose answer has not been seen yet.

A batch endpoint has no transaction, and PHP does not stop when its client goes: a request
whose worker was killed, timed out or lost its connection may still be saving items seconds
later (recordings/27). Sending the same creates again meanwhile makes the same SKU twice, since
WooCommerce's SKU check and its insert are separate steps. So every write that could land twice
(creates, image downloads) is written here, committed, before it is sent, and removed once its
answer is in. A row that outlives its worker is settled by the next one (wsync.sync.settle).
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import Any

from wsync.ledger.db import Ledger, now_iso
from wsync.ledger.jobs import pid_alive
from wsync.redact import redact


@dataclass(frozen=True)
class PendingWrite:
    id: int
    job_id: int | None
    feed: str
    kind: str  # product | variation | image
    endpoint: str
    parent_id: int | None
    items: list[dict[str, Any]]
    worker_pid: int | None
    worker_host: str | None
    sent_at: str
    sent_epoch: float

    def worker_gone(self) -> bool:
        """True when the process that sent it cannot still be waiting for its answer."""
        if self.worker_host != socket.gethostname():
            # Another machine's worker: this one cannot see it, so it trusts the deadline alone.
            return True
        return not pid_alive(self.worker_pid)


class PendingWrites:
    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def add(self, *, job_id: int | None, feed: str, kind: str, endpoint: str, parent_id: int | None,
            items: list[dict[str, Any]], pid: int, host: str) -> int:
        text = redact(json.dumps(items, ensure_ascii=False, separators=(",", ":")))
        with self.ledger.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO pending_writes (job_id, feed, kind, endpoint, parent_id, items, worker_pid, worker_host,"
                " sent_at, sent_epoch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, feed, kind, endpoint, parent_id, text, pid, host, now_iso(), time.time()))
            return int(cur.lastrowid or 0)

    def remove(self, row_id: int) -> None:
        with self.ledger.transaction() as conn:
            conn.execute("DELETE FROM pending_writes WHERE id = ?", (int(row_id),))

    def for_feed(self, feed: str) -> list[PendingWrite]:
        rows = self.ledger.conn.execute("SELECT * FROM pending_writes WHERE feed = ? ORDER BY id", (feed,)).fetchall()
        return [_from_row(r) for r in rows]

    def for_job(self, job_id: int) -> list[PendingWrite]:
        rows = self.ledger.conn.execute("SELECT * FROM pending_writes WHERE job_id = ? ORDER BY id",
                                        (int(job_id),)).fetchall()
        return [_from_row(r) for r in rows]

    def orphaned(self, feed: str) -> list[PendingWrite]:
        """The feed's writes whose worker is gone, or no longer holds their job (a reused pid
        must not hide a dead worker): left for whoever runs the feed next."""
        holders = {int(r["id"]): (r["status"], r["worker_pid"]) for r in self.ledger.conn.execute(
            "SELECT id, status, worker_pid FROM background_jobs WHERE id IN"
            " (SELECT DISTINCT job_id FROM pending_writes WHERE feed = ?)", (feed,)).fetchall()}
        out = []
        for write in self.for_feed(feed):
            status, pid = holders.get(write.job_id or -1, (None, None))
            held = status == "running" and pid == write.worker_pid
            if write.worker_gone() or not held:
                out.append(write)
        return out


def _from_row(row: Any) -> PendingWrite:
    try:
        items = json.loads(row["items"] or "[]")
    except ValueError:
        items = []
    return PendingWrite(id=int(row["id"]), job_id=row["job_id"], feed=row["feed"], kind=row["kind"],
                        endpoint=row["endpoint"], parent_id=row["parent_id"],
                        items=items if isinstance(items, list) else [],
                        worker_pid=row["worker_pid"], worker_host=row["worker_host"], sent_at=row["sent_at"],
                        sent_epoch=float(row["sent_epoch"]))
