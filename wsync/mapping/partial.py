"""Partial feeds: a key and some fields of items the store already has (a stock-and-price file).

A mapped row becomes the WooCommerce fields it carries and nothing else: no name, no
categories, and a field the feed does not carry is never sent. A blank sale price (or sale
date) in a column the feed carries clears it; a blank stock or price says nothing.
"""

from __future__ import annotations

from typing import Any

from wsync.mapping.rows import Row

SALE_DATES = ("date_on_sale_from", "date_on_sale_to")


def update_fields(row: Row, carried: list[str]) -> dict[str, Any]:
    """The store fields a partial feed's row sets (WooCommerce's names), from the mapped fields
    it carries (after the feed's rules: a cost with pricing rules gives a regular price)."""
    out: dict[str, Any] = {}
    if row.regular_price is not None:
        out["regular_price"] = row.regular_price
    if "sale_price" in carried:
        out["sale_price"] = row.sale_price or ""
    if "stock_quantity" in carried and row.stock_quantity is not None:
        out["manage_stock"] = True if row.manage_stock is None else row.manage_stock
        out["stock_quantity"] = row.stock_quantity
    elif "manage_stock" in carried and row.manage_stock is not None:
        out["manage_stock"] = row.manage_stock
    if "stock_status" in carried and row.stock_status is not None and "stock_quantity" not in out:
        out["stock_status"] = row.stock_status
    for name in SALE_DATES:
        if name in carried:
            out[name] = getattr(row.details, name) or ""
    return out


def restrict_only(fields: dict[str, Any], only: list[str]) -> dict[str, Any]:
    """`--only price,stock` on a partial feed's fields: prices take their sale dates along."""
    if not only:
        return fields
    keep: set[str] = set()
    if "price" in only:
        keep.update(("regular_price", "sale_price", *SALE_DATES))
    if "stock" in only:
        keep.update(("manage_stock", "stock_quantity", "stock_status"))
    return {k: v for k, v in fields.items() if k in keep}
