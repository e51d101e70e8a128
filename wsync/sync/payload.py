"""Catalogue model -> WooCommerce payload fields, content hashes and field-level diffs.

The payload built here is the *desired state* of an item, images excluded (they have a phase
of their own). It is stored in the ledger after a successful push, so the next run can send
only the fields that changed, or nothing at all.
"""

from __future__ import annotations

import hashlib
import json
from operator import attrgetter
from typing import Any, Protocol

from wsync.catalogue import Attribute, Details, Dimensions, Product, Variation

META_FEED = "_wsync_feed"
META_KEY = "_wsync_key"

PRICE_FIELDS = ("regular_price", "sale_price")
STOCK_FIELDS = ("manage_stock", "stock_quantity", "stock_status")


# The links to other products, resolved to store ids after every product has one (sync/links.py).
LINK_FIELDS = ("grouped_products", "upsell_ids", "cross_sell_ids")
# Where a GTIN goes on a store without WooCommerce 9.2's field: the meta key that field is kept in.
GTIN_META = "_global_unique_id"
_DETAILS_VALUES = attrgetter(*Details.__slots__)
# Details a variation does not have (WooCommerce keeps them on the parent).
_PRODUCT_ONLY = ("featured", "catalog_visibility", "sold_individually", "reviews_allowed", "purchase_note",
                 "external_url", "button_text")


class TermResolver(Protocol):
    def category_ids(self, paths: list[list[str]]) -> list[int | str]: ...
    def attribute_id(self, name: str) -> int | None: ...
    def shipping_class_slug(self, name: str) -> str: ...


def content_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha1(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _dims(d: Dimensions | None) -> dict[str, str] | None:
    if d is None or d.is_empty():
        return None
    return {"length": d.length or "", "width": d.width or "", "height": d.height or ""}


def _common(item: Product | Variation, out: dict[str, Any]) -> None:
    """Fields products and variations share. None means "the feed does not say": not sent."""
    if item.regular_price is not None:
        out["regular_price"] = item.regular_price
        # A feed that gives a regular price owns the sale price too: no sale means clear it.
        out["sale_price"] = item.sale_price or ""
    elif item.sale_price is not None:
        out["sale_price"] = item.sale_price
    if item.stock_quantity is not None:
        out["manage_stock"] = True if item.manage_stock is None else item.manage_stock
        out["stock_quantity"] = item.stock_quantity
    elif item.manage_stock is not None:
        out["manage_stock"] = item.manage_stock
    if item.stock_status is not None and not (out.get("manage_stock") and item.stock_quantity is not None):
        # With stock managed the store recomputes the status from the quantity; sending both
        # would make every run look changed.
        out["stock_status"] = item.stock_status
    for name in ("weight", "status", "description"):
        value = getattr(item, name)
        if value is not None:
            out[name] = value
    dims = _dims(item.dimensions)
    if dims:
        out["dimensions"] = dims


def _details(details: Details, out: dict[str, Any], resolver: TermResolver, *, variation: bool) -> list[dict[str, Any]]:
    """The detail fields the feed gives, as WooCommerce names them; returns meta entries to add."""
    values = _DETAILS_VALUES(details)
    if values.count(None) == len(values):
        return []  # most items of most feeds: one C call instead of twenty look-ups per item
    for name, value in zip(Details.__slots__, values, strict=True):
        if value is None or name in ("downloads", "shipping_class", "gtin") or (variation and name in _PRODUCT_ONLY):
            continue
        out[name] = value
    if details.downloads is not None:
        out["downloads"] = [{**({"id": d.id} if d.id else {}), "name": d.name, "file": d.file}
                            for d in details.downloads]
    if details.shipping_class is not None:
        out["shipping_class"] = resolver.shipping_class_slug(details.shipping_class) if details.shipping_class else ""
    return [{"key": GTIN_META, "value": details.gtin}] if details.gtin is not None else []


def _attributes(attrs: list[Attribute], brand: str | None, resolver: TermResolver) -> list[dict[str, Any]]:
    out = []
    names = set()
    for position, attr in enumerate(attrs):
        entry: dict[str, Any] = {"position": position, "visible": attr.visible, "variation": attr.variation,
                                 "options": list(attr.options)}
        attr_id = resolver.attribute_id(attr.name) if attr.taxonomy else None
        if attr_id is not None:
            entry["id"] = attr_id
        else:
            entry["name"] = attr.name
        names.add(attr.name.lower())
        out.append(entry)
    if brand and "brand" not in names:
        out.append({"name": "Brand", "position": len(out), "visible": True, "variation": False, "options": [brand]})
    return out


def product_payload(product: Product, feed: str, resolver: TermResolver) -> dict[str, Any]:
    out: dict[str, Any] = {"name": product.name, "type": product.type}
    sku = sku_to_send(product)
    if sku:
        out["sku"] = sku
    _common(product, out)
    if product.type in ("variable", "grouped"):
        # Variable and grouped parents have no prices of their own: the store blanks them anyway.
        out.pop("regular_price", None)
        out.pop("sale_price", None)
    if product.type == "external" and out.get("manage_stock"):
        # "External products cannot be stock managed": a 400 that would sink the whole item (recordings/30).
        out["manage_stock"] = False
        out.pop("stock_quantity", None)
    extra_meta = _details(product.details, out, resolver, variation=False)
    if product.short_description is not None:
        out["short_description"] = product.short_description
    if product.tax_class is not None:
        out["tax_class"] = product.tax_class
    if product.categories:
        out["categories"] = [{"id": cid} for cid in resolver.category_ids(product.categories)]
    if product.tags:
        out["tags"] = [{"name": t} for t in product.tags]
    attrs = _attributes(product.attributes, product.brand, resolver)
    if attrs:
        out["attributes"] = attrs
    if product.type == "variable":
        defaults = _default_attributes(product, resolver)
        if defaults:
            out["default_attributes"] = defaults
    meta = [{"key": META_FEED, "value": feed}, {"key": META_KEY, "value": product.key}]
    meta += [{"key": k, "value": v} for k, v in sorted(product.meta.items())] + extra_meta
    out["meta_data"] = meta
    return out


def sku_to_send(item: Product | Variation) -> str | None:
    """The SKU an item gets: the feed's. Where the feed gives none (None) the feed key stands in;
    an empty SKU means the feed says the item has none (a WooCommerce export's product or
    variation without one), and none is sent, as WooCommerce's importer sends none."""
    return item.key if item.sku is None else (item.sku or None)


def _default_attributes(product: Product, resolver: TermResolver) -> list[dict[str, Any]]:
    by_name = {a.name: a for a in product.attributes}
    out = []
    for name, option in product.default_attributes.items():
        attr = by_name.get(name)
        attr_id = resolver.attribute_id(name) if attr is not None and attr.taxonomy else None
        out.append({"id": attr_id, "option": option} if attr_id is not None else {"name": name, "option": option})
    return out


def variation_attributes(variation: Variation, parent: Product, resolver: TermResolver) -> list[dict[str, Any]]:
    by_name = {a.name.lower(): a for a in parent.attributes}
    out = []
    for name, option in variation.attributes.items():
        attr = by_name.get(name.lower())
        attr_id = resolver.attribute_id(attr.name) if (attr and attr.taxonomy) else None
        # A global attribute must be referenced by id: "Color" does not match pa_color.
        out.append({"id": attr_id, "option": option} if attr_id is not None else {"name": name, "option": option})
    return out


def variation_payload(variation: Variation, parent: Product, resolver: TermResolver) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sku = sku_to_send(variation)
    if sku:
        out["sku"] = sku
    _common(variation, out)
    extra_meta = _details(variation.details, out, resolver, variation=True)
    out["attributes"] = variation_attributes(variation, parent, resolver)
    meta = [{"key": META_KEY, "value": variation.key}]
    meta += [{"key": k, "value": v} for k, v in sorted(variation.meta.items())] + extra_meta
    out["meta_data"] = meta
    return out


def restrict(payload: dict[str, Any], only: list[str]) -> dict[str, Any]:
    """The --only fast path: keep just price and/or stock fields."""
    if not only:
        return payload
    keep: set[str] = set()
    if "price" in only:
        keep.update(PRICE_FIELDS)
    if "stock" in only:
        keep.update(STOCK_FIELDS)
    return {k: v for k, v in payload.items() if k in keep}


def diff(desired: dict[str, Any], pushed: dict[str, Any]) -> dict[str, Any]:
    """The fields of `desired` whose value differs from what was last pushed."""
    return {k: v for k, v in desired.items() if not same_value(k, v, pushed.get(k, _MISSING))}


_MISSING = object()


def _as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def same_value(name: str, desired: Any, pushed: Any) -> bool:
    """Equal as the store keeps them. Categories and tags are a set on the store, and a global
    attribute's options are its terms, which the store lists in term order: a pushed state read
    back from the store (`wsync ledger rebuild`) lists them in another order than the feed, and
    sending the feed's order would change nothing."""
    if desired == pushed:
        return True
    if name == "meta_data" and isinstance(desired, list) and isinstance(pushed, list):
        # The store updates meta entry by entry, by key, and keeps the keys it is not sent (its
        # REST controllers call update_meta_data per entry): entries it already holds with these
        # values change nothing, whatever else it holds (another plugin's meta, a key the feed dropped).
        have = {m.get("key"): m.get("value") for m in pushed if isinstance(m, dict)}
        return all(isinstance(m, dict) and m.get("key") in have and have[m.get("key")] == m.get("value")
                   for m in desired)
    if not (isinstance(desired, list) and isinstance(pushed, list)) or len(desired) != len(pushed):
        return False
    if name in ("categories", "tags"):
        return sorted(map(_as_json, desired)) == sorted(map(_as_json, pushed))
    if name == "attributes":
        for want, have in zip(desired, pushed, strict=True):  # the lengths are equal (above)
            if not (isinstance(want, dict) and isinstance(have, dict)) or not want.get("id"):
                if want != have:
                    return False
                continue
            if {k: v for k, v in want.items() if k != "options"} != {k: v for k, v in have.items() if k != "options"}:
                return False
            if sorted(map(str, want.get("options") or [])) != sorted(map(str, have.get("options") or [])):
                return False
        return True
    return False


def merge_pushed(pushed: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    merged = dict(pushed)
    merged.update(sent)
    merged.pop("id", None)
    return merged
