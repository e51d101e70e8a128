"""The normalised record every format and preset produces before products are assembled.

A `Row` is one product or one variation with values already parsed (prices as decimal strings,
categories as paths). Presets and the configurable mapper both emit rows; the same rules
(filters, renames, pricing, defaults) and the same assembler then apply to all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from wsync.catalogue import Details, Dimensions, Links, StockStatus, compact_pickle

RowKind = Literal["simple", "variable", "grouped", "external", "variation", "auto"]


@compact_pickle
@dataclass(slots=True)
class RowAttribute:
    name: str
    values: list[str]
    visible: bool = True
    taxonomy: bool = False
    # True/False when the feed says whether it defines variations; None to infer from usage.
    variation: bool | None = None
    # The option preselected on a variable product (WooCommerce CSV "Attribute N default").
    default: str | None = None


@compact_pickle
@dataclass(slots=True)
class Row:
    key: str
    where: str
    kind: RowKind = "auto"
    sku: str | None = None
    # A variation's parent: a key or an alias of another row ("id:44"), or a group value.
    parent: str | None = None
    # True when `parent` is a group value: the parent is synthesised from the group's members.
    grouped: bool = False
    # A grouped row's say on the parent it makes (mapping's parent_name / parent_sku): None
    # leaves the parent as presets make it (the first member's name, the group as its SKU).
    parent_name: str | None = None
    parent_sku: str | None = None
    aliases: list[str] = field(default_factory=list)
    name: str | None = None
    status: str | None = None
    description: str | None = None
    short_description: str | None = None
    regular_price: str | None = None
    sale_price: str | None = None
    cost: str | None = None
    stock_quantity: int | None = None
    stock_status: StockStatus | None = None
    manage_stock: bool | None = None
    tax_class: str | None = None
    weight: str | None = None
    dimensions: Dimensions | None = None
    categories: list[list[str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    brand: str | None = None
    images: list[str] = field(default_factory=list)
    attributes: list[RowAttribute] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    details: Details = field(default_factory=Details)
    links: Links = field(default_factory=Links)
    # A variation whose value for one of its parent's variation attributes is blank (or that
    # does not name the attribute) is sold for "any" value of it, as in WooCommerce's CSV; in
    # other feeds a blank is a missing value, and an error.
    blank_means_any: bool = False
    # Variations carried inside their parent's record (nested JSON/XML variants, Shopify).
    children: list[Row] = field(default_factory=list)
    # For filters: the raw source values, by source column / path.
    source: dict[str, Any] | None = None
