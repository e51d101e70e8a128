"""A mapping proposed from a feed's own columns and values: what `wsync feed suggest` prints.

Pure data in (column names, a sample of records as text), pure data out (`Suggestion`): each
choice names its evidence and a confidence between 0 and 1. The evidence comes from
  * header names, in the languages of wsync/mapping/synonyms.py;
  * value shapes: EAN/UPC/GTIN check digits, image URLs (and what separates several), decimal
    prices (the lower of two price columns on nearly every row is the cost), whole-number
    stock, yes/no flags, category paths and their separator, dates;
  * rows: a column whose value is shared by consecutive rows while the SKU and a few short
    columns vary is the group (the varying ones its variation attributes);
  * the number locale: "12,50" against "12.50".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from wsync.mapping import synonyms
from wsync.mapping.fields import PARTIAL_FIELDS
from wsync.mapping.numbers import NumberError, parse_decimal
from wsync.mapping.values import parse_date, parse_flag, parse_stock_status

PRICE_FIELDS = ("regular_price", "sale_price", "cost")
NUMBER_FIELDS = (*PRICE_FIELDS, "weight", "length", "width", "height")
_LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
                   "nl": "Dutch", "pl": "Polish"}
_URL = re.compile(r"https?://\S+", re.I)
_IMAGE_EXT = re.compile(r"\.(jpe?g|png|gif|webp|avif|bmp|tiff?)(\?|#|$)", re.I)
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:[.,' ]\d{3})+|\d+)(?:[.,]\d+)?$")
_CURRENCY = re.compile(r"(?i)\s*(€|\$|£|eur|usd|gbp|chf|pln|zł)\s*")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/#-]{0,39}$")
PATH_SEPARATORS = (" > ", ">", " / ", "/", " | ", "|", " » ", "\\")
LIST_SEPARATORS = ("|", ";", ",", " ")


@dataclass
class Choice:
    """One proposal: `key` is the mapping key or feed option ("sku", "decimal", "group",
    "attributes.Size"), `value` what goes into wsync.toml (usually a column name)."""

    key: str
    value: Any
    confidence: float
    evidence: list[str] = field(default_factory=list)
    column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "value": self.value, "column": self.column, "confidence": round(self.confidence, 2),
                "evidence": self.evidence}


@dataclass
class Suggestion:
    columns: list[str]
    rows: int
    choices: list[Choice] = field(default_factory=list)
    unmapped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    partial: bool = False
    language: str | None = None

    def choice(self, key: str) -> Choice | None:
        return next((c for c in self.choices if c.key == key), None)

    def mapping(self) -> dict[str, Any]:
        """The [feeds.NAME.mapping] table the choices make."""
        out: dict[str, Any] = {}
        attributes: dict[str, str] = {}
        for c in self.choices:
            if c.key.startswith("attributes."):
                attributes[c.key.split(".", 1)[1]] = c.value
            elif c.key in _MAPPING_KEYS:
                out[c.key] = c.value
        if attributes:
            out["attributes"] = attributes
        return out

    def options(self) -> dict[str, Any]:
        """Feed options (outside the mapping table) the choices make."""
        return {c.key: c.value for c in self.choices if c.key in _FEED_KEYS}

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "rows_read": self.rows, "choices": [c.to_dict() for c in self.choices],
                "mapping": self.mapping(), "options": self.options(), "unmapped": self.unmapped,
                "partial": self.partial, "language": self.language, "warnings": self.warnings}


_MAPPING_KEYS = {"sku", "parent", "group", "parent_name", "parent_sku", "name", "description", "short_description",
                 "regular_price", "sale_price", "cost", "stock_quantity", "stock_status", "manage_stock", "weight",
                 "length", "width", "height", "brand", "categories", "tags", "images", "gtin", "date_on_sale_from",
                 "date_on_sale_to", "category_separator", "image_separator", "variation_attributes"}
_FEED_KEYS = {"decimal", "partial"}


# -- value shapes ---------------------------------------------------------------------------------
def gtin_ok(code: str) -> bool:
    """EAN-8, UPC-A (12), EAN-13 or GTIN-14 with a valid check digit."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14) or set(code) == {"0"}:
        return False
    digits = [int(c) for c in code]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    return (10 - total % 10) % 10 == digits[-1]


@dataclass
class Profile:
    """What a column's sampled values look like."""

    column: str
    values: list[str]  # non-blank, in row order (None-free)
    filled: float = 0.0
    distinct: int = 0
    unique: bool = False
    gtin: float = 0.0
    images: float = 0.0
    urls: float = 0.0
    url_separator: str | None = None
    integer: float = 0.0
    number: float = 0.0
    decimals: float = 0.0  # share of values with a fractional part
    comma_decimal: int = 0
    dot_decimal: int = 0
    flag: float = 0.0
    status: float = 0.0
    date: float = 0.0
    path_separator: str | None = None
    path: float = 0.0
    code: float = 0.0
    words: float = 0.0  # average words per value
    length: float = 0.0  # average characters
    html: float = 0.0

    def sample(self) -> str:
        return self.values[0] if self.values else ""


def _splits_on(sep: str) -> Callable[[str], bool]:
    """A test: the value splits on `sep` into more than one non-empty part."""
    return lambda v: len([x for x in v.split(sep) if x.strip()]) > 1


def _share(values: list[str], test: Callable[[str], bool]) -> float:
    if not values:
        return 0.0
    hits = 0
    for v in values:
        try:
            if test(v):
                hits += 1
        except (ValueError, NumberError):
            pass
    return hits / len(values)


def profile(column: str, raw: list[str | None]) -> Profile:
    values = [v.strip() for v in raw if v is not None and v.strip()]
    p = Profile(column, values)
    if not values:
        return p
    p.filled = len(values) / max(1, len(raw))
    p.distinct = len(set(values))
    p.unique = p.distinct == len(values)
    p.gtin = _share(values, gtin_ok)
    p.urls = _share(values, lambda v: bool(_URL.match(v)))
    if p.urls:
        multi = [v for v in values if len(re.findall(r"https?://", v, re.I)) > 1]
        for sep in LIST_SEPARATORS:
            if multi and all(len([u for u in v.split(sep) if _URL.match(u.strip())]) > 1 for v in multi):
                p.url_separator = sep
                break
        first_urls = [re.split(r"[|;, ]", _URL.findall(v)[0].split("http", 2)[1])[0] for v in values if _URL.findall(v)]
        p.images = sum(1 for u in first_urls if _IMAGE_EXT.search(u.rstrip(",;|")) or "image" in u.lower()
                       or "/img" in u.lower() or "bild" in u.lower()) / len(values)
    bare = [_CURRENCY.sub("", v) for v in values]
    p.integer = _share(bare, lambda v: re.fullmatch(r"[+-]?\d+", v) is not None and not gtin_ok(v))
    p.number = _share(bare, lambda v: _NUMBER.match(v) is not None)
    p.decimals = _share(bare, lambda v: re.search(r"[.,]\d{1,2}$", v) is not None and _NUMBER.match(v) is not None)
    for v in bare:
        if re.fullmatch(r"\d{1,3}(\.\d{3})*,\d{1,2}|\d+,\d{1,2}", v):
            p.comma_decimal += 1
        elif re.fullmatch(r"\d{1,3}(,\d{3})*\.\d{1,2}|\d+\.\d{1,2}", v):
            p.dot_decimal += 1
    p.flag = _share(values, lambda v: parse_flag(v) is not None) if p.distinct <= 3 else 0.0
    p.status = _share(values, lambda v: parse_stock_status(v) is not None) if p.distinct <= 4 else 0.0
    p.date = _share(values, lambda v: bool(re.search(r"\d", v)) and parse_date(v) is not None and
                    not re.fullmatch(r"\d+", v))
    if not p.urls:
        for sep in PATH_SEPARATORS:
            share = _share(values, _splits_on(sep))
            if share >= 0.5:
                p.path_separator, p.path = sep, share
                break
    p.code = _share(values, lambda v: _CODE.match(v) is not None)
    p.words = sum(len(v.split()) for v in values) / len(values)
    p.length = sum(len(v) for v in values) / len(values)
    p.html = _share(values, lambda v: re.search(r"<(p|br|ul|li|div|b|strong)\b", v, re.I) is not None)
    return p


def _fits(fieldname: str, p: Profile) -> tuple[float, str | None]:
    """How well a column's values fit a field (0 refuses it) and the evidence that says so."""
    n = len(p.values)
    if not n:
        return 0.0, None
    if fieldname == "sku":
        if p.unique and p.code >= 0.95 and p.filled >= 0.9:
            return 1.0, f"{n} values, all different, code-like (e.g. {p.sample()!r})"
        if p.unique and p.filled >= 0.9:
            return 0.7, f"{n} values, all different"
        return (0.3, "values repeat: not unique per row") if p.filled >= 0.9 else (0.0, None)
    if fieldname in ("parent", "group"):
        if p.unique:
            return 0.0, None
        return 1.0, f"{p.distinct} different values on {n} rows"
    if fieldname in ("name", "parent_name"):
        if p.number > 0.5 or p.urls > 0.2 or p.gtin > 0.5:
            return 0.0, None
        if p.words >= 1.5:
            return 1.0, f"text of {p.words:.1f} words on average (e.g. {p.sample()!r})"
        return 0.6, f"short text (e.g. {p.sample()!r})"
    if fieldname in ("description", "short_description"):
        if p.number > 0.5 or p.urls > 0.5:
            return 0.0, None
        if p.html > 0.3:
            return 1.0, "HTML text"
        return (1.0 if p.words >= 6 else 0.6), f"text of {p.words:.0f} words on average"
    if fieldname in PRICE_FIELDS or fieldname in ("weight", "length", "width", "height"):
        if p.number < 0.9 or p.gtin > 0.5:
            return 0.0, None
        if fieldname in PRICE_FIELDS and p.decimals >= 0.5:
            return 1.0, f"decimal numbers (e.g. {p.sample()!r})"
        return 0.7, f"numbers (e.g. {p.sample()!r})"
    if fieldname == "stock_quantity":
        if p.integer >= 0.95:
            return 1.0, f"whole numbers (e.g. {p.sample()!r})"
        return 0.0, None
    if fieldname == "stock_status":
        if p.status >= 0.95:
            return 1.0, f"stock words or yes/no (values: {', '.join(sorted(set(p.values))[:4])})"
        return 0.0, None
    if fieldname == "manage_stock":
        return (1.0, "yes/no values") if p.flag >= 0.95 else (0.0, None)
    if fieldname == "gtin":
        if p.gtin >= 0.9:
            return 1.0, f"{p.gtin:.0%} of values have a valid EAN/UPC check digit"
        return (0.5, "digits, but check digits do not all fit") if p.integer >= 0.9 else (0.0, None)
    if fieldname == "images":
        if p.images >= 0.8:
            return 1.0, f"image URLs (e.g. {p.sample()[:60]!r})"
        return (0.6, "URLs") if p.urls >= 0.8 else (0.0, None)
    if fieldname == "categories":
        if p.urls or p.number > 0.5:
            return 0.0, None
        if p.path_separator:
            return 1.0, f"paths split by {p.path_separator!r} (e.g. {p.sample()!r})"
        return 0.7, f"{p.distinct} different values"
    if fieldname in ("date_on_sale_from", "date_on_sale_to"):
        return (1.0, "dates") if p.date >= 0.9 else (0.0, None)
    if fieldname in ("brand", "tags"):
        if p.number > 0.5 or p.urls:
            return 0.0, None
        return 0.8, f"{p.distinct} different values"
    return 0.5, None


# -- the whole suggestion -------------------------------------------------------------------------
def suggest(columns: list[str], records: list[dict[str, Any]], *, join_key: str | None = None) -> Suggestion:
    """Propose a mapping for a feed with these columns, from a sample of its records (in order).
    join_key: the column a second file joins on (it groups the joined rows; never the SKU)."""
    rows = [{c: _text(r.get(c)) for c in columns} for r in records]
    out = Suggestion(columns=list(columns), rows=len(rows))
    profiles = {c: profile(c, [r[c] for r in rows]) for c in columns}
    languages: dict[str, int] = {}
    candidates: list[tuple[float, str, str, list[str]]] = []
    for column in columns:
        p = profiles[column]
        if not p.values:
            continue
        by_name = synonyms.field_for(column)
        named = {f for f, _, _ in by_name}
        for fieldname, language, how in by_name:
            fit, why = _fits(fieldname, p)
            if fit <= 0:
                continue
            base = 0.9 if how == "exact" else 0.65
            article = "an" if _LANGUAGE_NAMES[language][0] in "AEIOU" else "a"
            evidence = [f"header {column!r} is {article if how == 'exact' else 'like ' + article} "
                        f"{_LANGUAGE_NAMES[language]} name for {fieldname}"]
            if why:
                evidence.append(why)
            candidates.append((min(0.99, base * (0.75 + 0.25 * fit)), fieldname, column, evidence))
            if how == "exact":
                languages[language] = languages.get(language, 0) + 1
        for fieldname in ("gtin", "images", "sku", "categories"):
            if fieldname in named:
                continue
            fit, why = _fits(fieldname, p)
            if fit >= 1.0 and why and (fieldname != "categories" or p.path_separator):
                shape = {"gtin": 0.8, "images": 0.75, "sku": 0.45, "categories": 0.55}[fieldname]
                candidates.append((shape, fieldname, column, [why, "no header name says so"]))
    if join_key:
        candidates = [c for c in candidates if c[2] != join_key or c[1] in ("parent", "group")]
    taken_fields: dict[str, Choice] = {}
    taken_columns: set[str] = set()
    for confidence, fieldname, column, evidence in sorted(candidates, key=lambda c: -c[0]):
        if fieldname in taken_fields or column in taken_columns or fieldname in ("parent", "group"):
            continue
        taken_fields[fieldname] = Choice(fieldname, column, confidence, evidence, column=column)
        taken_columns.add(column)
    _prices(out, profiles, rows, taken_fields, taken_columns)
    _name_by_shape(profiles, taken_fields, taken_columns)
    attributes = {}
    for column in columns:
        attribute = synonyms.attribute_for(column)
        if attribute and column not in taken_columns and profiles[column].values and attribute not in attributes:
            attributes[attribute] = column
    sku = taken_fields.get("sku")
    grouping = _group(profiles, rows, sku.column if sku else None, taken_fields, taken_columns, attributes,
                      candidates, join_key)
    order = ["sku", "parent", "group", "parent_name", "name", "description", "short_description", "regular_price",
             "sale_price", "cost", "stock_quantity", "stock_status", "manage_stock", "gtin", "weight", "length",
             "width", "height", "brand", "categories", "tags", "images", "date_on_sale_from", "date_on_sale_to"]
    if not any(c.key == "group" for c in grouping) and "parent_name" in taken_fields:
        taken_columns.discard(taken_fields.pop("parent_name").column or "")
    for choice in grouping:
        taken_fields.setdefault(choice.key, choice)
    for key in order:
        if key in taken_fields:
            out.choices.append(taken_fields[key])
    for attribute, column in attributes.items():
        p = profiles[column]
        out.choices.append(Choice(f"attributes.{attribute}", column, 0.85,
                                  [f"header {column!r} names the attribute {attribute}",
                                   f"{p.distinct} different values (e.g. {p.sample()!r})"], column=column))
        taken_columns.add(column)
    _separators(out, profiles, taken_fields)
    _locale(out, profiles, taken_fields)
    mapped = {c.column for c in out.choices if c.column}
    out.unmapped = [{"column": c, "sample": profiles[c].sample()[:80]} for c in columns if c not in mapped
                    and c != join_key]
    if languages:
        out.language = max(languages, key=lambda k: languages[k])
    if "sku" not in taken_fields:
        out.warnings.append("no column looks like the SKU: name it with sku = \"...\"")
    carried = [c.key for c in out.choices if c.key in _MAPPING_KEYS and c.key not in ("sku",)
               and not c.key.endswith("_separator")]
    if "sku" in taken_fields and "name" not in taken_fields and not join_key:
        if carried and all(k in PARTIAL_FIELDS for k in carried):
            out.partial = True
            out.choices.append(Choice("partial", True, 0.9, [
                f"only a key and {', '.join(carried)}: a partial feed updates those fields of products the store "
                "already has, and never creates"]))
        else:
            out.warnings.append("no column looks like the product name: name it with name = \"...\"")
    return out


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, dict)):
        return None
    text = str(value).strip()
    return text or None


def _decimals(p: Profile) -> list[Decimal | None]:
    out: list[Decimal | None] = []
    for v in p.values:
        try:
            out.append(parse_decimal(_CURRENCY.sub("", v)))
        except NumberError:
            out.append(None)
    return out


def _column_numbers(rows: list[dict[str, str | None]], column: str) -> list[Decimal | None]:
    out: list[Decimal | None] = []
    for r in rows:
        v = r.get(column)
        try:
            out.append(parse_decimal(_CURRENCY.sub("", v)) if v else None)
        except NumberError:
            out.append(None)
    return out


def _prices(out: Suggestion, profiles: dict[str, Profile], rows: list[dict[str, str | None]],
            taken: dict[str, Choice], columns: set[str]) -> None:
    """Cost against retail: of two price columns, the one lower on nearly every row is the cost."""
    priced = [c for f, c in ((f, taken[f].column) for f in ("regular_price", "cost") if f in taken)]
    spare = [c for c, p in profiles.items() if c not in columns and p.values and p.number >= 0.95 and p.decimals >= 0.5
             and p.gtin < 0.5]
    pool = [c for c in priced + spare if c]
    if len(pool) < 2:
        if not priced and len(spare) == 1:
            column = spare[0]
            taken["regular_price"] = Choice("regular_price", column, 0.5,
                                            ["the only column of decimal prices", "no header name says so"],
                                            column=column)
            columns.add(column)
        return
    a, b = pool[0], pool[1]
    xs, ys = _column_numbers(rows, a), _column_numbers(rows, b)
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if x is not None and y is not None]
    if not pairs:
        return
    lower_a = sum(1 for x, y in pairs if x < y) / len(pairs)
    lower_b = sum(1 for x, y in pairs if y < x) / len(pairs)
    if max(lower_a, lower_b) < 0.9:
        return
    cost, retail = (a, b) if lower_a >= 0.9 else (b, a)
    share = max(lower_a, lower_b)
    note = f"{cost!r} is below {retail!r} on {share:.0%} of {len(pairs)} rows"
    for fieldname, column in (("cost", cost), ("regular_price", retail)):
        current = taken.get(fieldname)
        if current is not None and current.column == column:
            current.evidence.append(note)
            current.confidence = min(0.99, current.confidence + 0.05)
        elif current is None or current.confidence < 0.8:
            other = next((f for f, c in taken.items() if c.column == column), None)
            if other is not None and taken[other].confidence >= 0.8:
                continue  # a header says otherwise: the header wins
            if other is not None:
                del taken[other]
            taken[fieldname] = Choice(fieldname, column, 0.7, [note], column=column)
            columns.add(column)


def _name_by_shape(profiles: dict[str, Profile], taken: dict[str, Choice], columns: set[str]) -> None:
    if "name" in taken:
        return
    best = None
    for column, p in profiles.items():
        if column in columns or not p.values or p.number > 0.3 or p.urls or p.html > 0.3:
            continue
        if p.words >= 2 and p.distinct >= 0.5 * len(p.values) and p.length <= 150:
            score = p.words + p.distinct / len(p.values)
            if best is None or score > best[0]:
                best = (score, column, p)
    if best is not None:
        _, column, p = best
        taken["name"] = Choice("name", column, 0.5, [f"text of {p.words:.1f} words, mostly different per row",
                                                     "no header name says so"], column=column)
        columns.add(column)


def _runs(values: list[str | None]) -> tuple[float, int]:
    """Share of rows in runs of 2+ equal consecutive non-blank values, and how many runs."""
    in_runs = runs = 0
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] is not None and values[j + 1] == values[i]:
            j += 1
        if values[i] is not None and j > i:
            in_runs += j - i + 1
            runs += 1
        i = j + 1
    return (in_runs / len(values) if values else 0.0), runs


def _group(profiles: dict[str, Profile], rows: list[dict[str, str | None]], sku: str | None,
           taken: dict[str, Choice], columns: set[str], attributes: dict[str, str],
           candidates: list[tuple[float, str, str, list[str]]], join_key: str | None) -> list[Choice]:
    """The group column (rows sharing it are one product's variations) and what varies in it."""
    if join_key:
        return []
    sku_values = {r.get(sku) for r in rows} if sku else set()
    named = {c[2]: c for c in candidates if c[1] in ("group", "parent")}
    best = None
    for column, p in profiles.items():
        if column == sku or not p.values or p.unique or (column in columns and column not in named):
            continue
        if column in columns or p.distinct < 2 or _contact_like(p.values) or p.flag >= 0.8 or p.status >= 0.8 \
                or p.number >= 0.8:
            # One value on every row is a constant, not a family; an e-mail or web address shared
            # by consecutive rows (the supplier's contact), a yes/no flag, a stock status or a
            # number (a price, a quantity) repeats without grouping anything.
            continue
        values = [r.get(column) for r in rows]
        share, runs = _runs(values)
        if share < 0.3 or runs == 0:
            continue
        refs = sum(1 for v in set(p.values) if v in sku_values)
        # Inside runs the SKU changes and some short column varies: those are variations.
        varying = _varying(rows, column, profiles, sku, columns | {column})
        prefix = sum(1 for r in rows if sku and r.get(column) and r.get(sku, "") and
                     str(r.get(sku)).startswith(str(r.get(column)))) / max(1, len([v for v in values if v]))
        score = share + 0.5 * prefix + (0.6 if column in named else 0.0) + 0.2 * (p.distinct / len(p.values))
        if not varying and column not in named:
            continue
        if best is None or score > best[0]:
            best = (score, column, share, runs, prefix, refs, varying)
    if best is None:
        return []
    _, column, share, runs, prefix, refs, varying = best
    p = profiles[column]
    parent_rows = refs >= max(1, 0.5 * p.distinct)
    key = "parent" if parent_rows else "group"
    evidence = []
    if column in named:
        evidence += named[column][3][:1]
    evidence.append(f"{runs} runs of consecutive rows share a value ({share:.0%} of rows)")
    if prefix >= 0.5:
        evidence.append(f"the SKU starts with it on {prefix:.0%} of rows")
    if parent_rows:
        evidence.append(f"{refs} of its values are other rows' SKUs: those rows are the parents")
    if varying:
        evidence.append("within a run the SKU changes, and " + ", ".join(repr(v) for v in varying))
    confidence = min(0.95, 0.45 + 0.3 * share + (0.2 if column in named else 0.0) + 0.1 * prefix)
    choices = [Choice(key, column, confidence, evidence, column=column)]
    columns.add(column)
    for v in varying:
        if v not in attributes.values():
            attributes[synonyms.attribute_for(v) or v.strip().title()] = v
    if key == "group":
        pname = _parent_name(profiles, rows, column, columns, taken)
        if pname is not None:
            choices.append(pname)
            columns.add(pname.column or "")
    return choices


def _contact_like(values: list[str]) -> bool:
    return sum(1 for v in values if "@" in v or "://" in v) >= 0.5 * max(1, len(values))


def _varying(rows: list[dict[str, str | None]], group: str, profiles: dict[str, Profile], sku: str | None,
             taken: set[str]) -> list[str]:
    """Short, few-valued columns that change between rows of one group."""
    out: list[str] = []
    by_group: dict[str, list[dict[str, str | None]]] = {}
    for r in rows:
        g = r.get(group)
        if g:
            by_group.setdefault(g, []).append(r)
    groups = [members for members in by_group.values() if len(members) > 1]
    if not groups:
        return out
    for column, p in profiles.items():
        if column in (group, sku) or column in taken or not p.values:
            continue
        if p.length > 25 or p.urls or p.gtin > 0.5 or p.distinct > max(40, 0.3 * len(p.values)):
            continue
        if p.number > 0.9 and p.decimals > 0.5:
            continue  # prices vary too, they are not attributes
        varies = sum(1 for members in groups if len({m.get(column) for m in members}) > 1)
        if varies and varies >= 0.3 * len(groups):
            out.append(column)
    return out


def _parent_name(profiles: dict[str, Profile], rows: list[dict[str, str | None]], group: str, columns: set[str],
                 taken: dict[str, Choice]) -> Choice | None:
    """A text column constant within each group and different between groups: the parent's name."""
    by_group: dict[str, set[str | None]] = {}
    for r in rows:
        g = r.get(group)
        if g:
            by_group.setdefault(g, set())
    best = None
    for column, p in profiles.items():
        if column in columns or column == group or not p.values or p.number > 0.3 or p.urls:
            continue
        named = any(f == "parent_name" for f, _, _ in synonyms.field_for(column))
        values: dict[str, set[str | None]] = {g: set() for g in by_group}
        for r in rows:
            g = r.get(group)
            if g:
                values[g].add(r.get(column))
        constant = sum(1 for vs in values.values() if len(vs) == 1 and None not in vs)
        if not values or constant < 0.9 * len(values):
            continue
        distinct = len({next(iter(vs)) for vs in values.values() if len(vs) == 1})
        if distinct < 0.9 * len(values) or (p.words < 1.5 and not named):
            continue
        score = (1.0 if named else 0.0) + p.words / 10
        if best is None or score > best[0]:
            best = (score, column, named)
    if best is None:
        return None
    _, column, named = best
    evidence = ([f"header {column!r} names the model/family"] if named else []) + [
        "the same text on every row of a group, different between groups"]
    return Choice("parent_name", column, 0.85 if named else 0.6, evidence, column=column)


def _separators(out: Suggestion, profiles: dict[str, Profile], taken: dict[str, Choice]) -> None:
    categories = taken.get("categories")
    if categories is not None:
        p = profiles[categories.column or ""]
        if p.path_separator and p.path_separator != " > ":
            sep = p.path_separator
            out.choices.append(Choice("category_separator", sep, 0.85,
                                      [f"{p.path:.0%} of {categories.column!r} values split by {sep!r} "
                                       f"(e.g. {p.sample()!r})"]))
    images = taken.get("images")
    if images is not None:
        p = profiles[images.column or ""]
        if p.url_separator and p.url_separator != ",":
            out.choices.append(Choice("image_separator", p.url_separator, 0.9,
                                      [f"several URLs in one cell split by {p.url_separator!r}"]))


def _locale(out: Suggestion, profiles: dict[str, Profile], taken: dict[str, Choice]) -> None:
    comma = dot = 0
    for fieldname in NUMBER_FIELDS:
        choice = taken.get(fieldname)
        if choice is not None:
            p = profiles[choice.column or ""]
            comma += p.comma_decimal
            dot += p.dot_decimal
    if comma and not dot:
        out.choices.append(Choice("decimal", ",", 0.95, [f"{comma} numbers like '12,50', none like '12.50'"]))
    elif dot and not comma:
        out.choices.append(Choice("decimal", ".", 0.95, [f"{dot} numbers like '12.50', none like '12,50'"]))
    elif comma and dot:
        out.warnings.append(f"numbers are written both ways ({comma} like '12,50', {dot} like '12.50'); "
                            "set decimal = \",\" or \".\" yourself")
