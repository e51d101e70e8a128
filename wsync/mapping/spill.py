"""Rows -> products through a file on disk, so a feed of any size is assembled in bounded memory.

A feed may list a variation anywhere: before its parent, at the other end of a million-row file.
The in-memory Assembler (wsync.mapping.assemble) keeps every row until the end; this one writes
each mapped row to a SQLite file as it arrives (pass 1), lets SQLite find what needs the whole
feed (duplicate keys, each variation's parent, orphans), then reads the rows back parent by
parent, builds each product with the Assembler's own rules and writes it to a file of products
(pass 2; the rows' file is then deleted). What the engine gets is `SpilledProducts`: the products
in feed order, read back a window at a time, with their count and the feed-wide counts already
known. Either pass can be shared with another process (wsync.feeds.second_core): rows are
numbered by their record's place in the feed (`place`), products by their group's, so merged
files keep the feed's order. Nothing is sent to a
store before both passes are over, so the feed-wide checks (error share, a feed far smaller than
last time) still see the whole feed first.

The same checks, in the same words, as the Assembler; what differs is the order of the errors:
duplicate keys and orphans are found after the last row, so they follow the rows' own errors.
"""

from __future__ import annotations

import hashlib
import heapq
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from wsync.catalogue import Product, RecordError, truncate
from wsync.mapping.assemble import Assembler, Group, is_variation_row, keyless
from wsync.mapping.images import normalise_url
from wsync.mapping.packing import Packer
from wsync.mapping.rows import Row

# Rows are written in batches of this many: one executemany per batch keeps the per-row cost
# at a few microseconds.
_WRITE_BATCH = 5000
# Rows' kinds in the spill: a product row and a variation row. A group's parent is a "head" of
# its own kind, the group's mark: made between the passes, one per group, in the place just
# before the group's first member (each grouped row leaves a free place in the numbering for it).
# One mark per member, written as the rows come, was half the rows of a distributor's feed.
_PARENT, _VARIATION, _GROUP = "p", "v", "g"
# Rows and products as bytes on disk (wsync.mapping.packing: marshal of their values, not pickle).
_ROWS, _PRODUCTS = Packer(Row), Packer(Product)
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
        self._indexed = False

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[Product]:
        for window in self.windows(500):
            yield from window

    def windows(self, size: int, start: int | None = None, stop: int | None = None) -> Iterator[list[Product]]:
        """Lists of at most `size` products, in feed order; with `start` / `stop` (places, as
        `place_of` gives them) only those from `start` on and before `stop`."""
        cursor = self._conn.execute("SELECT blob FROM products WHERE seq >= ? AND seq < ? ORDER BY seq",
                                    (-(1 << 63) if start is None else start, (1 << 63) - 1 if stop is None else stop))
        unpack = _PRODUCTS.unpack
        while True:
            rows = cursor.fetchmany(max(1, size))
            if not rows:
                return
            yield [unpack(blob) for (blob,) in rows]

    def place_of(self, index: int) -> int | None:
        """The place of the product at `index` in feed order (None past the last): where a share
        of the windows starts (wsync.sync.plan_helper)."""
        row = self._conn.execute("SELECT seq FROM products ORDER BY seq LIMIT 1 OFFSET ?", (index,)).fetchone()
        return None if row is None else int(row[0])

    @property
    def path(self) -> Path:
        """The products' file (another process may read it, read-only)."""
        return Path(self._conn.execute("PRAGMA database_list").fetchone()[2])

    def __contains__(self, key: object) -> bool:
        if not self._indexed:
            # Made when first asked (the missing phase, when the ledger has products of the feed):
            # a first import or plan never asks, and a million keys take seconds to index.
            self._conn.execute("CREATE INDEX IF NOT EXISTS products_key ON products(key)")
            self._indexed = True
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
                               parent TEXT, owner INTEGER, place TEXT, sku TEXT,
                               grouped INTEGER, parent_sku TEXT);
            CREATE TABLE blobs (seq INTEGER PRIMARY KEY, blob BLOB NOT NULL);
            CREATE TABLE aliases (alias TEXT NOT NULL, key TEXT NOT NULL, owner INTEGER NOT NULL);
            CREATE TABLE excluded (key TEXT PRIMARY KEY);
            """)
        self._seq = 0
        self._rows: list[tuple[Any, ...]] = []
        # The packed rows apart from what SQL reads between the passes: every UPDATE, index and
        # scan there then walks narrow pages (a row's record is rewritten whole when it changes).
        self._blobs: list[tuple[int, bytes]] = []
        self._aliases: list[tuple[str, str, int]] = []
        self._excluded: list[tuple[str]] = []
        # Another process's pass-1 file, attached as `theirs`, and its block size: the rows of
        # its blocks have their blobs there (`absorb`).
        self._theirs: tuple[Path, int] | None = None
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
            # to survive the duplicate check places the parent (`_make_heads`).
            self._seq += 1
            self._put(row, _VARIATION, row.parent, owner, grouped=True)
            return
        self._put(row, _VARIATION, row.parent, owner)

    def _put(self, row: Row, kind: str, parent: str | None, owner: int | None, grouped: bool = False) -> int:
        self._seq += 1
        self._rows.append((self._seq, row.key, kind, parent, owner, row.where, row.sku,
                           1 if grouped else None, row.parent_sku if grouped else None))
        self._blobs.append((self._seq, _ROWS.pack(row)))
        return self._seq

    def flush(self) -> None:
        conn = self._conn
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO rows (seq, key, kind, parent, owner, place, sku, grouped, parent_sku) "
                         "VALUES (?,?,?,?,?,?,?,?,?)", self._rows)
        conn.executemany("INSERT INTO blobs VALUES (?,?)", self._blobs)
        conn.executemany("INSERT INTO aliases VALUES (?,?,?)", self._aliases)
        conn.executemany("INSERT OR IGNORE INTO excluded VALUES (?)", self._excluded)
        conn.execute("COMMIT")
        self._rows, self._blobs, self._aliases, self._excluded = [], [], [], []

    def absorb(self, other: Path, block: int) -> None:
        """The rows, aliases and exclusions another process's pass 1 wrote to `other` (its records
        placed by index, as ours, the odd blocks of `block` records), merged into this file. Their
        blobs stay in `other`, read from there in pass 2: copying them was four fifths of the
        merge, with this process alone at work (`other` is deleted at the end of pass 2)."""
        self.flush()
        merge_file(self._conn, other, ("rows", "aliases", "excluded"), keep=True)
        self._conn.execute("ATTACH DATABASE ? AS theirs", (str(other),))
        self._theirs = (other, block)

    def close(self) -> None:
        self._conn.close()

    # -- between the passes: what needs the whole feed ------------------------------------
    # Each group is found through its head (a product row or a group's mark, in `heads`), and
    # each variation through its `parent` column, rewritten only where it names its parent by an
    # alias; pass 2 walks the heads in feed order and takes each one's variations from an index.
    # A variation's parent was once written into every variation row (a million UPDATEs, a
    # correlated look-up each, and a second index): half of what one process did alone here.

    def _drop_duplicates(self) -> None:
        """The first row with a key is kept; a later one is an error, and the rows it carried (its
        nested variations, its aliases) go with it. Rows first, then group marks: a member
        refused as a duplicate never made its group, and a later mark of a key is no error (its
        members join the product or group that has the key)."""
        conn = self._conn
        conn.execute("CREATE INDEX rows_key ON rows(key, seq)")
        dropped: list[tuple[int]] = []
        for key, first in conn.execute("SELECT key, MIN(seq) FROM rows GROUP BY key HAVING COUNT(*) > 1").fetchall():
            for seq, place, sku in conn.execute(
                    "SELECT seq, place, sku FROM rows WHERE key = ? AND seq > ? ORDER BY seq", (key, first)):
                dropped.append((seq,))
                self._duplicate(place, key, sku)
        self._drop_rows(dropped, heads=False)
        self._make_heads()
        # A mark and a row of the same key (rows' keys are unique by now): the earlier keeps it.
        dropped = []
        marks: list[tuple[int]] = []
        for key, mark, seq, place, sku in conn.execute(
                f"""SELECT h.key, h.seq, r.seq, r.place, r.sku FROM heads h JOIN rows r ON r.key = h.key
                     WHERE h.kind = '{_GROUP}' ORDER BY h.key""").fetchall():
            if seq < mark:
                marks.append((mark,))
            else:
                dropped.append((seq,))
                self._duplicate(place, key, sku)
        if marks:
            conn.execute("BEGIN")
            conn.executemany("DELETE FROM heads WHERE seq = ?", marks)
            conn.execute("COMMIT")
        self._drop_rows(dropped)

    def _duplicate(self, place: str, key: str, sku: str | None) -> None:
        self.errors.append(RecordError(place, "duplicate key: an earlier record already has it (kept)",
                                       field="sku", value=truncate(key), sku=sku))

    def _drop_rows(self, dropped: list[tuple[int]], heads: bool = True) -> None:
        """Rows refused as duplicates, with the rows and aliases they carried (and, once `heads`
        are made, their own heads)."""
        if not dropped:
            return
        conn = self._conn
        conn.execute("BEGIN")
        conn.execute("CREATE TEMP TABLE dropped (seq INTEGER PRIMARY KEY)")
        conn.executemany("INSERT INTO dropped VALUES (?)", dropped)
        conn.execute("DELETE FROM rows WHERE owner IN (SELECT seq FROM dropped) OR seq IN (SELECT seq FROM dropped)")
        conn.execute("DELETE FROM aliases WHERE owner IN (SELECT seq FROM dropped)")
        if heads:
            conn.execute("DELETE FROM heads WHERE seq IN (SELECT seq FROM dropped)")
        conn.execute("DROP TABLE dropped")
        conn.execute("COMMIT")

    def _make_heads(self) -> None:
        """The heads: every product row, and each group's mark, in the place its first surviving
        member left free, with that member's say on the parent's SKU (SQLite gives a bare column
        the values of the row MIN() picked)."""
        conn = self._conn
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE heads (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, kind TEXT NOT NULL, sku TEXT)")
        conn.execute(f"INSERT INTO heads SELECT seq, key, kind, sku FROM rows WHERE kind = '{_PARENT}'")
        conn.execute(f"""INSERT INTO heads SELECT MIN(seq) - 1, parent, '{_GROUP}', parent_sku FROM rows
                          WHERE grouped = 1 GROUP BY parent""")
        conn.execute("COMMIT")

    def _resolve_parents(self) -> None:
        """Each variation to its parent: a product or group by key, else by alias (the first
        record to claim an alias has it). A variation whose parent never appears is an orphan,
        unless a filter dropped that parent."""
        conn = self._conn
        conn.execute("CREATE UNIQUE INDEX heads_key ON heads(key)")
        if conn.execute("SELECT 1 FROM aliases LIMIT 1").fetchone():
            conn.execute("CREATE INDEX aliases_alias ON aliases(alias, owner)")
            # An alias's owner is a product row (its aliases went with it if it was dropped).
            conn.execute("BEGIN")
            conn.execute(f"""UPDATE rows SET parent = (SELECT a.key FROM aliases a WHERE a.alias = rows.parent
                                                         ORDER BY a.owner LIMIT 1)
                              WHERE kind = '{_VARIATION}' AND parent IN (SELECT alias FROM aliases)
                                AND parent NOT IN (SELECT key FROM heads)""")
            conn.execute("COMMIT")
        # With `kind` in it, pass 2's look-up of a head's variations reads the index alone.
        conn.execute(f"CREATE INDEX rows_parent ON rows(parent, kind) WHERE kind = '{_VARIATION}'")
        # Orphans by their parent's value: a few hundred thousand values to look up, not a million rows.
        conn.execute(f"""CREATE TEMP TABLE orphaned AS
                         SELECT parent FROM rows WHERE kind = '{_VARIATION}' AND parent IS NOT NULL GROUP BY parent
                         HAVING parent NOT IN (SELECT key FROM heads) AND parent NOT IN (SELECT key FROM excluded)""")
        unnamed = conn.execute(f"SELECT 1 FROM rows WHERE kind = '{_VARIATION}' AND parent IS NULL LIMIT 1").fetchone()
        if unnamed or conn.execute("SELECT 1 FROM orphaned LIMIT 1").fetchone():
            excluded_blank = conn.execute("SELECT 1 FROM excluded WHERE key = ''").fetchone()
            for place, parent, sku in conn.execute(
                    f"""SELECT place, parent, sku FROM rows
                         WHERE kind = '{_VARIATION}' AND (parent IN (SELECT parent FROM orphaned)
                                                          OR (parent IS NULL AND ?))
                         ORDER BY seq""", (excluded_blank is None,)):
                self.errors.append(RecordError(place, "orphan variation: its parent never appears in the feed",
                                               field="parent", value=truncate(parent or ""), sku=sku))
        conn.execute("DROP TABLE orphaned")

    # -- pass 2: products out -----------------------------------------------------------
    def finish(self, helper: BuildHelper | None = None) -> SpilledProducts:
        """The products, on disk. With `helper` (another process, wsync.feeds.second_core), it
        builds every other block of groups beside this process, into a file of its own."""
        self.flush()
        self._drop_duplicates()
        self._resolve_parents()
        holders = self._contested_holders()
        out_path = self.path.with_name(self.path.stem + "-products.sqlite")
        out = products_file(out_path)
        split = self._theirs[1] if self._theirs else None
        if helper is not None:
            theirs_path = self.path.with_name(self.path.stem + "-helper-products.sqlite")
            helper.build(self.path, self._theirs[0] if self._theirs else None, holders, theirs_path)
            ours = build_products(self._conn, out, holders, (0, helper.block), split)
            theirs = helper.built()
            if theirs is None:
                theirs_path.unlink(missing_ok=True)  # whatever it wrote before it failed
                theirs = build_products(self._conn, out, holders, (1, helper.block), split)
            else:
                merge_file(out, theirs_path, ("products", "image_urls"))
            built = [ours, theirs]
        else:
            built = [build_products(self._conn, out, holders, None, split)]
        for name in ("errors", "warnings"):
            getattr(self, name).extend(e for _, e in heapq.merge(*(getattr(b, name) for b in built),
                                                                key=lambda pair: pair[0]))
        counts = {k: sum(b.counts[k] for b in built) for k in built[0].counts}
        # GROUP BY sorts with SQLite's external merge sort; COUNT(DISTINCT) builds a b-tree one
        # random insert at a time (0.35 s against 2.2 s for a million URLs, same bounded memory).
        counts["distinct_images"] = out.execute(
            "SELECT COUNT(*) FROM (SELECT url_hash FROM image_urls GROUP BY url_hash)").fetchone()[0]
        self.counts = counts
        # The rows are no longer needed: only the products' file is kept from here on.
        self._conn.close()
        self.path.unlink(missing_ok=True)
        if self._theirs:
            self._theirs[0].unlink(missing_ok=True)
        return SpilledProducts(out, counts["products"], counts["variations"])

    def _contested_holders(self) -> dict[str, str]:
        """For each SKU two groups' made parents would share (their slugs meet), the group that
        keeps it: the first in feed order that makes a parent (has a member). Known before any
        product is built, so groups can be built in any order, by either process."""
        holders: dict[str, str] = {}
        for sku, key in self._conn.execute(
                f"""SELECT g.sku, g.key FROM heads g
                     WHERE g.kind = '{_GROUP}' AND g.sku IN (SELECT sku FROM heads WHERE kind = '{_GROUP}'
                                                               AND sku IS NOT NULL GROUP BY sku HAVING COUNT(*) > 1)
                       AND EXISTS (SELECT 1 FROM rows v WHERE v.parent = g.key AND v.kind = '{_VARIATION}')
                     ORDER BY g.seq"""):
            holders.setdefault(sku, key)
        return holders


class BuildHelper(Protocol):
    """Another process that builds the groups of odd blocks (`block` records a block)."""

    block: int

    def build(self, rows: Path, blobs: Path | None, holders: dict[str, str], out: Path) -> None:
        """Start building its share from the rows in `rows` (read only) into `out`; with `blobs`,
        the odd blocks' blobs are in that file (its own pass-1 file, read only)."""

    def built(self) -> Built | None:
        """Its share's counts and errors once done (its products in `out`); None if it failed."""


@dataclass
class Built:
    """What building a share of the groups gave: counts, and errors and warnings each with the
    place of its group, so two shares' merge in feed order."""

    counts: dict[str, int] = field(default_factory=lambda: {"products": 0, "variable": 0, "variations": 0,
                                                            "images": 0})
    errors: list[tuple[int, RecordError]] = field(default_factory=list)
    warnings: list[tuple[int, RecordError]] = field(default_factory=list)


def products_file(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE"):
        conn.execute(f"PRAGMA {pragma}")
    conn.executescript("""CREATE TABLE IF NOT EXISTS products (seq INTEGER PRIMARY KEY, key TEXT NOT NULL,
                                                             blob BLOB NOT NULL);
                          CREATE TABLE IF NOT EXISTS image_urls (url_hash INTEGER NOT NULL);""")
    return conn


def url_hash(url: str) -> int:
    # Distinct URLs are counted by 64-bit hashes (a unique index over a million URLs costs more
    # than the rest of the pass); not hash(): two processes' str hashes differ.
    return int.from_bytes(hashlib.blake2b(url.encode(), digest_size=8).digest(), "big", signed=True)


def build_products(rows: sqlite3.Connection, out: sqlite3.Connection, holders: dict[str, str],
                   share: tuple[int, int] | None = None, split: int | None = None) -> Built:
    """Pass 2 for the groups `share` = (mine, block) takes (those whose first row's record is in
    a block numbered mine modulo 2; all groups without): rows read back parent by parent, each
    product built with the Assembler's rules and written to `out`, numbered by its place."""
    builder = _SpillBuilder(holders)
    result = Built()
    counts = result.counts
    where, params = "", tuple[int, ...]()
    if share is not None:
        where = "WHERE ((h.seq >> ?) / ?) % 2 = ?"
        params = (_RECORD_BITS, share[1], share[0])
    read = rows.cursor()
    # Heads in feed order, each with its variations in feed order (the index gives them so: no
    # sort), one result row per variation; a product's own row comes with each (read once). A
    # dropped row's blob stays behind, never read; a group's mark has none.
    read.execute(f"""SELECT h.seq, h.kind, h.key, {_blob('h', split)}, {_blob('v', split)} FROM heads h
                      {_blob_joins('h', split, f"AND h.kind = '{_PARENT}'")}
                      LEFT JOIN rows v ON v.parent = h.key AND v.kind = '{_VARIATION}'
                      {_blob_joins('v', split)}
                      {where} ORDER BY h.seq, v.seq""", params)
    made: list[tuple[int, str, bytes]] = []
    urls: list[tuple[int]] = []
    unpack = _ROWS.unpack
    group: Group | None = None
    group_seq: int = -1
    mark: str | None = None  # the key of a group mark waiting for its first member

    def close_group() -> None:
        if group is None:
            return
        errors, warnings = len(builder.errors), len(builder.warnings)
        product = builder.build(group)
        result.errors.extend((group_seq, e) for e in builder.errors[errors:])
        result.warnings.extend((group_seq, w) for w in builder.warnings[warnings:])
        if product is None:
            return
        counts["products"] += 1
        counts["variable"] += product.type == "variable"
        counts["variations"] += len(product.variations)
        # Counted as the image phase tells URLs apart (one attachment per URL so spelled).
        for image in product.images:
            urls.append((url_hash(normalise_url(image.src)),))
        for v in product.variations:
            if v.image is not None:
                urls.append((url_hash(normalise_url(v.image.src)),))
        counts["images"] += len(product.images) + sum(1 for v in product.variations if v.image is not None)
        made.append((group_seq, product.key, _PRODUCTS.pack(product)))

    while True:
        batch = read.fetchmany(2000)
        if not batch:
            break
        for head_seq, kind, key, head_blob, blob in batch:
            if head_seq != group_seq:
                close_group()
                group, group_seq, mark = None, head_seq, None
                if kind == _PARENT:
                    group = Group(unpack(head_blob))
                else:
                    mark = key
            if blob is None:
                continue  # a head without variations
            row: Row = unpack(blob)
            if group is None:
                assert mark is not None  # a head is a product row or a group's mark
                group = Group(builder.synthesise(row, mark), synthesised=True)
            group.variations.append(row)
        if len(made) >= 500:
            _write_products(out, made, urls)
            made, urls = [], []
    close_group()
    _write_products(out, made, urls)
    read.close()
    return result


def _blob(row: str, split: int | None) -> str:
    return f"COALESCE({row}b.blob, {row}t.blob)" if split else f"{row}b.blob"


def _blob_joins(row: str, split: int | None, also: str = "") -> str:
    """The joins that give `row`'s blob: from this file's blobs, or, with `split` (a block size),
    from the attached `theirs` for the rows of odd blocks (each row is looked up in one file)."""
    if not split:
        return f"LEFT JOIN blobs {row}b ON {row}b.seq = {row}.seq {also}"
    block = f"(({row}.seq >> {_RECORD_BITS}) / {int(split)}) % 2"
    return (f"LEFT JOIN main.blobs {row}b ON {row}b.seq = {row}.seq AND {block} = 0 {also} "
            f"LEFT JOIN theirs.blobs {row}t ON {row}t.seq = {row}.seq AND {block} = 1 {also}")


def _write_products(out: sqlite3.Connection, made: list[tuple[int, str, bytes]], urls: list[tuple[int]]) -> None:
    out.execute("BEGIN")
    out.executemany("INSERT INTO products VALUES (?,?,?)", made)
    out.executemany("INSERT INTO image_urls VALUES (?)", urls)
    out.execute("COMMIT")


def merge_file(conn: sqlite3.Connection, other: Path, tables: tuple[str, ...], keep: bool = False) -> None:
    """Every row of `tables` in the file `other` (another process's share, same schema) added to
    conn's tables of those names, in one transaction; `other` is deleted unless `keep`. A key
    already present (an exclusion both shares made) is kept once."""
    conn.execute("ATTACH DATABASE ? AS other", (str(other),))
    try:
        conn.execute("BEGIN")
        for table in tables:
            conn.execute(f"INSERT OR IGNORE INTO main.{table} SELECT * FROM other.{table}")
        conn.execute("COMMIT")
    finally:
        conn.execute("DETACH DATABASE other")
    if not keep:
        other.unlink(missing_ok=True)


class _SpillBuilder(Assembler):
    """The Assembler's product rules. Which group keeps a SKU two groups' made parents would
    share is decided before building (`_contested_holders`): a big feed has hundreds of
    thousands of groups, only these few need it, and either process may build either group."""

    def __init__(self, holders: dict[str, str]):
        super().__init__()
        self._holders = holders

    def parent_sku_holder(self, sku: str) -> str | None:
        return self._holders.get(sku)

    def hold_parent_sku(self, sku: str, group: str) -> None:
        pass
