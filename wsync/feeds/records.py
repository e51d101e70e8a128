"""A feed's records by format: which format a file is, and the record stream it gives.

Shared by the loader and by what reads a feed's files outside it (a joined second file, the
mapping suggester), so none of them imports another.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wsync.feeds.api_source import iter_api
from wsync.feeds.csv_format import CsvFeed
from wsync.feeds.json_format import JsonFeed
from wsync.feeds.presets import PRESETS
from wsync.feeds.spec import FeedSpec
from wsync.feeds.xml_format import XmlFeed

log = logging.getLogger("wsync.feeds.loader")


def detect_format(path: Path, spec: FeedSpec) -> str:
    if spec.format:
        return spec.format
    preset_format = PRESETS[spec.preset][0] if spec.preset else "auto"
    if preset_format != "auto":
        return preset_format
    suffix = Path(spec.source.split("?")[0]).suffix.lower()
    by_suffix = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".json": "json", ".jsonl": "jsonl",
                 ".ndjson": "jsonl", ".xml": "xml", ".rss": "xml", ".atom": "xml"}
    with open(path, "rb") as fh:
        head = fh.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"{", b"[")):
        return "json"
    return by_suffix.get(suffix, "csv") if by_suffix.get(suffix) not in ("xml", "json", "jsonl") else "csv"


def open_records(spec: FeedSpec, path: Path | None, fmt: str,
                 warnings: list[str]) -> tuple[Iterable[tuple[str, Any]], list[str] | None]:
    def warn(message: str) -> None:
        warnings.append(message)
        log.warning(message)

    label = spec.label
    if fmt == "api":
        return iter_api(spec.source, label=label, pagination=spec.pagination, items_path=spec.items_path,
                        auth=spec.auth, headers_env=spec.headers_env, timeout=spec.timeout, retries=spec.retries,
                        retry_wait=spec.retry_wait, verify=spec.verify_tls), None
    assert path is not None
    if fmt in ("csv", "tsv"):
        pad = bool(PRESETS[spec.preset][1].get("pad_short_rows")) if spec.preset else False
        feed = CsvFeed(path, label, encoding=spec.encoding, delimiter=spec.delimiter or ("\t" if fmt == "tsv" else
                                                                                      None), warn=warn,
                       pad_short_rows=pad)
        return feed, feed.header
    if fmt in ("json", "jsonl"):
        return JsonFeed(path, label, items_path=spec.items_path or (PRESETS[spec.preset][1].get("items_path")
                                                                    if spec.preset else None),
                        lines=True if fmt == "jsonl" else None, encoding=spec.encoding), None
    return XmlFeed(path, label, item_element=spec.item_element, namespaces=spec.namespaces), None
