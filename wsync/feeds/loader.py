"""load_catalogue: source -> format -> mapping -> rules -> assembled products, with the feed-level checks.

A feed is refused as a whole (FeedRefused, nothing written) when it is empty, truncated,
HTML, hostile XML, answered with an HTTP error, has too many record errors, or is far smaller
than last time: a broken download must never look like "every product was discontinued".
"""

from __future__ import annotations

import gc
import hashlib
import logging
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsync.catalogue import FieldUpdate, Product, RecordError
from wsync.errors import FeedRefused
from wsync.feeds import second_core
from wsync.feeds.records import detect_format, open_records
from wsync.feeds.rows_pass import Share, feed_rows, map_one_for
from wsync.feeds.sources import open_source
from wsync.feeds.spec import FeedSpec
from wsync.mapping.assemble import Assembler
from wsync.mapping.fields import PARTIAL_FIELDS, FieldMapper
from wsync.mapping.images import normalise_url
from wsync.mapping.partial import update_fields
from wsync.mapping.spill import SpillAssembler, SpilledProducts
from wsync.redact import redact

if TYPE_CHECKING:
    from wsync.feeds.join import MapOne

log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    # A list; or, loaded with a spill directory, the products on disk (read a window at a time).
    products: list[Product] | SpilledProducts = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    not_modified: bool = False
    # Why not_modified: "http" (the server answered 304) or "digest" (the same bytes as last time).
    unchanged_by: str = ""
    fetch_state: dict[str, Any] = field(default_factory=dict)
    # Notes that do not reject anything (assumed encoding, a variable product demoted to simple).
    warnings: list[str] = field(default_factory=list)
    # A partial feed (docs/feeds.md, "Partial feeds"): its records, and the fields it carries.
    # None for a feed of products.
    updates: list[FieldUpdate] | None = None
    partial_fields: list[str] = field(default_factory=list)


def count(products: list[Product], errors: list[RecordError]) -> dict[str, int]:
    images = 0
    distinct: set[str] = set()
    variations = 0
    for p in products:
        images += len(p.images)
        distinct.update(normalise_url(i.src) for i in p.images)
        variations += len(p.variations)
        for v in p.variations:
            if v.image is not None:
                images += 1
                distinct.add(normalise_url(v.image.src))
    return {"products": len(products), "variable": sum(1 for p in products if p.type == "variable"),
            "variations": variations, "images": images, "distinct_images": len(distinct), "errors": len(errors)}


def load_catalogue(spec: FeedSpec, *, fetch_state: dict[str, Any] | None = None, force: bool = False,
                   previous_count: int | None = None, max_errors: int | None = None,
                   max_error_share: float | None = None, workdir: Path | None = None,
                   spill_dir: Path | None = None) -> LoadResult:
    """Read, map and check a feed. With `spill_dir`, the products are assembled on disk there
    (wsync.mapping.spill) and `products` reads them back: memory does not grow with the feed,
    and the directory must outlive the result."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="wsync-feed-") as tmp:
            return load_catalogue(spec, fetch_state=fetch_state, force=force, previous_count=previous_count,
                                  max_errors=max_errors, max_error_share=max_error_share, workdir=Path(tmp),
                                  spill_dir=spill_dir)
    # Loading creates hundreds of thousands of long-lived objects and no reference cycles; the
    # default collector thresholds would rescan the growing heap over and over (a third of the time).
    thresholds = gc.get_threshold()
    gc.set_threshold(200_000, 50, 1000)
    try:
        return _load(spec, fetch_state, force, previous_count, max_errors, max_error_share, workdir, spill_dir)
    except FeedRefused as exc:
        raise FeedRefused(redact(exc.message), hint=exc.hint) from None
    finally:
        gc.set_threshold(*thresholds)


def _load(spec: FeedSpec, fetch_state: dict[str, Any] | None, force: bool, previous_count: int | None,
          max_errors: int | None, max_error_share: float | None, workdir: Path, spill_dir: Path | None) -> LoadResult:
    result = LoadResult()
    fmt = spec.format
    path: Path | None = None
    if fmt != "api":
        # A feed in two files is read whole each time: the second file may change on its own.
        opened = open_source(spec.source, label=spec.label, workdir=workdir,
                             fetch_state=None if spec.join else fetch_state, force=force or bool(spec.join),
                             auth=spec.auth, headers_env=spec.headers_env, timeout=spec.timeout,
                             retries=spec.retries, retry_wait=spec.retry_wait, verify=spec.verify_tls) \
            if spec.source.lower().startswith(("http://", "https://")) else \
            open_source(spec.source, label=spec.label, workdir=workdir)
        result.fetch_state = opened.fetch_state
        if opened.not_modified:
            result.not_modified, result.unchanged_by = True, "http"
            result.counts = count([], [])
            return result
        path = opened.path
        assert path is not None
        if not spec.join:
            # The bytes as read (after unpacking): a local file, or a server that sends no
            # validators, is found unchanged as surely as by a 304.
            digest = file_digest(path)
            result.fetch_state = {**result.fetch_state, "digest": digest}
            if fetch_state and not force and fetch_state.get("digest") == digest:
                result.not_modified, result.unchanged_by = True, "digest"
                result.counts = count([], [])
                return result
        fmt = detect_format(path, spec)
    else:
        result.fetch_state = {"source": spec.source}
    records, header = open_records(spec, path, fmt, result.warnings)
    index = None
    try:
        if spec.join is not None:
            from wsync.feeds.join import JoinIndex, joined_fields

            if header is not None and spec.join.on not in header:
                shown = ", ".join(repr(h) for h in header[:12])
                raise FeedRefused(f"{spec.label} line 1: the join names column {spec.join.on!r} that the header "
                                  f"does not have (columns: {shown})", hint="fix join.on in the feed config")
            index = JoinIndex(spec, spec.join, workdir, result.warnings)
            result.errors.extend(index.errors)
            if spec.join.kind == "fields":
                records = joined_fields(records, index, spec.join, spec.label, result.errors)
                if header is not None:
                    header = header + [h for h in index.header if h not in header and h != spec.join.other_on]
        seen = _load_records(spec, records, header, index, result, spill_dir, path, fmt)
        if index is not None and spec.join is not None:
            result.errors.extend(index.unmatched(spec.label, spec.join.on))
    finally:
        if index is not None:
            index.close()
    if isinstance(result.products, SpilledProducts):
        result.counts = {**result.counts, "errors": len(result.errors)}
    else:
        result.counts = count(result.products, result.errors)
    if result.updates is not None:
        result.counts["updates"] = len(result.updates)
    _check_feed(spec, result, seen, previous_count, max_errors, max_error_share)
    return result


def file_digest(path: Path) -> str:
    with open(path, "rb") as fh:
        return "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()


def _load_records(spec: FeedSpec, records: Iterable[tuple[str, Any]], header: list[str] | None, index: Any,
                  result: LoadResult, spill_dir: Path | None = None, path: Path | None = None,
                  fmt: str = "") -> int:
    """Map the records into result (products, or a partial feed's updates); how many were read."""
    map_one, mapper, preset_mapper = map_one_for(spec, header, index)
    carried = _partial(spec, mapper)
    if carried:
        result.partial_fields = carried
        result.updates = []
        seen_records = _feed_updates(records, map_one, spec, carried, result.updates, result.errors)
        _check_partial(spec, result)
        return seen_records
    helper = None
    try:
        if spill_dir is not None:
            spilled = SpillAssembler(spill_dir / "catalogue.sqlite")
            seen_records, helper = _feed_rows_spilled(spec, records, map_one, spilled, result, spill_dir, path, fmt)
            products: list[Product] | SpilledProducts = spilled.finish(helper)
            assembler: Assembler | SpillAssembler = spilled
        else:
            assembler = Assembler()
            seen_records = feed_rows(records, map_one, spec, assembler, result.errors)
            products = assembler.finish()
    except BaseException:
        if helper is not None:
            helper.stop(now=True)
        raise
    if helper is not None:
        helper.stop()
    if preset_mapper is not None:
        # A preset's notes on the file as a whole (columns it does not import, the language read).
        result.warnings.extend(getattr(preset_mapper, "warnings", []))
    result.errors.extend(assembler.errors)
    result.warnings.extend(str(w) for w in assembler.warnings)
    result.products = products
    if isinstance(assembler, SpillAssembler):
        result.counts = {**assembler.counts}
    return seen_records


def _feed_rows_spilled(spec: FeedSpec, records: Iterable[tuple[str, Any]], map_one: MapOne,
                       assembler: SpillAssembler, result: LoadResult, spill_dir: Path, path: Path | None,
                       fmt: str) -> tuple[int, second_core.Helper | None]:
    """Pass 1 into the spill: on two cores where that pays (wsync.feeds.second_core), else here.
    Returns the records read, and the helper process if it is there to share pass 2 (the
    caller stops it)."""
    helper = None
    if path is not None and second_core.wanted(path, spilled=True, joined=spec.join is not None, partial=False):
        helper = second_core.start(spec, path, fmt, spill_dir)
    if helper is None:
        return feed_rows(records, map_one, spec, assembler, result.errors), None
    assert path is not None
    try:
        ours = Share(mine=0, block=helper.block)
        seen = feed_rows(records, map_one, spec, assembler, [], share=ours)
        second_core.check_unchanged(path, spec.label, helper.file)
        theirs = helper.collect()
    except BaseException:
        helper.stop(now=True)
        raise
    if theirs is None:
        helper.spill.unlink(missing_ok=True)  # whatever it wrote before it failed
        theirs = Share(mine=1, block=helper.block)
        again, _ = open_records(spec, path, fmt, [])
        feed_rows(again, map_one, spec, assembler, [], share=theirs)
        second_core.check_unchanged(path, spec.label, helper.file)
        helper = None  # stopped: pass 2 in this process
    else:
        assembler.absorb(helper.spill, helper.block)
    row_errors, keyless_errors = second_core.merged(ours, theirs)
    result.errors.extend(row_errors)
    # One process reports rows without a key as it adds them, after every mapping error.
    assembler.errors[:0] = keyless_errors
    return seen, helper


def _partial(spec: FeedSpec, mapper: FieldMapper | None) -> list[str]:
    """The fields a partial feed carries; [] for a feed of products."""
    if spec.preset or spec.partial is False or (spec.join is not None and spec.join.kind == "variations"):
        return []
    if mapper is None:
        if spec.partial:
            raise FeedRefused(f"{spec.label}: a partial feed without a header needs a mapping table",
                              hint="add [feeds.NAME.mapping] with sku and the fields it carries")
        return []
    carried = mapper.partial_fields()
    if spec.partial and not carried:
        raise FeedRefused(f"{spec.label}: partial = true, and the mapping names more than a key and "
                          + ", ".join(PARTIAL_FIELDS), hint="map only the key and the fields the file updates")
    if spec.partial is None and "name" in mapper.columns:
        return []
    return carried


def _feed_updates(records: Iterable[tuple[str, Any]], map_one: MapOne, spec: FeedSpec, carried: list[str],
                  updates: list[FieldUpdate], errors: list[RecordError]) -> int:
    rules = spec.rules
    seen = 0
    keys: set[str] = set()
    for where, record in records if isinstance(records, Iterator) else iter(records):
        seen += 1
        row, row_errors = map_one(record, where)
        if row_errors:
            errors.extend(row_errors)
        if row is None or not rules.keep(row):
            continue
        rules.apply(row)
        if row.key in keys:
            errors.append(RecordError(where, "duplicate key: an earlier record already has it (kept)", field="sku",
                                      value=row.key, sku=row.sku))
            continue
        keys.add(row.key)
        fields = update_fields(row, carried)
        if fields:
            updates.append(FieldUpdate(row.key, fields, where))
    return seen


def _check_partial(spec: FeedSpec, result: LoadResult) -> None:
    if any(f in ("regular_price", "sale_price") for f in result.partial_fields) or "cost" not in \
            result.partial_fields:
        return
    if not any("regular_price" in u.fields for u in result.updates or []):
        result.warnings.append(f"{spec.label}: a partial feed of costs and no pricing rule sets no store field "
                               "(add [feeds.NAME.pricing] to make prices from them)")


def _check_feed(spec: FeedSpec, result: LoadResult, seen: int, previous_count: int | None,
                max_errors: int | None, max_error_share: float | None) -> None:
    label = spec.label
    errors = result.errors
    first = "; ".join(str(e) for e in errors[:3])
    if seen == 0:
        raise FeedRefused(f"{label}: the feed holds no records", hint="an empty feed is never taken as "
                                                                       "'all products discontinued'")
    limit = max_errors if max_errors is not None else spec.max_errors
    if limit is not None and len(errors) > limit:
        raise FeedRefused(f"{label}: {len(errors)} record errors, more than the limit of {limit} (first: {first})",
                          hint="fix the feed or the mapping, or raise max_errors")
    share_limit = max_error_share if max_error_share is not None else spec.max_error_share
    records = result.counts["products"] + result.counts["variations"] + result.counts.get("updates", 0) + len(errors)
    if errors and records and len(errors) / records > share_limit:
        raise FeedRefused(f"{label}: {len(errors)} of {records} records have errors, more than "
                          f"{share_limit:.0%} (first: {first})",
                          hint="fix the feed or the mapping, or raise max_error_share")
    if previous_count:
        floor = spec.min_share * previous_count
        kept = result.counts["updates"] if result.updates is not None else result.counts["products"]
        if kept < floor:
            raise FeedRefused(f"{label}: only {kept} {'records' if result.updates is not None else 'products'}, "
                              f"under {spec.min_share:.0%} of "
                              f"the {previous_count} last time; refused as a probably broken download",
                              hint="if the catalogue really shrank, run again with --force or lower min_share")
