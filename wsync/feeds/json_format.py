"""JSON arrays, JSON lines, and objects holding the item list at a path.

The standard library has no streaming JSON parser and wsync adds no dependency for it, so a
JSON document is parsed whole (JSON lines are streamed line by line). Records are located by
JSON pointer ("/products/4") for error messages.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wsync.errors import FeedRefused
from wsync.mapping.values import get_path

# Keys tried, in order, when an object holds the item list and no items_path is given.
ITEM_KEYS = ("products", "items", "data", "results", "records", "entries", "offers")


def locate_items(document: Any, items_path: str | None, label: str) -> tuple[list, str]:
    """The item list inside a document and its JSON pointer."""
    if items_path:
        items = get_path(document, items_path)
        if not isinstance(items, list):
            found = type(items).__name__ if items is not None else "nothing"
            raise FeedRefused(f"{label}: items_path {items_path!r} leads to {found}, not a list",
                              hint="set items_path to the dotted path of the product list")
        return items, "/" + items_path.replace(".", "/")
    if isinstance(document, list):
        return document, ""
    if isinstance(document, dict):
        for key in ITEM_KEYS:
            if isinstance(document.get(key), list):
                return document[key], f"/{key}"
        lists = [k for k, v in document.items() if isinstance(v, list)]
        if len(lists) == 1:
            return document[lists[0]], f"/{lists[0]}"
        if document:
            return [document], ""
    raise FeedRefused(f"{label}: no list of products found in the JSON document",
                      hint="set items_path = \"data.products\" (the dotted path of the list)")


class JsonFeed:
    def __init__(self, path: Path, label: str, *, items_path: str | None = None, lines: bool | None = None,
                 encoding: str | None = None):
        self.path, self.label, self.items_path = path, label, items_path
        self.encoding = encoding or "utf-8-sig"
        if lines is None:
            lines = path.suffix.lower() in (".jsonl", ".ndjson") or self._looks_like_lines()
        self.lines = lines

    def _looks_like_lines(self) -> bool:
        with open(self.path, encoding=self.encoding, errors="replace") as fh:
            first = ""
            for line in fh:
                if line.strip():
                    first = line.strip()
                    break
            if not first.startswith("{"):
                return False
            try:
                json.loads(first)
            except json.JSONDecodeError:
                return False
            return any(line.strip() for line in fh)

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        name = self.path.name if self.label.endswith(self.path.name) else self.label
        if self.lines:
            with open(self.path, encoding=self.encoding) as fh:
                for number, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        yield f"{name} line {number}", json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise FeedRefused(f"{name} line {number} column {exc.colno}: invalid JSON ({exc.msg})"
                                          + ("; the feed is truncated" if exc.msg.startswith(("Unterminated",
                                             "Expecting")) and exc.pos >= len(line.rstrip()) else "")) from None
            return
        try:
            with open(self.path, encoding=self.encoding) as fh:
                document = json.load(fh)
        except json.JSONDecodeError as exc:
            truncated = exc.pos >= self.path.stat().st_size - 2 or exc.msg.startswith("Unterminated")
            raise FeedRefused(f"{name} line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg})"
                              + ("; the document ends early: the feed is truncated" if truncated else "")) from None
        except UnicodeDecodeError as exc:
            raise FeedRefused(f"{name}: JSON must be UTF-8 ({exc.reason} at byte {exc.start})") from None
        items, pointer = locate_items(document, self.items_path, name)
        del document
        for index, item in enumerate(items):
            yield f"{name} {pointer}/{index}", item
