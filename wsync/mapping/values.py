"""Small value readers shared by the mapper and the presets: paths into records, flags, stock words."""

from __future__ import annotations

import re
from typing import Any

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


_TRUE = {"1", "yes", "y", "true", "t", "on", "ja", "oui", "si", "x"}
_FALSE = {"0", "no", "n", "false", "f", "off", "nein", "non", "-1", ""}


def parse_flag(text: str) -> bool:
    t = text.strip().lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError("not a yes/no value")


def parse_stock_status(text: str) -> str:
    t = re.sub(r"[\s_-]+", "", text.strip().lower())
    if t in {"instock", "1", "yes", "true", "available", "instockonly", "lieferbar", "verfügbar", "auflager"}:
        return "instock"
    if t in {"outofstock", "0", "no", "false", "soldout", "unavailable", "discontinued", "nichtlieferbar",
             "ausverkauft"}:
        return "outofstock"
    if t in {"onbackorder", "backorder", "backorders", "preorder", "availablefororder", "limitedavailability"}:
        return "onbackorder"
    raise ValueError("not a stock status (use in stock / out of stock / backorder)")


def split_list(text: str | None, separator: str) -> list[str]:
    if not text:
        return []
    return [part.strip() for part in text.split(separator) if part.strip()]
