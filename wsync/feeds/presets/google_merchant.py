"""Google Merchant Center product feeds: RSS 2.0 / Atom with the g: namespace, or the TSV form.

Identity comes from `g:id` (the key, and the SKU since the feed has none); items sharing a
`g:item_group_id` become the variations of a parent keyed by that group id, with `g:size`,
`g:color`, `g:material` and `g:pattern` as the variation attributes.
"""

from __future__ import annotations

from typing import Any

from wsync.catalogue import RecordError, StockStatus
from wsync.mapping.convert import Converter
from wsync.mapping.rows import Row, RowAttribute
from wsync.mapping.values import text_of, texts_of

VARIANT_ATTRIBUTES = (("size", "Size"), ("color", "Color"), ("material", "Material"), ("pattern", "Pattern"))
AVAILABILITY: dict[str, StockStatus] = {
    "in_stock": "instock", "in stock": "instock", "out_of_stock": "outofstock", "out of stock": "outofstock",
    "preorder": "onbackorder", "backorder": "onbackorder", "available for order": "onbackorder"}


def _normalise(record: dict[str, Any]) -> dict[str, Any]:
    """Field names without the g: prefix (XML) and lower-cased (TSV headers vary in case)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = key.split(":", 1)[1] if key.startswith(("g:", "c:")) else key
        name = name.strip().lower()
        if name in out and name in ("additional_image_link",):
            out[name] = texts_of(out[name]) + texts_of(value)
        elif name not in out or key.startswith("g:"):
            out[name] = value
    return out


def map_record(record: dict[str, Any], where: str, decimal: str | None) -> tuple[Row | None, list[RecordError]]:
    if "__width_error__" in record:
        return None, [RecordError(where, "row " + record["__width_error__"])]
    r = _normalise(record)

    def get(column: str) -> str | None:
        return text_of(r.get(column))

    key = get("id")
    conv = Converter(where, decimal, key)
    for column, value in r.items():
        if isinstance(value, str):
            conv.check_size(column, value)
    if conv.fatal:
        return conv.finish(None)
    if not key:
        return None, [RecordError(where, "item has no g:id", field="g:id")]
    row = Row(key=key, where=where, sku=key, source=r)
    group = get("item_group_id")
    if group:
        row.kind, row.parent, row.grouped = "variation", group, True
    row.name = get("title")
    row.description = get("description")
    row.brand = get("brand")
    row.regular_price = conv.price("g:price", get("price"))
    row.sale_price = conv.price("g:sale_price", get("sale_price"))
    availability = get("availability")
    if availability:
        status = AVAILABILITY.get(availability.lower())
        if status is None:
            conv._fail("g:availability", availability, "not a Merchant Center availability "
                       "(in_stock, out_of_stock, preorder, backorder)")
        row.stock_status = status
    images = texts_of(r.get("image_link")) + texts_of(r.get("additional_image_link"))
    # The TSV form lists additional images comma separated in one cell.
    flat = [u.strip() for image in images for u in (image.split(",") if "," in image and " " not in image
                                                        else [image]) if u.strip()]
    row.images = conv.images("g:image_link", flat)
    row.categories = [[p.strip() for p in path.split(">") if p.strip()] for path in texts_of(r.get("product_type"))]
    weight = get("shipping_weight")
    if weight:
        row.weight = conv.measure("g:shipping_weight", weight)
    link = get("link")
    if link:
        row.meta["_source_url"] = link
    for field_name, label in VARIANT_ATTRIBUTES:
        value = get(field_name)
        if value:
            row.attributes.append(RowAttribute(label, [value], variation=bool(group)))
    gtin = get("gtin")
    if gtin:
        row.meta["_gtin"] = gtin
    return conv.finish(row)
