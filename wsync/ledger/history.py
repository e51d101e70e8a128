"""What each job changed on the store: the ledger's side of `wsync undo`.

For every item a job updates, the fields it changed are kept as they were before the write
(`before`) and as the job wrote them (`after`); what the job created (products, variations,
terms, attachments it made the store download) is kept too. A before-image is written, and
committed, before the request that overwrites it is sent, and never overwritten by a later
attempt of the same job (INSERT OR IGNORE): a resumed job whose first attempt's write landed
unseen must not take its own values for the old ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wsync.ledger.db import Ledger, now_iso

ITEM_KINDS = ("product", "variation")
TERM_KINDS = ("category", "attribute", "shipping_class")


@dataclass
class Change:
    job_id: int
    kind: str
    store_id: int
    action: str  # created | updated
    parent_id: int | None = None
    feed: str | None = None
    key: str | None = None
    sku: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    undone_by: int | None = None
    outcome: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _loads(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _dumps(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


_INSERT = ("INSERT OR IGNORE INTO job_changes (job_id, kind, store_id, action, parent_id, feed, key, sku, before,"
           " after, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)")


class JobChanges:
    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    # -- recording -----------------------------------------------------------------------
    def rows(self, changes: Iterable[Change]) -> list[tuple[Any, ...]]:
        now = now_iso()
        return [(int(c.job_id), c.kind, int(c.store_id), c.action, c.parent_id, c.feed, c.key, c.sku,
                 _dumps(c.before), _dumps(c.after), now) for c in changes]

    def record(self, changes: Iterable[Change], conn: Any = None) -> None:
        rows = self.rows(changes)
        if not rows:
            return
        if conn is not None:
            conn.executemany(_INSERT, rows)
            return
        with self.ledger.transaction() as tx:
            tx.executemany(_INSERT, rows)

    def record_created(self, job_id: int | None, kind: str, store_id: int, *, key: str | None = None,
                       parent_id: int | None = None, feed: str | None = None, sku: str | None = None) -> None:
        if job_id is None:
            return
        self.record([Change(int(job_id), kind, int(store_id), "created", parent_id=parent_id, feed=feed, key=key,
                            sku=sku)])

    # -- reading -------------------------------------------------------------------------
    def for_job(self, job_id: int) -> list[Change]:
        rows = self.ledger.conn.execute("SELECT * FROM job_changes WHERE job_id=? ORDER BY rowid",
                                        (int(job_id),)).fetchall()
        return [Change(job_id=r["job_id"], kind=r["kind"], store_id=r["store_id"], action=r["action"],
                       parent_id=r["parent_id"], feed=r["feed"], key=r["key"], sku=r["sku"],
                       before=_loads(r["before"]), after=_loads(r["after"]), undone_by=r["undone_by"],
                       outcome=r["outcome"]) for r in rows]

    def count(self, job_id: int) -> int:
        return int(self.ledger.conn.execute("SELECT COUNT(*) FROM job_changes WHERE job_id=?",
                                            (int(job_id),)).fetchone()[0])

    def undone(self, job_id: int, outcomes: Iterable[tuple[Change, str]], undo_job: int) -> None:
        """Mark changes an undo has dealt with (one transaction per batch)."""
        rows = [(int(undo_job), outcome, int(job_id), c.kind, int(c.store_id)) for c, outcome in outcomes]
        if not rows:
            return
        with self.ledger.transaction() as conn:
            conn.executemany("UPDATE job_changes SET undone_by=?, outcome=? WHERE job_id=? AND kind=? AND store_id=?",
                             rows)

    def reopen(self, job_id: int) -> None:
        """An undo of this job was itself undone: its changes stand again, ready to be undone."""
        with self.ledger.transaction() as conn:
            conn.execute("UPDATE job_changes SET undone_by=NULL, outcome=NULL WHERE job_id=?", (int(job_id),))

    def attachment_in_use(self, attachment_id: int) -> bool:
        """True when any item the ledger knows still shows this attachment."""
        like = f"%{int(attachment_id)}%"
        for row in self.ledger.conn.execute("SELECT images FROM items WHERE images LIKE ?", (like,)):
            try:
                if int(attachment_id) in (json.loads(row[0]) or []):
                    return True
            except (TypeError, ValueError):
                continue
        return False


def mark_job_undone(ledger: Ledger, job_id: int, undo_job: int | None) -> None:
    with ledger.transaction() as conn:
        conn.execute("UPDATE background_jobs SET undone_by=? WHERE id=?", (undo_job, int(job_id)))


def get_meta(ledger: Ledger, name: str) -> Any:
    row = ledger.conn.execute("SELECT value FROM ledger_meta WHERE name=?", (name,)).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def set_meta(ledger: Ledger, name: str, value: Any, conn: Any = None) -> None:
    sql = ("INSERT INTO ledger_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value=excluded.value")
    args = (name, None if value is None else json.dumps(value))
    if conn is not None:
        conn.execute(sql, args)
        return
    with ledger.transaction() as tx:
        tx.execute(sql, args)
