"""The typed catalogue model: what a feed means, independent of where it came from.

Feeds and mapping produce these objects; the planner compares them with the ledger and the
store; the pusher turns them into WooCommerce payloads. Every value here is already
normalised: prices are decimal strings ("12.50"), never floats, because WooCommerce parses
prices without a locale ("12,50" is stored as 1250).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ProductType = Literal["simple", "variable"]
StockStatus = Literal["instock", "outofstock", "onbackorder"]


@dataclass(slots=True)
class Image:
    """An image by its source URL (http/https only; other schemes are refused at mapping)."""

    src: str
    alt: str = ""
    name: str = ""


@dataclass(slots=True)
class Attribute:
    """A product attribute. `variation=True` attributes define the parent's variations.

    `taxonomy=True` asks for a global `pa_*` attribute (created when missing); otherwise the
    attribute is local to the product, which needs no extra requests.
    """

    name: str
    options: list[str]
    variation: bool = False
    visible: bool = True
    taxonomy: bool = False


@dataclass(slots=True)
class Dimensions:
    length: str = ""
    width: str = ""
    height: str = ""

    def is_empty(self) -> bool:
        return not (self.length or self.width or self.height)


@dataclass(slots=True)
class Variation:
    """One variation of a variable product, keyed like products (stable feed key)."""

    key: str
    sku: str | None
    attributes: dict[str, str]
    regular_price: str | None = None
    sale_price: str | None = None
    stock_quantity: int | None = None
    stock_status: StockStatus | None = None
    manage_stock: bool | None = None
    weight: str | None = None
    dimensions: Dimensions | None = None
    image: Image | None = None
    status: str | None = None
    description: str | None = None
    meta: dict[str, str] = field(default_factory=dict)
    # Where the record came from ("feed.csv line 12"), for error messages.
    where: str = ""


@dataclass(slots=True)
class Product:
    """A simple or variable product, keyed by a stable feed key (the SKU by default)."""

    key: str
    sku: str | None
    name: str
    type: ProductType = "simple"
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
    # Each category is a path from the root: [["Clothing", "Shirts"], ["Sale"]].
    categories: list[list[str]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    brand: str | None = None
    attributes: list[Attribute] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    variations: list[Variation] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    where: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (used by `feed preview --json` and tests)."""
        return asdict(self)


@dataclass(slots=True)
class RecordError:
    """A record that could not become a model object, or a feed-level problem with one.

    `where` names the place precisely: "feed.csv line 12", "items.xml item[3] /rss/channel/item",
    "feed.json /products/4/variants/1", "api page 3 item 7".
    """

    where: str
    reason: str
    field: str | None = None
    value: str | None = None
    sku: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"where": self.where, "field": self.field, "value": self.value, "reason": self.reason, "sku": self.sku}

    def __str__(self) -> str:
        parts = [self.where]
        if self.field:
            parts.append(f"field {self.field!r}")
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        return ": ".join([", ".join(parts), self.reason])


def truncate(value: Any, limit: int = 80) -> str:
    """Shorten a value for an error message (a 10 MB field must not become a 10 MB message)."""
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
