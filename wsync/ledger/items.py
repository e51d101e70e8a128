"""What the ledger knows about the store: feed key -> store id, source URL -> attachment, term ids.

These maps are what make a second run cheap: an item whose content hash matches what was last
pushed sends nothing, an image URL seen before is referenced by attachment id, a category path
resolved once is never looked up again.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from wsync.ledger.db import Ledger, now_iso
from wsync.ledger.history import Change, JobChanges
from wsync.redact import redact


class ItemRecord:
    """One item as the ledger knows it. `pushed` (the last pushed fields) is decoded only when
    read: an unchanged item is recognised by its hash alone, and a large catalogue has many."""

    __slots__ = (
        "_pushed",
        "hash",
        "image_urls",
        "images",
        "images_hash",
        "key",
        "kind",
        "last_action",
        "last_job_id",
        "missing_action",
        "parent_id",
        "parent_key",
        "pushed_json",
        "sku",
        "store_id",
    )

    def __init__(self, kind: str, key: str, sku: str | None = None, store_id: int | None = None,
                 parent_key: str | None = None, parent_id: int | None = None,
                 pushed: dict[str, Any] | None = None, hash: str | None = None, images: list[int] | None = None,
                 images_hash: str | None = None, missing_action: str | None = None,
                 last_job_id: int | None = None, last_action: str | None = None, pushed_json: str | None = None,
                 image_urls: list[str] | None = None):
        self.kind, self.key, self.sku, self.store_id = kind, key, sku, store_id
        self.parent_key, self.parent_id = parent_key, parent_id
        self._pushed = pushed if pushed is not None or pushed_json else {}
        self.pushed_json = pushed_json if pushed is None else None
        self.hash, self.images, self.images_hash = hash, images, images_hash
        self.missing_action, self.last_job_id, self.last_action = missing_action, last_job_id, last_action
        self.image_urls = image_urls  # the source URLs the feed wants on it, in order (None: not known yet)

    @property
    def pushed(self) -> dict[str, Any]:
        if self._pushed is None:
            self._pushed = json.loads(self.pushed_json) if self.pushed_json else {}
        return self._pushed

    @pushed.setter
    def pushed(self, value: dict[str, Any]) -> None:
        self._pushed = value
        self.pushed_json = None

    def pushed_text(self) -> str | None:
        if self._pushed is None:
            return self.pushed_json
        return json.dumps(self._pushed, sort_keys=True) if self._pushed else None

    def __repr__(self) -> str:
        return f"ItemRecord({self.kind!r}, {self.key!r}, sku={self.sku!r}, store_id={self.store_id!r})"


# Keys per `IN (...)` list: well under SQLite's limit on bound parameters.
_IN_CHUNK = 500


def _record(row: Any) -> ItemRecord:
    return ItemRecord(
        kind=row["kind"], key=row["key"], sku=row["sku"], store_id=row["store_id"],
        parent_key=row["parent_key"], parent_id=row["parent_id"],
        pushed_json=row["pushed"], hash=row["hash"],
        images=json.loads(row["images"]) if row["images"] else None,
        images_hash=row["images_hash"], missing_action=row["missing_action"],
        last_job_id=row["last_job_id"], last_action=row["last_action"],
        image_urls=json.loads(row["image_urls"]) if row["image_urls"] else None,
    )


class ItemMap:
    """The items of one feed, loaded once per job and written back batch by batch."""

    def __init__(self, ledger: Ledger, feed: str):
        self.ledger = ledger
        self.feed = feed

    def load(self) -> dict[tuple[str, str], ItemRecord]:
        """Every item of the feed (what a small job, or `images process`, works from)."""
        rows = self.ledger.conn.execute("SELECT * FROM items WHERE feed = ?", (self.feed,)).fetchall()
        out: dict[tuple[str, str], ItemRecord] = {}
        for row in rows:
            rec = _record(row)
            out[(rec.kind, rec.key)] = rec
        return out

    def load_for(self, product_keys: list[str], variation_keys: list[str]) -> dict[tuple[str, str], ItemRecord]:
        """The records one window of products needs: the products, their feed variations, and
        every variation the ledger files under them (the stale ones among them too). A window at
        a time, a ledger of millions of items is never read whole."""
        out: dict[tuple[str, str], ItemRecord] = {}
        conn = self.ledger.conn
        queries = (("SELECT * FROM items WHERE feed = ? AND kind = 'product' AND key IN ({})", product_keys),
                   ("SELECT * FROM items WHERE feed = ? AND kind = 'variation' AND key IN ({})", variation_keys),
                   ("SELECT * FROM items WHERE feed = ? AND kind = 'variation' AND parent_key IN ({})", product_keys))
        for sql, keys in queries:
            for start in range(0, len(keys), _IN_CHUNK):
                chunk = keys[start:start + _IN_CHUNK]
                for row in conn.execute(sql.format(",".join("?" * len(chunk))), (self.feed, *chunk)):
                    rec = _record(row)
                    out.setdefault((rec.kind, rec.key), rec)
        return out

    def iter_records(self, kind: str | None = None) -> Iterator[ItemRecord]:
        """The feed's records one by one, from a cursor (never a list of them all)."""
        sql = "SELECT * FROM items WHERE feed = ?" + (" AND kind = ? ORDER BY key" if kind else "")
        cursor = self.ledger.conn.execute(sql, (self.feed, kind) if kind else (self.feed,))
        while True:
            rows = cursor.fetchmany(1000)
            if not rows:
                return
            for row in rows:
                yield _record(row)

    def save(self, records: Iterable[ItemRecord]) -> None:
        records = list(records)
        now = now_iso()
        rows = [
            (self.feed, r.kind, r.key, r.sku, r.store_id, r.parent_key, r.parent_id,
             r.pushed_text(), r.hash,
             json.dumps(r.images) if r.images is not None else None, r.images_hash,
             r.missing_action, r.last_job_id, r.last_action, now,
             json.dumps(r.image_urls) if r.image_urls is not None else None)
            for r in records
        ]
        if not rows:
            return
        with self.ledger.transaction() as conn:
            conn.executemany(
                """INSERT INTO items (feed, kind, key, sku, store_id, parent_key, parent_id, pushed, hash,
                                      images, images_hash, missing_action, last_job_id, last_action, updated_at,
                                      image_urls)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                   ON CONFLICT (feed, kind, key) DO UPDATE SET
                     sku=excluded.sku, store_id=excluded.store_id, parent_key=excluded.parent_key,
                     parent_id=excluded.parent_id, pushed=excluded.pushed, hash=excluded.hash,
                     images=excluded.images, images_hash=excluded.images_hash,
                     missing_action=excluded.missing_action, last_job_id=excluded.last_job_id,
                     last_action=excluded.last_action, updated_at=excluded.updated_at,
                     image_urls=excluded.image_urls""",
                rows,
            )
            # What a job created is noted with the item, in the same transaction: `wsync undo`
            # deletes exactly these (wsync.ledger.history).
            JobChanges(self.ledger).record(
                [Change(int(r.last_job_id), r.kind, int(r.store_id), "created", parent_id=r.parent_id, feed=self.feed,
                        key=r.key, sku=r.sku)
                 for r in records if r.last_action == "created" and r.last_job_id is not None and r.store_id],
                conn=conn)

    def delete(self, kind: str, keys: Iterable[str]) -> None:
        keys = list(keys)
        if not keys:
            return
        with self.ledger.transaction() as conn:
            conn.executemany("DELETE FROM items WHERE feed=? AND kind=? AND key=?",
                             [(self.feed, kind, k) for k in keys])

    def count(self, kind: str = "product") -> int:
        return int(self.ledger.conn.execute(
            "SELECT COUNT(*) FROM items WHERE feed=? AND kind=? AND store_id IS NOT NULL", (self.feed, kind)
        ).fetchone()[0])


class ImageMap:
    """Normalised source URL -> attachment id on the store, and URLs that failed to download."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def load(self) -> dict[str, tuple[int, str | None]]:
        rows = self.ledger.conn.execute("SELECT url, attachment_id, store_src FROM images").fetchall()
        return {r["url"]: (r["attachment_id"], r["store_src"]) for r in rows}

    def save(self, entries: Iterable[tuple[str, int, str | None]]) -> None:
        now = now_iso()
        rows = [(url, att, src, now) for url, att, src in entries]
        if not rows:
            return
        with self.ledger.transaction() as conn:
            conn.executemany(
                """INSERT INTO images (url, attachment_id, store_src, created_at) VALUES (?,?,?,?)
                   ON CONFLICT (url) DO UPDATE SET attachment_id=excluded.attachment_id,
                   store_src=excluded.store_src""",
                rows,
            )
            conn.executemany("DELETE FROM image_failures WHERE url=?", [(r[0],) for r in rows])

    def forget(self, urls: Iterable[str]) -> None:
        with self.ledger.transaction() as conn:
            conn.executemany("DELETE FROM images WHERE url=?", [(u,) for u in urls])

    def failures(self) -> dict[str, dict[str, Any]]:
        rows = self.ledger.conn.execute("SELECT * FROM image_failures").fetchall()
        return {r["url"]: dict(r) for r in rows}

    def record_failure(self, url: str, code: str | None, message: str, *, permanent: bool = True) -> None:
        with self.ledger.transaction() as conn:
            conn.execute(
                """INSERT INTO image_failures (url, code, message, attempts, failed_at, permanent) VALUES (?,?,?,1,?,?)
                   ON CONFLICT (url) DO UPDATE SET code=excluded.code, message=excluded.message,
                   attempts=image_failures.attempts+1, failed_at=excluded.failed_at,
                   permanent=excluded.permanent""",
                (url, code, redact(message)[:1000], now_iso(), int(permanent)),
            )


class TermCache:
    """Category paths, tag names and global attributes/terms already resolved to store ids."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def load(self, kind: str) -> dict[str, int]:
        rows = self.ledger.conn.execute("SELECT key, store_id FROM terms WHERE kind=?", (kind,)).fetchall()
        return {r["key"]: r["store_id"] for r in rows}

    def save(self, kind: str, key: str, store_id: int) -> None:
        with self.ledger.transaction() as conn:
            conn.execute(
                "INSERT INTO terms (kind, key, store_id) VALUES (?,?,?) "
                "ON CONFLICT (kind, key) DO UPDATE SET store_id=excluded.store_id",
                (kind, key, store_id),
            )

    def forget(self, kind: str, key: str) -> None:
        with self.ledger.transaction() as conn:
            conn.execute("DELETE FROM terms WHERE kind=? AND key=?", (kind, key))


class FeedStateStore:
    """Conditional-fetch validators and the last good record count of each feed."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger

    def get(self, feed: str) -> dict[str, Any] | None:
        row = self.ledger.conn.execute("SELECT * FROM feed_state WHERE feed=?", (feed,)).fetchone()
        return dict(row) if row else None

    def record_success(self, feed: str, *, source: str | None, count: int | None,
                       validators: dict[str, Any] | None = None) -> None:
        """A run that read the feed to the end: its record count for the shrink guard, and with
        `validators` (etag, last_modified, digest, fingerprint and the counts it found: only from
        a run that left nothing undone) what lets the next run find the feed unchanged. Without
        them they are cleared."""
        v = validators or {}
        counts = json.dumps(v["counts"]) if v.get("counts") is not None else None
        with self.ledger.transaction() as conn:
            conn.execute(
                """INSERT INTO feed_state (feed, source, etag, last_modified, digest, fingerprint, last_counts,
                                           last_count, last_success_at)
                   VALUES (?,?,?,?,?,?,?,?,?)
                   ON CONFLICT (feed) DO UPDATE SET source=excluded.source, etag=excluded.etag,
                   last_modified=excluded.last_modified, digest=excluded.digest, fingerprint=excluded.fingerprint,
                   last_counts=excluded.last_counts,
                   last_count=COALESCE(excluded.last_count, feed_state.last_count),
                   last_success_at=excluded.last_success_at""",
                (feed, redact(source) if source else None, v.get("etag"), v.get("last_modified"), v.get("digest"),
                 v.get("fingerprint"), counts, count, now_iso()),
            )
