"""Records -> mapped rows into an assembler: the first pass over a feed of products, whole or a share.

`map_one_for` makes the function that maps one record (a preset's, or the generic mapping, with
the automatic one guessed from the header or the first record); `feed_rows` maps, filters and
hands each row to the assembler. With a `Share`, only the records of every other block are
mapped, so two processes can split a big file (wsync.feeds.second_core).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wsync.catalogue import RecordError
from wsync.errors import FeedRefused
from wsync.feeds.csv_format import CsvFeed
from wsync.feeds.presets import PresetMapper, mapper_for
from wsync.feeds.spec import FeedSpec
from wsync.mapping.assemble import Assembler, keyless
from wsync.mapping.fields import PARTIAL_FIELDS, FieldMapper
from wsync.mapping.rows import Row
from wsync.mapping.spill import SpillAssembler

if TYPE_CHECKING:
    from wsync.feeds.join import MapOne

# Records per block of a share. Long runs keep the merge cheap (the helper's rows go into the
# spill's table as runs, not one between every two of ours); short enough that both processes
# have work to the end.
BLOCK = 4096


@dataclass
class Share:
    """The records one process maps (block index % 2 == mine), and the errors it met, each with
    its record's index so both processes' errors merge into the feed's order."""

    mine: int
    block: int = BLOCK
    row_errors: list[tuple[int, RecordError]] = field(default_factory=list)
    keyless: list[tuple[int, RecordError]] = field(default_factory=list)

    def takes(self, index: int) -> bool:
        return (index // self.block) % 2 == self.mine


def check_columns(mapper: FieldMapper, header: list[str], label: str) -> None:
    missing = [c for c in dict.fromkeys(mapper.source_columns()) if c not in header]
    if missing:
        shown = ", ".join(repr(h) for h in header[:12]) + (" ..." if len(header) > 12 else "")
        raise FeedRefused(f"{label} line 1: the mapping names column(s) {', '.join(map(repr, missing))} that the "
                          f"header does not have (columns: {shown})",
                          hint="fix [feeds.NAME.mapping], or the delimiter / encoding if the header looks wrong")



def auto_mapper(header: list[str], label: str, spec: FeedSpec) -> FieldMapper:
    mapper = FieldMapper.automatic(header)
    mapper.decimal, mapper.variants_path = spec.decimal, spec.variants_path
    if "sku" in mapper.columns and "name" not in mapper.columns and spec.partial is not False:
        partial = FieldMapper(columns={k: v for k, v in mapper.columns.items()
                                       if k in ("sku", *PARTIAL_FIELDS)}, auto=True)
        partial.decimal = spec.decimal
        if partial.partial_fields():
            return partial  # a key and stock / prices: a partial feed
    if "sku" not in mapper.columns or "name" not in mapper.columns:
        shown = ", ".join(repr(h) for h in header[:12])
        raise FeedRefused(f"{label}: no column recognised as the SKU and the name (columns: {shown})",
                          hint="add a [feeds.NAME.mapping] table, or use --preset")
    return mapper


def map_one_for(spec: FeedSpec, header: list[str] | None,
                index: Any) -> tuple[MapOne, FieldMapper | None, PresetMapper | None]:
    """The function that maps one record of this feed; its generic mapper (None under a preset, or
    until a header-less feed's first record names the fields); its preset's mapper, if any."""
    mapper = None
    if spec.preset:
        preset_mapper = mapper_for(spec.preset, {"key_template": spec.key_template})
        map_one: MapOne = lambda record, where: preset_mapper(record, where, spec.decimal)  # noqa: E731
        return map_one, None, preset_mapper
    mapper = spec.mapper
    if header is not None:
        mapper = mapper or auto_mapper(header, spec.label, spec)
        check_columns(mapper, header, spec.label)
    map_one = _lazy_generic(mapper, spec)
    if spec.join is not None and spec.join.kind == "variations":
        from wsync.feeds.join import joined_variations

        map_one = joined_variations(map_one, index, spec.join, mapper)
    return map_one, mapper, None


def _lazy_generic(mapper: FieldMapper | None, spec: FeedSpec) -> MapOne:
    """JSON/XML records have no header: an automatic mapping is guessed from the first record."""
    state: dict[str, FieldMapper] = {}
    if mapper is not None:
        state["m"] = mapper

    def map_one(record: Any, where: str) -> tuple[Row | None, list[RecordError]]:
        if not isinstance(record, dict):
            return None, [RecordError(where, "record is not an object / element with fields")]
        if "__width_error__" in record:
            return None, [RecordError(where, "row " + record["__width_error__"])]
        if "m" not in state:
            state["m"] = auto_mapper(list(record), spec.label, spec)
        return state["m"].map(record, where)

    return map_one


def feed_rows(records: Iterable[tuple[str, Any]], map_one: MapOne, spec: FeedSpec,
               assembler: Assembler | SpillAssembler,
               errors: list[RecordError], share: Share | None = None) -> int:
    """Map and filter every record into the assembler; with `share`, only the records it takes,
    their errors kept in it with their places in the feed (`errors` is then not used)."""
    if share is not None and isinstance(records, CsvFeed):
        records.takes = share.takes  # half a CSV's records are another process's: not made into dicts
        try:
            return _feed_rows(records, map_one, spec, assembler, errors, share)
        finally:
            records.takes = None
    return _feed_rows(records, map_one, spec, assembler, errors, share)


def _feed_rows(records: Iterable[tuple[str, Any]], map_one: MapOne, spec: FeedSpec,
               assembler: Assembler | SpillAssembler, errors: list[RecordError], share: Share | None) -> int:
    rules = spec.rules
    seen = 0
    for where, record in records if isinstance(records, Iterator) else iter(records):
        seen += 1
        if share is not None:
            index = seen - 1
            if not share.takes(index):
                if index == 0:
                    # A mapper learns the file from its first record (a header-less feed's fields,
                    # a preset's columns): whoever maps the rest must have seen it too.
                    map_one(record, where)
                continue
            assert isinstance(assembler, SpillAssembler)
            assembler.place(index)
        row, row_errors = map_one(record, where)
        if row_errors:
            if share is not None:
                share.row_errors.extend((seen - 1, e) for e in row_errors)
            else:
                errors.extend(row_errors)
        if row is None:
            continue
        if not rules.keep(row):
            assembler.exclude(row)
            continue
        rules.apply(row)
        kept: list[Row] = []
        for child in row.children:
            child.source = child.source or None
            if rules.keep(child):
                rules.apply(child)
                child.source = None
                kept.append(child)
        row.children = kept
        row.source = None
        if share is not None and not row.key:
            share.keyless.append((seen - 1, keyless(row)))
            continue
        assembler.add(row)
    return seen
