"""Rows -> products through a file on disk, so a feed of any size is assembled in bounded memory.

A feed may list a variation anywhere: before its parent, at the other end of a million-row file.
The in-memory Assembler (wsync.mapping.assemble) keeps every row until the end; this one writes
each mapped row to a SQLite file as it arrives (pass 1), lets SQLite find what needs the whole
feed (duplicate keys, each variation's parent, orphans), then reads the rows back parent by
parent, builds each product with the Assembler's own rules and writes it to the same file
(pass 2). What the engine gets is `SpilledProducts`: the products in feed order, read back a
window at a time, with their count and the feed-wide counts already known. Nothing is sent to a
store before both passes are over, so the feed-wide checks (error share, a feed far smaller than
last time) still see the whole feed first.

The same checks, in the same words, as the Assembler; what differs is the order of the errors:
duplicate keys and orphans are found after the last row, so they follow the rows' own errors.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wsync.catalogue import Product, RecordError, truncate
from wsync.mapping.assemble import Assembler, Group, is_variation_row, keyless
from wsync.mapping.rows import Row

# Rows are written in batches of this many: one executemany per batch keeps the per-row cost
# at a few microseconds.
_WRITE_BATCH = 5000
# Rows' kinds in the spill: a product row, a variation row, and the mark of the parent a group
# makes. The marks are written between the passes, one per group, just before the group's first
# member (each grouped row leaves a free place in the numbering for it): one mark per member,
# written as the rows come, was half the rows of a distributor's feed and a quarter of the SQL.
_PARENT, _VARIATION, _GROUP = "p", "v", "g"
_PICKLE = pickle.HIGHEST_PROTOCOL
# Two processes sharing a feed's first pass (wsync.feeds.second_core) number each record's rows
# from the record's index in the feed, shifted by this many bits: the rows of both, merged, are in
# feed order. Room for 16 million rows (a parent's nested variations) per record.
_RECORD_BITS = 24


class SpilledProducts:
    """The feed's products in feed order, on disk: iterate (one at a time) or take windows."""

    def __init__(self, conn: sqlite3.Connection, count: int, variations: int):
        self._conn = conn
        self._count = count
        self.variations = variations

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[Product]:
        for window in self.windows(500):
            yield from window

    def windows(self, size: int) -> Iterator[list[Product]]:
        """Lists of at most `size` products, in feed order."""
        cursor = self._conn.execute("SELECT blob FROM products ORDER BY seq")
        while True:
            rows = cursor.fetchmany(max(1, size))
            if not rows:
                return
            yield [pickle.loads(blob) for (blob,) in rows]

    def sorted_keys(self) -> Iterator[str]:
        """Every product key, in SQLite's (binary) order: for a merge with the ledger's keys."""
        for (key,) in self._conn.execute("SELECT key FROM products ORDER BY key"):
            yield key

    def __contains__(self, key: object) -> bool:
        return self._conn.execute("SELECT 1 FROM products WHERE key = ?", (key,)).fetchone() is not None

    def close(self) -> None:
        self._conn.close()


class SpillAssembler:
    """Takes rows as the Assembler does (add / exclude), in bounded memory; `finish()` returns
    the products on disk. `errors` and `warnings` as the Assembler's."""

    def __init__(self, path: Path, *, cache_kib: int = 32768):
        self.path = path
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        # A scratch file for one job: no journal, no syncing; what a crash leaves is thrown away.
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", f"cache_size=-{cache_kib}"):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.executescript(
            """
            CREATE TABLE rows (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, kind TEXT NOT NULL,
                               parent TEXT, owner INTEGER, place TEXT, sku TEXT, blob BLOB,
                               pseq INTEGER, ord INTEGER, grouped INTEGER, parent_sku TEXT);
            CREATE TABLE aliases (alias TEXT NOT NULL, key TEXT NOT NULL, owner INTEGER NOT NULL);
            CREATE TABLE excluded (key TEXT PRIMARY KEY);
            CREATE TABLE products (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, blob BLOB NOT NULL);
            CREATE TABLE image_urls (url_hash INTEGER NOT NULL);
            """)
        self._seq = 0
        self._rows: list[tuple[Any, ...]] = []
        self._aliases: list[tuple[str, str, int]] = []
        self._excluded: list[tuple[str]] = []
        self.errors: list[RecordError] = []
        self.warnings: list[RecordError] = []
        self.counts: dict[str, int] = {}

    # -- pass 1: rows in ----------------------------------------------------------------
    def add(self, row: Row) -> None:
        if not row.key:
            self.errors.append(keyless(row))
            return
        children = row.children
        row.children = []
        if is_variation_row(row):
            self._variation(row, None)
            owner = None
        else:
            owner = self._put(row, _PARENT, None, None)
            for alias in row.aliases:
                self._aliases.append((alias, row.key, owner))
        for child in children:
            # Carried inside their parent's record: dropped with it if it is a duplicate.
            child.parent = row.key
            child.grouped = False
            child.kind = "variation"
            self._variation(child, owner)
        if len(self._rows) >= _WRITE_BATCH:
            self.flush()

    def place(self, index: int) -> None:
        """The next rows are the record at `index` in the feed (used when another process maps
        other records of the same feed: `absorb`)."""
        self._seq = index << _RECORD_BITS

    def exclude(self, row: Row) -> None:
        """A row a filter dropped: its variations are dropped with it, not reported as orphans."""
        self._excluded.append((row.key,))
        self._excluded.extend((alias,) for alias in row.aliases)

    def _variation(self, row: Row, owner: int | None) -> None:
        if row.grouped and row.parent:
            # The place just before a grouped row is left for its group's mark: the first member
            # to survive the duplicate check places the parent (`_mark_groups`).
            self._seq += 1
            self._put(row, _VARIATION, row.parent, owner, grouped=True)
            return
        self._put(row, _VARIATION, row.parent, owner)

    def _put(self, row: Row, kind: str, parent: str | None, owner: int | None, grouped: bool = False) -> int:
        self._seq += 1
        self._rows.append((self._seq, row.key, kind, parent, owner, row.where, row.sku,
                           pickle.dumps(row, _PICKLE), 1 if grouped else None, row.parent_sku if grouped else None))
        return self._seq

    def flush(self) -> None:
        conn = self._conn
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO rows (seq, key, kind, parent, owner, place, sku, blob, grouped, parent_sku) "
                         "VALUES (?,?,?,?,?,?,?,?,?,?)", self._rows)
        conn.executemany("INSERT INTO aliases VALUES (?,?,?)", self._aliases)
        conn.executemany("INSERT OR IGNORE INTO excluded VALUES (?)", self._excluded)
        conn.execute("COMMIT")
        self._rows, self._aliases, self._excluded = [], [], []

    def absorb(self, other: Path) -> None:
        """The rows, aliases and exclusions another process's pass 1 wrote to `other` (its records
        placed by index, as ours), merged into this file; `other` is deleted."""
        self.flush()
        conn = self._conn
        conn.execute("ATTACH DATABASE ? AS other", (str(other),))
        try:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO main.rows SELECT * FROM other.rows")
            conn.execute("INSERT INTO main.aliases SELECT * FROM other.aliases")
            conn.execute("INSERT OR IGNORE INTO main.excluded SELECT * FROM other.excluded")
            conn.execute("COMMIT")
        finally:
            conn.execute("DETACH DATABASE other")
        other.unlink(missing_ok=True)

    def close(self) -> None:
        self._conn.close()

    # -- between the passes: what needs the whole feed ------------------------------------
    def _drop_duplicates(self) -> None:
        """The first row with a key is kept; a later one is an error, and the rows it carried (its
        nested variations, its aliases) go with it. Rows first, then group marks: a member
        refused as a duplicate never made its group, and a later mark of a key is no error (its
        members join the product or group that has the key)."""
        conn = self._conn
        conn.execute("CREATE INDEX rows_key ON rows(key, seq)")
        self._drop("1")
        self._mark_groups()
        self._drop("1")

    def _mark_groups(self) -> None:
        """Each group's mark, in the place its first surviving member left free, with that
        member's say on the parent's SKU (SQLite gives a bare column the values of the row
        MIN() picked)."""
        conn = self._conn
        conn.execute("BEGIN")
        conn.execute(f"""INSERT INTO rows (seq, key, kind, sku)
                         SELECT MIN(seq) - 1, parent, '{_GROUP}', parent_sku FROM rows
                          WHERE grouped = 1 GROUP BY parent""")
        conn.execute("COMMIT")

    def _drop(self, among: str) -> None:
        conn = self._conn
        dropped: list[tuple[int]] = []
        for key, first in conn.execute(f"SELECT key, MIN(seq) FROM rows WHERE {among} GROUP BY key "
                                       "HAVING COUNT(*) > 1").fetchall():
            for seq, kind, place, sku in conn.execute(
                    f"SELECT seq, kind, place, sku FROM rows WHERE key = ? AND seq > ? AND {among} ORDER BY seq",
                    (key, first)):
                dropped.append((seq,))
                if kind != _GROUP:
                    self.errors.append(RecordError(place, "duplicate key: an earlier record already has it (kept)",
                                                   field="sku", value=truncate(key), sku=sku))
        if not dropped:
            return
        conn.execute("BEGIN")
        conn.execute("CREATE TEMP TABLE dropped (seq INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO dropped VALUES (?)", dropped)
        conn.execute("DELETE FROM rows WHERE owner IN (SELECT seq FROM dropped) OR seq IN (SELECT seq FROM dropped)")
        conn.execute("DELETE FROM aliases WHERE owner IN (SELECT seq FROM dropped)")
        conn.execute("DROP TABLE dropped")
        conn.execute("COMMIT")

    def _resolve_parents(self) -> None:
        """Each variation to the place of its parent: a product or group by key, else by alias
        (the first record to claim an alias has it). A variation whose parent never appears is
        an orphan, unless a filter dropped that parent."""
        conn = self._conn
        conn.execute("BEGIN")
        conn.execute("UPDATE rows SET pseq = seq, ord = 0 WHERE kind != 'v'")
        conn.execute("CREATE INDEX aliases_alias ON aliases(alias, owner)")
        conn.execute("""UPDATE rows SET ord = 1, pseq = COALESCE(
                            (SELECT p.seq FROM rows p WHERE p.key = rows.parent AND p.kind != 'v'),
                            (SELECT p.seq FROM aliases a JOIN rows p ON p.key = a.key AND p.kind != 'v'
                              WHERE a.alias = rows.parent ORDER BY a.owner LIMIT 1))
                        WHERE kind = 'v'""")
        conn.execute("COMMIT")
        for place, parent, sku in conn.execute("""SELECT place, parent, sku FROM rows
                                                  WHERE kind = 'v' AND pseq IS NULL
                                                    AND COALESCE(parent, '') NOT IN (SELECT key FROM excluded)
                                                  ORDER BY seq"""):
            self.errors.append(RecordError(place, "orphan variation: its parent never appears in the feed",
                                           field="parent", value=truncate(parent or ""), sku=sku))
        conn.execute("CREATE INDEX rows_group ON rows(pseq, ord, seq)")

    # -- pass 2: products out -----------------------------------------------------------
    def finish(self) -> SpilledProducts:
        self.flush()
        self._drop_duplicates()
        self._resolve_parents()
        # The SKUs two groups' parents would share (their slugs meet): only these need a holder.
        contested = {sku for (sku,) in self._conn.execute(
            "SELECT sku FROM rows WHERE kind = 'g' AND sku IS NOT NULL GROUP BY sku HAVING COUNT(*) > 1")}
        builder = _SpillBuilder(contested)
        conn = self._conn
        read = conn.cursor()
        read.execute("SELECT pseq, kind, key, blob FROM rows WHERE pseq IS NOT NULL ORDER BY pseq, ord, seq")
        out: list[tuple[int, str, bytes]] = []
        urls: list[tuple[int]] = []
        counts = {"products": 0, "variable": 0, "variations": 0, "images": 0}
        group: Group | None = None
        group_seq: int | None = None
        mark: str | None = None  # the key of a group mark waiting for its first member

        def close_group() -> None:
            if group is None:
                return
            product = builder.build(group)
            if product is None:
                return
            counts["products"] += 1
            counts["variable"] += product.type == "variable"
            counts["variations"] += len(product.variations)
            # Distinct URLs are counted by their hashes (appended, counted once at the end): a
            # unique index over a million URLs costs more than the rest of the pass.
            for image in product.images:
                urls.append((hash(image.src),))
            for v in product.variations:
                if v.image is not None:
                    urls.append((hash(v.image.src),))
            counts["images"] += len(product.images) + sum(1 for v in product.variations if v.image is not None)
            out.append((counts["products"], product.key, pickle.dumps(product, _PICKLE)))

        while True:
            batch = read.fetchmany(2000)
            if not batch:
                break
            for pseq, kind, key, blob in batch:
                if pseq != group_seq:
                    close_group()
                    group, group_seq, mark = None, pseq, None
                    if kind == _GROUP:
                        mark = key
                        continue
                if kind == _PARENT:
                    group = Group(pickle.loads(blob))
                    continue
                if kind == _GROUP:
                    continue
                row: Row = pickle.loads(blob)
                if group is None:
                    if mark is None:
                        continue  # cannot happen: a variation's place is a product or a group
                    group = Group(builder.synthesise(row, mark), synthesised=True)
                group.variations.append(row)
            if len(out) >= 500:
                self._write_products(out, urls)
                out, urls = [], []
        close_group()
        self._write_products(out, urls)
        read.close()
        self.errors.extend(builder.errors)
        self.warnings.extend(builder.warnings)
        counts["distinct_images"] = conn.execute("SELECT COUNT(DISTINCT url_hash) FROM image_urls").fetchone()[0]
        self.counts = counts
        # The rows are no longer needed: the file keeps only the products from here on.
        conn.execute("DROP TABLE rows")
        conn.execute("CREATE INDEX products_key ON products(key)")
        return SpilledProducts(conn, counts["products"], counts["variations"])

    def _write_products(self, out: list[tuple[int, str, bytes]], urls: list[tuple[int]]) -> None:
        # Autocommitted while the read cursor over `rows` is open: SQLite holds the writes in
        # one transaction until the cursor is done (no journal, no sync: a scratch file).
        self._conn.executemany("INSERT INTO products VALUES (?,?,?)", out)
        self._conn.executemany("INSERT INTO image_urls VALUES (?)", urls)


class _SpillBuilder(Assembler):
    """The Assembler's product rules. A made parent's SKU is checked against other groups only
    when another group's first member asks for the same one (found in SQL between the passes):
    a big feed has hundreds of thousands of groups, and only these few need remembering."""

    def __init__(self, contested: set[str]):
        super().__init__()
        self._contested = contested

    def parent_sku_holder(self, sku: str) -> str | None:
        return super().parent_sku_holder(sku) if sku in self._contested else None

    def hold_parent_sku(self, sku: str, group: str) -> None:
        if sku in self._contested:
            super().hold_parent_sku(sku, group)
