"""FeedSpec: one feed's validated settings, from a `[feeds.NAME]` table or an ad-hoc source."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from wsync.errors import ConfigError, Fail
from wsync.feeds.presets import PRESETS
from wsync.feeds.sources import is_url
from wsync.mapping.fields import FieldMapper
from wsync.mapping.numbers import decimal_separator_for
from wsync.mapping.rules import Rules

FORMATS = ("csv", "tsv", "json", "jsonl", "xml", "api")
RULE_TABLES = ("filters", "category_map", "attribute_names", "fixed", "defaults", "pricing")
OPTION_KEYS = {"source", "format", "preset", "encoding", "delimiter", "items_path", "variants_path", "item_element",
               "namespaces", "pagination", "locale", "decimal", "auth", "headers_env", "timeout", "retries",
               "retry_wait", "min_share", "max_errors", "max_error_share", "key_template", "mapping", "partial",
               "join", *RULE_TABLES}
JOIN_KEYS = {"source", "on", "as", "mapping", "format", "delimiter", "encoding"}
JOIN_KINDS = ("variations", "fields")


@dataclass
class JoinSpec:
    """A second file joined to a feed's records by key (docs/feeds.md, "Feeds in two files")."""

    source: str
    on: str  # the feed's column
    other_on: str  # the joined file's column
    kind: str = "variations"  # variations | fields
    mapper: FieldMapper | None = None  # for kind = "variations": how a joined row maps
    format: str | None = None
    delimiter: str | None = None
    encoding: str | None = None

    @property
    def label(self) -> str:
        return self.source if is_url(self.source) else Path(self.source).name


@dataclass
class FeedSpec:
    name: str
    source: str
    format: str | None = None
    preset: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    items_path: str | None = None
    variants_path: str | None = None
    item_element: str | None = None
    namespaces: dict[str, str] = field(default_factory=dict)
    pagination: dict[str, Any] = field(default_factory=dict)
    decimal: str | None = None
    auth: dict[str, str] | None = None
    headers_env: dict[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    retries: int = 3
    retry_wait: float = 1.0
    min_share: float = 0.5
    max_errors: int | None = None
    max_error_share: float = 0.5
    key_template: str | None = None
    mapper: FieldMapper | None = None
    rules: Rules = field(default_factory=Rules)
    verify_tls: bool = True
    # True: a partial feed (a key and some fields, docs/feeds.md "Partial feeds"); False: never
    # one; None: read as one when the mapping names a key and only such fields.
    partial: bool | None = None
    join: JoinSpec | None = None

    @property
    def label(self) -> str:
        return self.source if is_url(self.source) else Path(self.source).name

    @classmethod
    def adhoc(cls, source: str, preset: str | None = None, format: str | None = None,
              name: str | None = None) -> FeedSpec:
        table: dict[str, Any] = {"source": source}
        if preset:
            table["preset"] = preset
        if format:
            table["format"] = format
        return cls.from_config(name or "adhoc", table, Path.cwd())

    @classmethod
    def from_config(cls, name: str, table: dict[str, Any], base_dir: Path) -> FeedSpec:
        prefix = f"feeds.{name}"

        def fail(key: str, message: str, hint: str | None = None) -> NoReturn:
            raise ConfigError(message, key=f"{prefix}.{key}", hint=hint)

        if not isinstance(table, dict):
            raise ConfigError("must be a table", key=prefix, hint=f"write [{prefix}] with source = \"...\"")
        for key in table:
            if key not in OPTION_KEYS:
                fail(key, "unknown feed option", "known options: " + ", ".join(sorted(OPTION_KEYS)))
        source = table.get("source")
        if not isinstance(source, str) or not source.strip():
            fail("source", "is missing", 'set source = "path/to/feed.csv" or an https:// URL')
        spec = cls(name=name, source=resolve_source(source, base_dir))
        preset = table.get("preset")
        if preset is not None and preset not in PRESETS:
            fail("preset", f"unknown preset {preset!r}", "use one of: " + ", ".join(PRESETS))
        spec.preset = preset
        fmt = table.get("format")
        if fmt is not None and fmt not in FORMATS:
            fail("format", f"unknown format {fmt!r}", "use one of: " + ", ".join(FORMATS))
        spec.format = fmt
        for key in ("encoding", "delimiter", "items_path", "variants_path", "item_element", "key_template"):
            value = table.get(key)
            if value is not None:
                if not isinstance(value, str) or not value:
                    fail(key, "must be a non-empty string")
                setattr(spec, key, value)
        if spec.delimiter is not None:
            spec.delimiter = {"\\t": "\t", "tab": "\t"}.get(spec.delimiter, spec.delimiter)
            if len(spec.delimiter) != 1:
                fail("delimiter", "must be one character", 'e.g. delimiter = ";" or "\\t"')
        if spec.encoding:
            import codecs

            try:
                codecs.lookup(spec.encoding)
            except LookupError:
                fail("encoding", f"unknown encoding {spec.encoding!r}", 'e.g. "utf-8", "cp1252", "latin-1"')
        for key in ("namespaces", "headers_env"):
            value = table.get(key, {})
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                fail(key, "must be a table of strings")
            setattr(spec, key, dict(value))
        pagination = table.get("pagination", {})
        if not isinstance(pagination, dict):
            fail("pagination", "must be a table", 'e.g. pagination = {type = "page", page_size = 100}')
        if pagination and pagination.get("type", "page") not in ("page", "offset", "next"):
            fail("pagination.type", f"unknown pagination {pagination.get('type')!r}", 'use "page", "offset" or "next"')
        for key in ("page_size", "max_pages", "start"):
            if key in pagination and (not isinstance(pagination[key], int) or pagination[key] < 0):
                fail(f"pagination.{key}", "must be a whole number >= 0")
        spec.pagination = dict(pagination)
        if pagination and spec.format is None:
            spec.format = "api"
        if spec.format == "api" and not is_url(source):
            fail("source", "an API feed needs an http(s) URL")
        decimal = table.get("decimal")
        if decimal is not None and decimal not in (",", "."):
            fail("decimal", f"{decimal!r} is not a decimal separator", 'use "," or "."')
        locale = table.get("locale")
        if locale is not None and not isinstance(locale, str):
            fail("locale", "must be a string", 'e.g. locale = "de"')
        spec.decimal = decimal_separator_for(locale, decimal)
        if locale and not spec.decimal:
            fail("locale", f"locale {locale!r} is not known", 'set decimal = "," or "." instead')
        auth = table.get("auth")
        if auth is not None:
            kind = auth.get("type") if isinstance(auth, dict) else None
            needs = {"basic": ("username_env", "password_env"), "bearer": ("token_env",)}.get(kind or "")
            if needs is None:
                fail("auth", "needs type = \"basic\" or \"bearer\"",
                     'e.g. auth = {type="bearer", token_env="SUPPLIER_TOKEN"}')
            for key in needs:
                if not isinstance(auth.get(key), str):
                    fail(f"auth.{key}", "is missing: name the environment variable that holds it")
            spec.auth = dict(auth)
        for key, kind, low, high in (("timeout", float, 0.1, 3600), ("retry_wait", float, 0, 600),
                                     ("min_share", float, 0, 1), ("max_error_share", float, 0, 1),
                                     ("retries", int, 1, 20), ("max_errors", int, 0, 10**9)):
            if key in table:
                value = table[key]
                if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and
                                                                                      not isinstance(value, int)):
                    fail(key, "must be a number")
                if not low <= value <= high:
                    fail(key, f"must be between {low} and {high}")
                setattr(spec, key, kind(value))
        mapping = table.get("mapping")
        if mapping is not None:
            if not isinstance(mapping, dict):
                fail("mapping", "must be a table", f"write [{prefix}.mapping]")
            if spec.preset:
                fail("mapping", "a preset needs no mapping table", "remove either preset or [mapping]")
            spec.mapper = FieldMapper.from_table(mapping, lambda k, m, h: fail(f"mapping.{k}", m, h))
            spec.mapper.decimal = spec.decimal
            spec.mapper.variants_path = spec.variants_path
        partial = table.get("partial")
        if partial is not None and not isinstance(partial, bool):
            fail("partial", "must be true or false")
        spec.partial = partial
        if partial and spec.preset:
            fail("partial", "a preset's feed is a whole catalogue", "remove either preset or partial")
        if partial and spec.mapper is not None and not spec.mapper.partial_fields():
            from wsync.mapping.fields import PARTIAL_FIELDS

            fail("partial", "a partial feed's mapping names a key (sku) and some of " + ", ".join(PARTIAL_FIELDS)
                 + " only", "remove the other mapping keys, or partial = true")
        if "join" in table:
            spec.join = _join_spec(table["join"], base_dir, spec, lambda k, m, h: fail(f"join.{k}", m, h))
        spec.rules = Rules.from_table({k: table[k] for k in (*RULE_TABLES, "mapping") if k in table},
                                      lambda k, m, h: fail(k, m, h))
        return spec


def resolve_source(source: str, base_dir: Path | str) -> str:
    """A URL as it is; a path relative to the directory of the wsync.toml that names it."""
    if is_url(source):
        return source
    path = Path(source).expanduser()
    return str(path if path.is_absolute() else (Path(base_dir) / path))


def _join_spec(table: Any, base_dir: Path, spec: FeedSpec, fail: Fail) -> JoinSpec:
    if not isinstance(table, dict):
        fail("source", "join must be a table", 'e.g. join = { source = "stock.csv", on = "SKU", as = "fields" }')
    for key in table:
        if key not in JOIN_KEYS:
            fail(key, "unknown join option", "known options: " + ", ".join(sorted(JOIN_KEYS)))
    source = table.get("source")
    if not isinstance(source, str) or not source.strip():
        fail("source", "is missing", 'set source = "path/to/second-file.csv" or an https:// URL')
    source = resolve_source(source, base_dir)
    on = table.get("on")
    if isinstance(on, str) and on:
        left = right = on
    elif isinstance(on, list) and len(on) == 2 and all(isinstance(v, str) and v for v in on):
        left, right = on
    else:
        fail("on", "must name the column both files have, or [this file's column, the other file's]",
             'e.g. on = "id_product" or on = ["Art-Nr", "Artikel"]')
    kind = table.get("as", "variations")
    if kind not in JOIN_KINDS:
        fail("as", f"{kind!r} is not a kind of join", 'use "variations" (rows of products) or "fields" (columns)')
    if spec.preset:
        fail("source", "a preset's feed joins nothing", "remove either preset or join")
    if spec.format in ("api",):
        fail("source", "an API feed cannot join a second file", None)
    join = JoinSpec(source=source, on=left, other_on=right, kind=kind)
    for key in ("format", "delimiter", "encoding"):
        value = table.get(key)
        if value is not None:
            if not isinstance(value, str) or not value:
                fail(key, "must be a non-empty string", None)
            setattr(join, key, {"\\t": "\t", "tab": "\t"}.get(value, value) if key == "delimiter" else value)
    if join.format is not None and join.format not in ("csv", "tsv", "json", "jsonl", "xml"):
        fail("format", f"unknown format {join.format!r}", "use csv, tsv, json, jsonl or xml")
    mapping = table.get("mapping")
    if mapping is not None:
        if kind != "variations":
            fail("mapping", "a join of fields adds columns to the feed's records: name them in [mapping]",
                 "move these keys to the feed's own mapping table")
        if not isinstance(mapping, dict):
            fail("mapping", "must be a table", "write [feeds.NAME.join.mapping]")
        join.mapper = FieldMapper.from_table(mapping, lambda k, m, h: fail(f"mapping.{k}", m, h))
        join.mapper.decimal = spec.decimal
    return join
