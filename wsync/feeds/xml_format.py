"""XML records (supplier XML, RSS 2.0, Atom), streamed element by element, hostile input refused.

Parsing goes through defusedxml with DTDs, entity declarations and external references all
forbidden: a billion-laughs bomb or an external entity pointing at a local file is refused
before any expansion happens, so no local file content can ever reach the catalogue or a message.

Each item element becomes a dict: child elements by name (namespaced names as "prefix:name"),
repeated children as lists, nested elements as dicts, attributes as "@name", text as "#text"
when an element also has children or attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as safe_et

from wsync.errors import FeedRefused

GOOGLE_NS = "http://base.google.com/ns/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
KNOWN_PREFIXES = {GOOGLE_NS: "g", "http://base.google.com/cns/1.0": "c"}


def _split(tag: str) -> tuple[str | None, str]:
    if tag.startswith("{"):
        uri, _, local = tag[1:].partition("}")
        return uri, local
    return None, tag


class XmlFeed:
    def __init__(self, path: Path, label: str, *, item_element: str | None = None,
                 namespaces: dict[str, str] | None = None):
        self.path, self.label = path, label
        self.prefixes = dict(KNOWN_PREFIXES)
        for prefix, uri in (namespaces or {}).items():
            self.prefixes[uri] = prefix
        # item_element: "item", "product", "g:item" or a path "catalog/products/product".
        self.item_path = [p for p in (item_element or "").split("/") if p] or None

    def name_of(self, tag: str) -> str:
        uri, local = _split(tag)
        if uri is None or uri == ATOM_NS:
            return local
        prefix = self.prefixes.get(uri)
        return f"{prefix}:{local}" if prefix else local

    def to_dict(self, element: Element) -> Any:
        children = list(element)
        text = (element.text or "").strip()
        if not children and not element.attrib:
            return text
        out: dict[str, Any] = {}
        for key, value in element.attrib.items():
            out["@" + self.name_of(key)] = value
        for child in children:
            name = self.name_of(child.tag)
            value = self.to_dict(child)
            if name in out:
                if not isinstance(out[name], list):
                    out[name] = [out[name]]
                out[name].append(value)
            else:
                out[name] = value
        if text:
            out["#text"] = text
        return out

    def _is_item(self, stack: list[str]) -> bool:
        if self.item_path:
            return stack[-len(self.item_path):] == self.item_path if len(self.item_path) > 1 \
                else stack[-1] == self.item_path[0]
        root = stack[0]
        if root == "rss":
            return stack == ["rss", "channel", "item"]
        if root == "feed":
            return stack == ["feed", "entry"]
        return len(stack) == 2

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        name = self.path.name if self.label.endswith(self.path.name) else self.label
        stack: list[str] = []
        elements: list[Element] = []
        index = 0
        depth_of_item: int | None = None
        seen_root = False
        try:
            for event, element in safe_et.iterparse(str(self.path), events=("start", "end"), forbid_dtd=True,
                                                    forbid_entities=True, forbid_external=True):
                if event == "start":
                    seen_root = True
                    stack.append(self.name_of(element.tag))
                    elements.append(element)
                    if depth_of_item is None and self._is_item(stack):
                        depth_of_item = len(stack)
                    continue
                if depth_of_item is not None and len(stack) == depth_of_item:
                    index += 1
                    record = self.to_dict(element)
                    if not isinstance(record, dict):
                        record = {"#text": record}
                    yield f"{name} item[{index}] /" + "/".join(stack), record
                    depth_of_item = None
                    # Detach the finished item so memory does not grow with the feed.
                    if len(elements) > 1:
                        elements[-2].remove(element)
                stack.pop()
                elements.pop()
        except (defusedxml.DTDForbidden, defusedxml.EntitiesForbidden) as exc:
            raise FeedRefused(f"{name}: the XML declares a DTD or entities ({type(exc).__name__}); refused, "
                              "because entity expansion (billion laughs) and external entities (XXE) are attacks "
                              "and real product feeds never need them") from None
        except defusedxml.ExternalReferenceForbidden:
            raise FeedRefused(f"{name}: the XML references an external entity or DTD; refused (XXE protection)") \
                from None
        except ParseError as exc:
            line, column = getattr(exc, "position", (0, 0))
            size = self.path.stat().st_size
            cause = "no element found" in str(exc) or "unclosed token" in str(exc)
            raise FeedRefused(f"{name}: XML not well-formed at line {line} column {column} "
                              f"({str(exc).split(':')[0]})" + ("; the feed is truncated" if cause or size < 1 else ""),
                              hint="download it again, or ask the supplier to fix the file") from None
        if not seen_root:
            raise FeedRefused(f"{name}: the feed is empty (no XML root element)")
