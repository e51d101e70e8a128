"""Presets: feeds whose schema is known, so they need no mapping table.

Each preset maps one raw record to a Row (or errors); formats, rules and assembly are shared.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wsync.catalogue import RecordError
from wsync.mapping.rows import Row

PresetMapper = Callable[[dict[str, Any], str, "str | None"], "tuple[Row | None, list[RecordError]]"]

# preset name -> (format, default options)
PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "woocommerce-csv": ("csv", {"pad_short_rows": True}),
    "google-merchant": ("auto", {}),
    "shopify-json": ("json", {"items_path": "products"}),
}


def mapper_for(preset: str, options: dict[str, Any]) -> PresetMapper:
    if preset == "woocommerce-csv":
        from wsync.feeds.presets.woocommerce_csv import WooCommerceCsvMapper

        return WooCommerceCsvMapper()
    if preset == "google-merchant":
        from wsync.feeds.presets.google_merchant import map_record

        return map_record
    from wsync.feeds.presets.shopify_json import make_mapper

    return make_mapper(options)
