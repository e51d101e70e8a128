"""A Shopify `products.json`: products with variants, options and images.

Keys: a variant's SKU when it has one, else `key_template` (default "{handle}-{option1}-{option2}-{option3}",
empty parts dropped); the product's key is its handle. A product with a single variant whose
option is "Title" / "Default Title" is a simple product keyed by the variant SKU or the handle.
`compare_at_price` above `price` becomes the regular price and `price` the sale price.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from wsync.catalogue import RecordError
from wsync.mapping.convert import Converter
from wsync.mapping.rows import Row, RowAttribute
from wsync.mapping.values import split_list, text_of

DEFAULT_TEMPLATE = "{handle}-{option1}-{option2}-{option3}"


def _slug(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^\w.-]+", "-", text.strip(), flags=re.UNICODE)).strip("-")


def make_mapper(options: dict[str, Any]) -> Callable[[dict[str, Any], str, str | None],
                                                     tuple[Row | None, list[RecordError]]]:
    template = options.get("key_template") or DEFAULT_TEMPLATE

    def variant_key(product: dict[str, Any], variant: dict[str, Any]) -> str:
        values = {"handle": text_of(product.get("handle")) or "", "id": text_of(variant.get("id")) or "",
                  "product_id": text_of(product.get("id")) or ""}
        for i in (1, 2, 3):
            values[f"option{i}"] = text_of(variant.get(f"option{i}")) or ""
        try:
            raw = template.format(**values)
        except (KeyError, IndexError, ValueError):
            raw = DEFAULT_TEMPLATE.format(**values)
        return _slug(raw)

    def map_record(record: dict[str, Any], where: str, decimal: str | None) -> tuple[Row | None, list[RecordError]]:
        if not isinstance(record, dict):
            return None, [RecordError(where, "product is not a JSON object")]
        handle = text_of(record.get("handle"))
        conv = Converter(where, decimal, handle)
        for column, value in record.items():
            if isinstance(value, str):
                conv.check_size(column, value)
        if conv.fatal:
            return conv.finish(None)
        variants = [v for v in record.get("variants") or [] if isinstance(v, dict)]
        options = [o for o in record.get("options") or [] if isinstance(o, dict)]
        images_by_id: dict[str, str] = {}
        image_urls: list[str] = []
        for image in record.get("images") or []:
            src = text_of(image.get("src")) if isinstance(image, dict) else None
            if src:
                image_urls.append(src)
                images_by_id[str(image.get("id"))] = src
        simple = len(variants) == 1 and (not options or (len(options) == 1 and options[0].get("name") == "Title")
                                          or text_of(variants[0].get("option1")) == "Default Title")
        if not handle and not variants:
            return None, [RecordError(where, "product has no handle and no variants to key it by", field="handle")]
        if simple:
            first_sku = text_of(variants[0].get("sku"))
            key = first_sku or handle
        else:
            key = handle or _slug(text_of(record.get("title")) or "")
        if not key:
            return None, [RecordError(where, "product has no handle and no SKU", field="handle")]
        row = Row(key=key, where=where, kind="simple" if simple else "variable", sku=key, source=record)
        row.name = text_of(record.get("title"))
        row.description = text_of(record.get("body_html"))
        row.brand = text_of(record.get("vendor"))
        product_type = text_of(record.get("product_type"))
        row.categories = [[product_type]] if product_type else []
        tags = record.get("tags")
        row.tags = [str(t) for t in tags] if isinstance(tags, list) else split_list(text_of(tags), ",")
        row.images = conv.images("images", image_urls)
        status = text_of(record.get("status"))
        if status:
            row.status = {"active": "publish", "draft": "draft", "archived": "private"}.get(status)
        if simple:
            _apply_variant(row, variants[0], conv, f"{where}/variants/0")
            return conv.finish(row)
        names = [text_of(o.get("name")) or f"Option {i + 1}" for i, o in enumerate(options)]
        for i, variant in enumerate(variants):
            vwhere = f"{where}/variants/{i}"
            vconv = Converter(vwhere, decimal, text_of(variant.get("sku")))
            vkey = text_of(variant.get("sku")) or variant_key(record, variant)
            child = Row(key=vkey, where=vwhere, kind="variation", sku=vkey)
            _apply_variant(child, variant, vconv, vwhere)
            for n, name in enumerate(names[:3], 1):
                value = text_of(variant.get(f"option{n}"))
                if value is not None:
                    child.attributes.append(RowAttribute(name, [value], variation=True))
            image_id = variant.get("image_id")
            if image_id is not None and str(image_id) in images_by_id:
                child.images = vconv.images("image_id", [images_by_id[str(image_id)]])
            built, errors = vconv.finish(child)
            conv.soft.extend(errors)
            if built is not None:
                row.children.append(built)
        for o, name in zip(options, names, strict=True):
            values = [str(v) for v in o.get("values") or []]
            row.attributes.append(RowAttribute(name, values, variation=True))
        return conv.finish(row)

    return map_record


def _apply_variant(row: Row, variant: dict[str, Any], conv: Converter, where: str) -> None:
    price = conv.price("price", text_of(variant.get("price")))
    compare = conv.price("compare_at_price", text_of(variant.get("compare_at_price")))
    if compare and price and Decimal(compare) > Decimal(price):
        row.regular_price, row.sale_price = compare, price
    else:
        row.regular_price = price
    quantity = variant.get("inventory_quantity")
    if quantity is not None:
        row.stock_quantity = conv.integer("inventory_quantity", text_of(quantity))
        row.manage_stock = True
    available = variant.get("available")
    if isinstance(available, bool):
        row.stock_status = "instock" if available else "outofstock"
    grams = variant.get("grams")
    if grams not in (None, "", 0):
        weight = conv.measure("grams", text_of(grams))
        if weight is not None:
            row.weight = format((Decimal(weight) / 1000).normalize(), "f")

