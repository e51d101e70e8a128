"""`wsync feed suggest`: read a sample of a supplier's file (and of a second file it joins), ask
wsync.mapping.suggest for a mapping, and write it as a commented `[feeds.NAME]` table.

The table written is loaded with wsync's own loader before it is shown or saved, so what
`--write` puts into wsync.toml is a feed `wsync feed preview NAME` reads.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsync.errors import FeedRefused
from wsync.feeds.records import detect_format, open_records
from wsync.feeds.sources import is_url, open_source
from wsync.feeds.spec import FeedSpec
from wsync.mapping.suggest import Suggestion, suggest

SAMPLE_ROWS = 5000


@dataclass
class Sample:
    label: str
    format: str
    columns: list[str]
    records: list[dict[str, Any]]
    delimiter: str | None = None
    encoding: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class FeedSuggestion:
    """The suggestion for a feed: its options, its mapping, and a second file's join."""

    name: str
    source: str
    sample: Sample
    suggestion: Suggestion
    join: dict[str, Any] | None = None
    join_sample: Sample | None = None
    join_suggestion: Suggestion | None = None
    # Why the second file joins the first, and as what (the join key's share, rows per key).
    join_evidence: list[str] = field(default_factory=list)

    def table(self) -> dict[str, Any]:
        """The [feeds.NAME] table as data (what the TOML says, without its comments)."""
        out: dict[str, Any] = {"source": self.source}
        if self.sample.delimiter and self.sample.delimiter != ",":
            out["delimiter"] = self.sample.delimiter
        out.update(self.suggestion.options())
        mapping = self.suggestion.mapping()
        if self.join is not None:
            out["join"] = dict(self.join)
            if self.join_suggestion is not None:
                out["join"]["mapping"] = self.join_suggestion.mapping()
                out["join"]["mapping"].pop("group", None)
                if self.join_sample and self.join_sample.delimiter and self.join_sample.delimiter != ",":
                    out["join"]["delimiter"] = self.join_sample.delimiter
        out["mapping"] = mapping
        return out

    def to_dict(self) -> dict[str, Any]:
        doc = {"success": True, "feed": self.name, "source": self.source, "format": self.sample.format,
               "delimiter": self.sample.delimiter, "encoding": self.sample.encoding, **self.suggestion.to_dict(),
               "table": self.table(), "toml": render_toml(self)}
        if self.join is not None:
            doc["join"] = {**self.join, **({"suggestion": self.join_suggestion.to_dict()}
                                           if self.join_suggestion else {})}
        doc["warnings"] = self.sample.warnings + self.suggestion.warnings + (
            self.join_suggestion.warnings if self.join_suggestion else [])
        return doc


def read_sample(source: str, *, limit: int = SAMPLE_ROWS, format: str | None = None,
                delimiter: str | None = None, workdir: Path) -> Sample:
    """The first `limit` records of a source, as the loader reads them (encoding, delimiter,
    archives and downloads included)."""

    spec = FeedSpec(name="suggest", source=source, format=format, delimiter=delimiter)
    opened = open_source(source, label=spec.label, workdir=workdir)
    assert opened.path is not None
    fmt = detect_format(opened.path, spec)
    warnings: list[str] = []
    records, header = open_records(spec, opened.path, fmt, warnings)
    rows: list[dict[str, Any]] = []
    columns: list[str] = list(header or [])
    for _, record in records:
        if not isinstance(record, dict) or "__width_error__" in record:
            continue
        rows.append(record)
        if header is None:
            for key, value in record.items():
                if key not in columns and not isinstance(value, (dict, list)):
                    columns.append(key)
        if len(rows) >= limit:
            break
    if not rows:
        raise FeedRefused(f"{spec.label}: the feed holds no records to suggest a mapping from")
    return Sample(spec.label, fmt, columns, rows, delimiter=getattr(records, "delimiter", None),
                  encoding=getattr(records, "encoding", None), warnings=warnings)


def find_join_key(main: Sample, other: Sample) -> tuple[str, str, float] | None:
    """(main column, other column, share): the other file's column whose values are one main
    column's values (a product id or reference) on most of its rows; the main column's values
    must be unique (one product each)."""
    best = None
    main_values = {}
    for column in main.columns:
        values = [str(r.get(column) or "").strip() for r in main.records]
        filled = [v for v in values if v]
        if filled and len(set(filled)) == len(filled):
            main_values[column] = set(filled)
    for ocol in other.columns:
        values = [str(r.get(ocol) or "").strip() for r in other.records]
        filled = [v for v in values if v]
        if not filled:
            continue
        for mcol, known in main_values.items():
            share = sum(1 for v in filled if v in known) / len(filled)
            if share >= 0.8 and (best is None or share > best[2] or (share == best[2] and mcol == ocol)):
                best = (mcol, ocol, share)
    return best


def suggest_feed(source: str, *, name: str | None = None, join: str | None = None, limit: int = SAMPLE_ROWS,
                 base_dir: Path | None = None, format: str | None = None) -> FeedSuggestion:
    base = Path(base_dir or Path.cwd())
    with tempfile.TemporaryDirectory(prefix="wsync-suggest-") as tmp:
        (Path(tmp) / "a").mkdir()
        (Path(tmp) / "b").mkdir()
        sample = read_sample(_resolved(source), limit=limit, format=format, workdir=Path(tmp) / "a")
        join_sample = None
        if join:
            join_sample = read_sample(_resolved(join), limit=limit, workdir=Path(tmp) / "b")
    feed_name = name or _feed_name(source)
    if not join or join_sample is None:
        return FeedSuggestion(feed_name, _written_source(source, base), sample, suggest(sample.columns, sample.records))
    key = find_join_key(sample, join_sample)
    if key is None:
        raise FeedRefused(f"{join_sample.label}: no column of it holds values of one of {sample.label}'s columns",
                          hint="write the join yourself: join = {source = ..., on = [\"column\", \"its column\"]}")
    mcol, ocol, share = key
    main = suggest(sample.columns, sample.records, join_key=mcol)
    other = suggest(join_sample.columns, join_sample.records, join_key=ocol)
    per_key: dict[str, int] = {}
    for r in join_sample.records:
        v = str(r.get(ocol) or "").strip()
        per_key[v] = per_key.get(v, 0) + 1
    several = sum(1 for n in per_key.values() if n > 1)
    own_sku = other.choice("sku") is not None
    kind = "variations" if several or own_sku else "fields"
    evidence = [f"{share:.0%} of {join_sample.label}'s {ocol!r} values are {sample.label}'s {mcol!r} values",
                f"{several} of its {len(per_key)} keys have several rows"
                + (", each with its own SKU" if own_sku else "")]
    joined = {"source": _written_source(join, base), "on": mcol if mcol == ocol else [mcol, ocol], "as": kind}
    if kind == "fields":
        # The second file's columns join the first file's records: one mapping names both.
        for choice in other.choices:
            if choice.key != "sku" and main.choice(choice.key) is None:
                main.choices.append(choice)
        other_suggestion = None
    else:
        other_suggestion = other
    out = FeedSuggestion(feed_name, _written_source(source, base), sample, main, join=joined,
                         join_sample=join_sample, join_suggestion=other_suggestion)
    out.join_evidence = evidence
    return out


def _resolved(source: str) -> str:
    """A command line's source: a URL, or a path from the current folder."""
    if is_url(source):
        return source
    return str(Path(source).expanduser().resolve())


def _written_source(source: str, base: Path) -> str:
    """The source as wsync.toml should say it: relative to the file's folder when inside it."""
    if is_url(source):
        return source
    path = Path(source).expanduser()
    full = (path if path.is_absolute() else Path.cwd() / path).resolve()
    try:
        return full.relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(full)


def _feed_name(source: str) -> str:
    stem = Path(source.split("?")[0].rstrip("/")).name.split(".")[0]
    name = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-_")
    return name or "supplier"


# -- TOML -----------------------------------------------------------------------------------------
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(text: str) -> str:
    return text if _BARE.match(text) else _string(text)


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def _comment(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _line(key: str, value: Any, note: str | None, width: int = 34) -> str:
    text = f"{_key(key)} = {_value(value)}"
    if note:
        text = f"{text:<{width}} # {_comment(note)}"
    return text


def _choice_note(choice: Any) -> str:
    return f"{choice.confidence:.2f}: " + "; ".join(choice.evidence)


def _mapping_lines(suggestion: Suggestion, skip: tuple[str, ...] = ()) -> list[str]:
    lines = []
    attributes = []
    for choice in suggestion.choices:
        if choice.key in skip or choice.key in ("decimal", "partial"):
            continue
        if choice.key.startswith("attributes."):
            attributes.append(choice)
            continue
        lines.append(_line(choice.key, choice.value, _choice_note(choice)))
    if attributes:
        lines.append("# attributes = the store's name for each = the column; with a group, one that differs")
        lines.append("# between a group's rows defines its variations, one equal on all of them stays on the parent")
        for choice in attributes:
            lines.append("# " + _comment(f"{choice.key.split('.', 1)[1]}: {_choice_note(choice)}"))
        lines.append(_line("attributes", {c.key.split(".", 1)[1]: c.value for c in attributes}, None))
    return lines


def render_toml(result: FeedSuggestion) -> str:
    """The commented [feeds.NAME] table."""
    s = result.suggestion
    name = _key(result.name)
    out = [f"# [feeds.{result.name}]: suggested by `wsync feed suggest` from {result.sample.label} "
           f"({s.rows} rows read). Check each line, then run `wsync feed preview {result.name}`.",
           f"[feeds.{name}]", _line("source", result.source, None)]
    if result.sample.delimiter and result.sample.delimiter != ",":
        out.append(_line("delimiter", result.sample.delimiter,
                         f"the header splits into {len(result.sample.columns)} columns by it"))
    for choice in s.choices:
        if choice.key in ("decimal", "partial"):
            out.append(_line(choice.key, choice.value, _choice_note(choice)))
    if s.language:
        out.append(f"# headers read as {s.language!r}")
    if result.join is not None:
        note = "; ".join(result.join_evidence)
        out += ["", f"[feeds.{name}.join]", f"# {_comment(note)}" if note else "",
                _line("source", result.join["source"], None),
                _line("on", result.join["on"], "the first file's column" + (", the second file's" if
                                                                            isinstance(result.join["on"], list)
                                                                            else " (both files have it)")),
                _line("as", result.join["as"], "each row of the second file is a variation of its product"
                      if result.join["as"] == "variations" else "its columns join the product's row")]
        if result.join_sample and result.join_sample.delimiter and result.join_sample.delimiter != ",":
            out.append(_line("delimiter", result.join_sample.delimiter, None))
        if result.join_suggestion is not None:
            out += ["", f"[feeds.{name}.join.mapping]"]
            out += _mapping_lines(result.join_suggestion, skip=("group", "parent"))
    out += ["", f"[feeds.{name}.mapping]"]
    out += _mapping_lines(s)
    unmapped = list(s.unmapped) + (list(result.join_suggestion.unmapped) if result.join_suggestion else [])
    if unmapped:
        out += ["", "# columns no field takes (first value seen):"]
        out += ["#   " + _comment(f"{u['column']!r}: {u['sample']!r}") for u in unmapped]
    warnings = result.sample.warnings + s.warnings + (result.join_suggestion.warnings if result.join_suggestion
                                                       else [])
    if warnings:
        out += ["", "# check:"] + ["#   " + _comment(w) for w in warnings]
    return "\n".join(line for line in out if line is not None) + "\n"
