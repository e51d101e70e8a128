"""Small value readers shared by the mapper and the presets: paths into records, flags, stock words."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from wsync.catalogue import StockStatus

_MISSING = object()


def get_path(record: Any, path: str) -> Any:
    """Look up `path` in a record: an exact key first (CSV headers may contain dots), then
    a dotted path through nested dicts/lists ("data.items", "images.0.src")."""
    if isinstance(record, dict) and path in record:
        return record[path]
    current = record
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part, _MISSING)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
        if current is _MISSING:
            return None
    return current


def text_of(value: Any) -> str | None:
    """A scalar as stripped text; None for missing/empty. XML text nodes come as {"#text": ...}."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("#text")
        if value is None:
            return None
    if isinstance(value, list):
        return text_of(value[0]) if value else None
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value).strip()
    return text or None


def texts_of(value: Any) -> list[str]:
    """Every scalar in a value that may be a list (repeated XML elements, JSON arrays)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict) and "src" in item:  # JSON image objects
            item = item["src"]
        t = text_of(item)
        if t is not None:
            out.append(t)
    return out


# Yes and no in the synonyms table's languages (en, de, fr, es/it, nl, pl).
_TRUE = {"1", "yes", "y", "true", "t", "on", "ja", "j", "oui", "si", "sí", "sì", "x", "tak", "wahr"}
_FALSE = {"0", "no", "n", "false", "f", "off", "nein", "non", "nee", "nie", "-1", "", "falsch"}


def parse_flag(text: str) -> bool:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError("not a yes/no value")


def parse_stock_status(text: str) -> StockStatus:
    t = re.sub(r"[\s_-]+", "", text.strip().lower())
    if t in {"instock", "1", "yes", "true", "available", "instockonly", "lieferbar", "verfügbar", "auflager"}:
        return "instock"
    if t in {"outofstock", "0", "no", "false", "soldout", "unavailable", "discontinued", "nichtlieferbar",
             "ausverkauft"}:
        return "outofstock"
    if t in {"onbackorder", "backorder", "backorders", "preorder", "availablefororder", "limitedavailability"}:
        return "onbackorder"
    if t in _TRUE - {"x"}:
        return "instock"
    if t in _FALSE - {""}:
        return "outofstock"
    raise ValueError("not a stock status (use in stock / out of stock / backorder)")


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\Z")
_DMY_DATE = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?\Z")


def parse_date(text: str) -> str:
    """A sale date as WooCommerce takes it ("2025-03-01T00:00:00", the store's time zone): from
    YYYY-MM-DD[ HH:MM[:SS]], DD.MM.YYYY or DD/MM/YYYY (day first, as Europe writes it), or a
    Unix timestamp (UTC, "...Z"). Raises ValueError with the reason."""
    from datetime import datetime

    t = text.strip()
    if re.fullmatch(r"\d{9,11}", t):
        return datetime.fromtimestamp(int(t), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    m = _ISO_DATE.match(t)
    parts = None
    if m:
        parts = (m.group(1), m.group(2), m.group(3), m.group(4), m.group(5), m.group(6))
    else:
        m = _DMY_DATE.match(t)
        if m:
            parts = (m.group(3), m.group(2).zfill(2), m.group(1).zfill(2), m.group(4), m.group(5), m.group(6))
    if parts is None:
        raise ValueError("not a date (YYYY-MM-DD, DD.MM.YYYY or a Unix timestamp)")
    year, month, day, hour, minute, second = parts
    try:
        stamp = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        raise ValueError("not a date (no such day)") from None
    return stamp.strftime("%Y-%m-%dT%H:%M:%S")


def split_list(text: str | None, separator: str) -> list[str]:
    if not text:
        return []
    return [part.strip() for part in text.split(separator) if part.strip()]
