"""Feeds in two files: a second source joined to a feed's records by key.

`as = "variations"`: each row of the second file (a combination) is a variation of the
product whose row has its key; `as = "fields"`: the second file's columns join the record
with its key (a catalogue and its stock file). The second file is read once, as it streams,
into an index on disk (SQLite in the job's temporary folder), so neither file is held whole
in memory; the feed then streams as usual and takes its rows from the index by key.

Every row of either side that matches nothing is a record error naming its file and line,
except a product without combinations (`as = "variations"`): that is a simple product.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from wsync.catalogue import RecordError, truncate
from wsync.errors import FeedRefused
from wsync.feeds.records import detect_format, open_records
from wsync.feeds.spec import FeedSpec, JoinSpec
from wsync.mapping.fields import FieldMapper
from wsync.mapping.rows import Row
from wsync.mapping.values import text_of

MapOne = Callable[[Any, str], "tuple[Row | None, list[RecordError]]"]


class JoinIndex:
    """The second file's rows by their key, on disk."""

    def __init__(self, spec: FeedSpec, join: JoinSpec, workdir: Path, warnings: list[str]):
        from wsync.feeds.sources import open_source

        self.join = join
        self.label = join.label
        folder = workdir / "join"
        folder.mkdir(parents=True, exist_ok=True)
        if join.source.lower().startswith(("http://", "https://")):
            opened = open_source(join.source, label=self.label, workdir=folder, fetch_state=None, force=True,
                                 auth=spec.auth, headers_env=spec.headers_env, timeout=spec.timeout,
                                 retries=spec.retries, retry_wait=spec.retry_wait, verify=spec.verify_tls)
        else:
            opened = open_source(join.source, label=self.label, workdir=folder)
        assert opened.path is not None
        side = FeedSpec(name=spec.name, source=join.source, format=join.format, delimiter=join.delimiter,
                        encoding=join.encoding)
        fmt = detect_format(opened.path, side)
        records, header = open_records(side, opened.path, fmt, warnings)
        self.db = sqlite3.connect(str(folder / "index.db"))
        self.db.execute("CREATE TABLE rows (key TEXT, seq INTEGER PRIMARY KEY, place TEXT, record TEXT, "
                        "taken INTEGER DEFAULT 0)")
        self.header: list[str] = list(header or [])
        if header is not None and join.other_on not in header:
            raise FeedRefused(f"{self.label} line 1: the join names column {join.other_on!r} that the header does "
                              f"not have (columns: {', '.join(repr(h) for h in header[:12])})",
                              hint="fix join.on in the feed config")
        self.errors: list[RecordError] = []
        batch = []
        for where, record in records:
            if not isinstance(record, dict) or "__width_error__" in record:
                self.errors.append(RecordError(where, "row " + str((record or {}).get("__width_error__", "is not "
                                                                                       "a record"))))
                continue
            if header is None:
                self.header.extend(k for k in record if k not in self.header)
            key = text_of(record.get(join.other_on))
            if key is None:
                self.errors.append(RecordError(where, f"no value in the join column {join.other_on!r}",
                                               field=join.other_on))
                continue
            batch.append((key, where, json.dumps(record, ensure_ascii=False)))
            if len(batch) >= 5000:
                self.db.executemany("INSERT INTO rows (key, place, record) VALUES (?,?,?)", batch)
                batch = []
        self.db.executemany("INSERT INTO rows (key, place, record) VALUES (?,?,?)", batch)
        self.db.execute("CREATE INDEX rows_key ON rows(key)")
        self.db.commit()

    def take(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        found = self.db.execute("SELECT seq, place, record FROM rows WHERE key = ? ORDER BY seq", (key,)).fetchall()
        if found:
            self.db.executemany("UPDATE rows SET taken = taken + 1 WHERE seq = ?", [(seq,) for seq, _, _ in found])
        return [(place, json.loads(record)) for _, place, record in found]

    def unmatched(self, feed_label: str, column: str) -> list[RecordError]:
        out = []
        for place, key in self.db.execute("SELECT place, key FROM rows WHERE taken = 0 ORDER BY seq"):
            out.append(RecordError(place, f"matches no record of {feed_label} (no {column!r} = this value there)",
                                   field=self.join.other_on, value=truncate(key)))
        return out

    def close(self) -> None:
        self.db.close()


def joined_fields(records: Iterable[tuple[str, Any]], index: JoinIndex, join: JoinSpec, feed_label: str,
                  errors: list[RecordError]) -> Iterator[tuple[str, Any]]:
    """as = "fields": each record with its joined row's columns (the joined file's win)."""
    for where, record in records:
        if isinstance(record, dict) and "__width_error__" not in record:
            key = text_of(record.get(join.on))
            found = index.take(key) if key is not None else []
            if not found:
                errors.append(RecordError(where, f"no row of {index.label} has {join.other_on!r} = this value",
                                          field=join.on, value=truncate(key or "")))
            else:
                for place, _ in found[1:]:
                    errors.append(RecordError(place, f"a second row for the same record of {feed_label} "
                                                     "(the first is used)", field=join.other_on,
                                              value=truncate(key or "")))
                record = {**record, **{k: v for k, v in found[0][1].items() if k != join.other_on}}
        yield where, record


def joined_variations(map_one: MapOne, index: JoinIndex, join: JoinSpec, main_mapper: FieldMapper | None) -> MapOne:
    """as = "variations": a record's joined rows become its variations."""
    mapper = join.mapper
    if mapper is None:
        mapper = FieldMapper.automatic(index.header)
        mapper.decimal = main_mapper.decimal if main_mapper else None
        join.mapper = mapper

    def map_joined(record: Any, where: str) -> tuple[Row | None, list[RecordError]]:
        row, errors = map_one(record, where)
        if row is None or not isinstance(record, dict):
            return row, errors
        key = text_of(record.get(join.on))
        for place, other in index.take(key) if key is not None else []:
            child, child_errors = mapper._map_one(other, place, inherit=record)
            errors = errors + child_errors
            if child is None:
                continue
            child.kind = "variation"
            # What a combination does not say, its product does (the price, its cost).
            if child.regular_price is None and child.cost is None:
                child.regular_price, child.cost = row.regular_price, row.cost
            if child.sale_price is None and "sale_price" not in mapper.columns:
                child.sale_price = row.sale_price
            row.children.append(child)
        if row.children:
            row.kind = "variable"
        return row, errors

    return map_joined
