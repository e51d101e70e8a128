"""WooCommerce's own product CSV export schema, so one store's export imports into another.

Rows are simple / variable / variation (Type may carry flags: "simple, virtual"); a variation
names its parent in `Parent` by SKU or by "id:N" (the exporting store's ID). Attributes come as
"Attribute N name / value(s) / visible / global"; lists are comma separated ("A > B, C" for
categories, "url, url" for images); "Meta: key" columns become meta.
"""

from __future__ import annotations

import re

from wsync.catalogue import RecordError
from wsync.mapping.convert import Converter
from wsync.mapping.rows import Row, RowAttribute
from wsync.mapping.values import split_list, text_of

_ATTR = re.compile(r"^Attribute (\d+) name$")
_UNIT = re.compile(r"^(Weight|Length|Width|Height) \((\w+)\)$")


def _split_escaped(text: str | None) -> list[str]:
    """WooCommerce escapes commas inside list items as "\\,"."""
    if not text:
        return []
    parts = re.split(r"(?<!\\),", text)
    return [p.replace("\\,", ",").strip() for p in parts if p.strip()]


def map_record(record: dict, where: str, decimal: str | None) -> tuple[Row | None, list[RecordError]]:
    if "__width_error__" in record:
        return None, [RecordError(where, "row " + record["__width_error__"])]
    get = lambda c: text_of(record.get(c))  # noqa: E731
    sku = get("SKU")
    wc_id = get("ID")
    conv = Converter(where, decimal, sku)
    for column, value in record.items():
        conv.check_size(column, value)
    if conv.fatal:
        return conv.finish(None)
    types = {t.strip().lower() for t in (get("Type") or "simple").split(",")}
    kind = "variation" if "variation" in types else "variable" if "variable" in types else "simple"
    if types & {"grouped", "external"}:
        return None, [RecordError(where, "grouped and external products are not imported", field="Type",
                                  value=get("Type"), sku=sku)]
    key = sku or (f"id:{wc_id}" if wc_id else None)
    if not key:
        return None, [RecordError(where, "record has no SKU and no ID to key it by", field="SKU")]
    row = Row(key=key, where=where, kind=kind, sku=sku or None, source=record)
    if wc_id:
        row.aliases.append(f"id:{wc_id}")
    if kind == "variation":
        row.parent = get("Parent")
        if not row.parent:
            return None, [RecordError(where, "variation has no Parent (SKU or id:N)", field="Parent", sku=sku)]
    row.name = get("Name")
    published = get("Published")
    row.status = {"1": "publish", "0": "private", "-1": "draft"}.get(published or "", None)
    row.description = get("Description")
    row.short_description = get("Short description")
    row.tax_class = get("Tax class")
    row.regular_price = conv.price("Regular price", get("Regular price"))
    row.sale_price = conv.price("Sale price", get("Sale price"))
    row.stock_quantity = conv.integer("Stock", get("Stock"))
    in_stock = get("In stock?")
    if in_stock is not None:
        row.stock_status = "onbackorder" if in_stock.lower() == "backorder" else conv.stock_status("In stock?",
                                                                                                    in_stock)
    row.manage_stock = True if row.stock_quantity is not None else None
    dims: dict[str, str | None] = {}
    for column in record:
        m = _UNIT.match(column)
        if m:
            dims[m.group(1).lower()] = get(column)
    row.weight = conv.measure("Weight", dims.get("weight"))
    row.dimensions = conv.dimensions(dims.get("length"), dims.get("width"), dims.get("height"))
    row.categories = [[p.strip() for p in path.split(">") if p.strip()] for path in _split_escaped(get("Categories"))]
    row.tags = _split_escaped(get("Tags"))
    row.images = conv.images("Images", split_list(get("Images"), ","))
    for column in record:
        m = _ATTR.match(column)
        if not m:
            continue
        n = m.group(1)
        name = get(column)
        if not name:
            continue
        raw = get(f"Attribute {n} value(s)") or ""
        values = [raw] if kind == "variation" else _split_escaped(raw)
        visible = get(f"Attribute {n} visible")
        is_global = get(f"Attribute {n} global")
        row.attributes.append(RowAttribute(name, values, visible=visible != "0", taxonomy=is_global == "1",
                                           variation=None if kind != "simple" else False))
    for column, value in record.items():
        if column.startswith("Meta: ") and text_of(value) is not None:
            row.meta[column[6:]] = text_of(value)  # type: ignore[assignment]
    return conv.finish(row)
