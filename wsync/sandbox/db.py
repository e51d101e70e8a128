"""SQLite storage of the sandbox store: posts (products, variations, attachments), terms, attributes.

Each row keeps the indexed columns list queries need and the full document as JSON. One
connection, guarded by `lock`: every read and every write step holds it. A batch holds it item
by item and a create holds it for its checks and again for its insert, releasing it in between
while it sleeps its latency (pacing.py): as on a real store, readers see a batch land one item at
a time and concurrent creates of one new SKU can both be saved. With no latency a batch or a
create holds it from start to end.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from datetime import UTC, datetime

SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, parent_id INTEGER NOT NULL DEFAULT 0,
    type TEXT NOT NULL DEFAULT '', status TEXT NOT NULL DEFAULT 'publish', sku TEXT NOT NULL DEFAULT '',
    slug TEXT NOT NULL DEFAULT '', name TEXT NOT NULL DEFAULT '', date_created TEXT NOT NULL,
    date_modified TEXT NOT NULL, menu_order INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS posts_kind ON posts(kind, parent_id);
CREATE INDEX IF NOT EXISTS posts_sku ON posts(sku);
CREATE INDEX IF NOT EXISTS posts_slug ON posts(slug);
CREATE TABLE IF NOT EXISTS sku_lookup (sku TEXT PRIMARY KEY, product_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS terms (
    id INTEGER PRIMARY KEY, taxonomy TEXT NOT NULL, name TEXT NOT NULL, slug TEXT NOT NULL,
    parent INTEGER NOT NULL DEFAULT 0, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS terms_tax ON terms(taxonomy, slug);
CREATE TABLE IF NOT EXISTS attributes (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, slug TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

# WordPress numbers: the first posts of a fresh site are taken (sample page etc.), the
# "Uncategorized" product category is a low term id; mimic the recorded store's values.
FIRST_POST_ID = 10
UNCATEGORIZED_ID = 15


def wp_date(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S")


class Database:
    def __init__(self, path: str | None = None):
        self.path = path
        self.conn = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        if path:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=OFF")
        self.lock = threading.RLock()
        self.clock = time.time
        self.conn.executescript(SCHEMA)
        self._seed()

    def now(self) -> str:
        return wp_date(self.clock())

    def _seed(self) -> None:
        with self.lock:
            if self.conn.execute("SELECT 1 FROM sequences LIMIT 1").fetchone():
                return
            self.conn.executemany("INSERT INTO sequences VALUES (?, ?)",
                                  [("post", FIRST_POST_ID - 1), ("term", UNCATEGORIZED_ID), ("attribute", 0),
                                   ("meta", 0)])
            doc = {"description": "", "display": "default", "image": None, "menu_order": 0}
            self.conn.execute("INSERT INTO terms VALUES (?, 'product_cat', 'Uncategorized', 'uncategorized', 0, ?)",
                              (UNCATEGORIZED_ID, json.dumps(doc)))

    def reset(self) -> None:
        with self.lock:
            for table in ("posts", "sku_lookup", "terms", "attributes", "sequences"):
                self.conn.execute(f"DELETE FROM {table}")
            self._seed()

    def next_id(self, name: str) -> int:
        self.conn.execute("UPDATE sequences SET value = value + 1 WHERE name = ?", (name,))
        return self.conn.execute("SELECT value FROM sequences WHERE name = ?", (name,)).fetchone()[0]

    # -- posts ---------------------------------------------------------------------------
    def get_post(self, post_id: int, kind: str | None = None) -> dict | None:
        row = self.conn.execute("SELECT * FROM posts WHERE id = ?", (post_id,)).fetchone()
        if row is None or (kind and row["kind"] != kind):
            return None
        return _post(row)

    def save_post(self, post: dict) -> None:
        doc = {k: v for k, v in post.items() if k not in _POST_COLUMNS}
        self.conn.execute(
            "INSERT OR REPLACE INTO posts (id, kind, parent_id, type, status, sku, slug, name, date_created,"
            " date_modified, menu_order, doc) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (post["id"], post["kind"], post.get("parent_id", 0), post.get("type", ""), post.get("status", "publish"),
             post.get("sku", ""), post.get("slug", ""), post.get("name", ""), post["date_created"],
             post["date_modified"], post.get("menu_order", 0), json.dumps(doc)))

    def delete_post(self, post_id: int) -> None:
        self.conn.execute("DELETE FROM posts WHERE id = ?", (post_id,))

    def query_posts(self, where: str, args: tuple, order: str = "id ASC", limit: int | None = None,
                    offset: int = 0) -> list[dict]:
        sql = f"SELECT * FROM posts WHERE {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)} OFFSET {int(offset)}"
        return [_post(r) for r in self.conn.execute(sql, args)]

    def count_posts(self, where: str, args: tuple) -> int:
        return self.conn.execute(f"SELECT COUNT(*) FROM posts WHERE {where}", args).fetchone()[0]

    def sku_holder(self, sku: str, exclude_id: int = 0) -> int | None:
        """Id of the live (not trashed) product or variation holding `sku`."""
        row = self.conn.execute(
            "SELECT id FROM posts WHERE sku = ? AND kind IN ('product','variation') AND status != 'trash'"
            " AND id != ? ORDER BY id LIMIT 1", (sku, exclude_id)).fetchone()
        return row[0] if row else None

    # -- terms ---------------------------------------------------------------------------
    def get_term(self, term_id: int, taxonomy: str | None = None) -> dict | None:
        row = self.conn.execute("SELECT * FROM terms WHERE id = ?", (term_id,)).fetchone()
        if row is None or (taxonomy and row["taxonomy"] != taxonomy):
            return None
        return _term(row)

    def save_term(self, term: dict) -> None:
        doc = {k: v for k, v in term.items() if k not in ("id", "taxonomy", "name", "slug", "parent")}
        self.conn.execute("INSERT OR REPLACE INTO terms VALUES (?,?,?,?,?,?)",
                          (term["id"], term["taxonomy"], term["name"], term["slug"], term.get("parent", 0),
                           json.dumps(doc)))

    def terms(self, taxonomy: str) -> list[dict]:
        return [_term(r) for r in self.conn.execute(
            "SELECT * FROM terms WHERE taxonomy = ? ORDER BY name COLLATE NOCASE, id", (taxonomy,))]

    def slug_taken(self, table: str, slug: str, taxonomy: str | None = None) -> bool:
        if table == "terms":
            row = self.conn.execute("SELECT 1 FROM terms WHERE taxonomy = ? AND slug = ?", (taxonomy, slug)).fetchone()
        else:
            row = self.conn.execute("SELECT 1 FROM posts WHERE kind = 'product' AND slug = ?", (slug,)).fetchone()
        return row is not None

    # -- attributes ----------------------------------------------------------------------
    def attributes(self) -> list[dict]:
        return [_attr(r) for r in self.conn.execute("SELECT * FROM attributes ORDER BY id")]

    def get_attribute(self, attr_id: int) -> dict | None:
        row = self.conn.execute("SELECT * FROM attributes WHERE id = ?", (attr_id,)).fetchone()
        return _attr(row) if row else None

    def save_attribute(self, attr: dict) -> None:
        doc = {k: v for k, v in attr.items() if k not in ("id", "name", "slug")}
        self.conn.execute("INSERT OR REPLACE INTO attributes VALUES (?,?,?,?)",
                          (attr["id"], attr["name"], attr["slug"], json.dumps(doc)))


_POST_COLUMNS = ("id", "kind", "parent_id", "type", "status", "sku", "slug", "name", "date_created",
                 "date_modified", "menu_order")


def _post(row: sqlite3.Row) -> dict:
    post = json.loads(row["doc"])
    for col in _POST_COLUMNS:
        post[col] = row[col]
    return post


def _term(row: sqlite3.Row) -> dict:
    term = json.loads(row["doc"])
    term.update(id=row["id"], taxonomy=row["taxonomy"], name=row["name"], slug=row["slug"], parent=row["parent"])
    return term


def _attr(row: sqlite3.Row) -> dict:
    attr = json.loads(row["doc"])
    attr.update(id=row["id"], name=row["name"], slug=row["slug"])
    return attr
