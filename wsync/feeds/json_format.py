"""JSON arrays, JSON lines, and objects holding the item list at a path, streamed.

A JSON document is read item by item with ijson (an incremental parser), so a distributor's
feed of a million products never sits in memory whole: where the item list is not given
(`items_path`), a first pass over the parser's events finds it without building anything.
JSON lines are streamed line by line. A document that is not valid JSON is read once more with
the standard parser, only to name the line and column of the fault. Records are located by JSON
pointer ("/products/4") for error messages. Numbers arrive as Decimal, never float, so a price
keeps the digits the feed wrote.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ijson

from wsync.errors import FeedRefused
from wsync.mapping.values import get_path

# Keys tried, in order, when an object holds the item list and no items_path is given.
ITEM_KEYS = ("products", "items", "data", "results", "records", "entries", "offers")


def locate_items(document: Any, items_path: str | None, label: str) -> tuple[list[Any], str]:
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
        """One object per line? Judged on the first MiB: a JSON document is often a single line of
        a hundred megabytes, which must not be read to find out."""
        with open(self.path, encoding=self.encoding, errors="replace") as fh:
            head = fh.read(1 << 20)
        lines = [line.strip() for line in head.splitlines() if line.strip()]
        if len(lines) < 2 or not lines[0].startswith("{"):
            return False
        try:
            json.loads(lines[0])
        except json.JSONDecodeError:
            return False
        return True

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
        if self.items_path and any(part.isdigit() for part in self.items_path.split(".")):
            yield from self._whole(name)  # a path through list positions: ijson's prefixes cannot say it
            return
        if self.encoding.replace("_", "-").lower() not in ("utf-8", "utf-8-sig", "utf8"):
            yield from self._whole(name)  # ijson reads UTF-8 only
            return
        seen = 0
        try:
            prefix, pointer = self._find_items(name)
            with self._utf8() as fh:
                for item in ijson.items(fh, prefix):
                    yield f"{name} {pointer}/{seen}", item
                    seen += 1
        except (ijson.JSONError, UnicodeDecodeError):
            if seen == 0:
                # Not valid JSON: the standard parser names the line and column (and refuses).
                yield from self._whole(name)
                return
            for _ in self._whole(name):  # raises with the fault's line and column
                break
            raise FeedRefused(f"{name}: the JSON after item {seen} could not be read as a stream "
                              "(a value standard JSON does not allow?)") from None

    def _utf8(self) -> Any:
        """The file as bytes, past a UTF-8 byte order mark."""
        fh = open(self.path, "rb")  # noqa: SIM115 - returned open: the caller's `with` closes it
        if fh.read(3) != b"\xef\xbb\xbf":
            fh.seek(0)
        return fh

    def _find_items(self, name: str) -> tuple[str, str]:
        """The ijson prefix of the item list and its JSON pointer, found by the parser's events alone."""
        with self._utf8() as fh:
            if self.items_path:
                wanted = self.items_path
                found = None
                for prefix, event, _value in ijson.parse(fh):
                    if prefix == wanted and event in ("start_array", "start_map", "string", "number",
                                                      "boolean", "null"):
                        found = event
                        break
                if found != "start_array":
                    shown = {"start_map": "dict", "string": "str", "number": "number", "boolean": "bool",
                             "null": "NoneType"}.get(found or "", "nothing")
                    raise FeedRefused(f"{name}: items_path {wanted!r} leads to {shown}, not a list",
                                      hint="set items_path to the dotted path of the product list")
                return f"{wanted}.item", "/" + wanted.replace(".", "/")
            top: str | None = None
            kinds: dict[str, str] = {}
            key = None
            for prefix, event, value in ijson.parse(fh):
                if top is None:
                    top = event
                    if event != "start_map":
                        break
                    continue
                if prefix == "" and event == "map_key":
                    key = value
                elif key is not None and prefix == key and key not in kinds:
                    kinds[key] = event
                    if key == ITEM_KEYS[0] and event == "start_array":
                        break  # the first choice: no other key can win, so the rest need not be read
        if top == "start_array":
            return "item", ""
        if top == "start_map":
            for candidate in ITEM_KEYS:
                if kinds.get(candidate) == "start_array":
                    return f"{candidate}.item", f"/{candidate}"
            lists = [k for k, kind in kinds.items() if kind == "start_array"]
            if len(lists) == 1:
                return f"{lists[0]}.item", f"/{lists[0]}"
            if kinds:
                return "", ""  # one object that is itself the record
        raise FeedRefused(f"{name}: no list of products found in the JSON document",
                          hint="set items_path = \"data.products\" (the dotted path of the list)")

    def _whole(self, name: str) -> Iterator[tuple[str, Any]]:
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
