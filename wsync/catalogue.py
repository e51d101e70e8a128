"""The typed catalogue model: what a feed means, independent of where it came from.

Feeds and mapping produce these objects; the planner compares them with the ledger and the
store; the pusher turns them into WooCommerce payloads. Every value here is already
normalised: prices are decimal strings ("12.50"), never floats, because WooCommerce parses
prices without a locale ("12,50" is stored as 1250).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from operator import attrgetter
from typing import Any, Literal, TypeVar

_T = TypeVar("_T", bound=type)


def compact_pickle(cls: _T) -> _T:
    """Pickle as the constructor's arguments. A big feed's products and rows are spilled to disk
    and read back (wsync.mapping.spill); the default reduction of a slotted dataclass (a state
    dict per object) takes about four times as long to load and three times the bytes."""
    names = tuple(f.name for f in fields(cls))
    values = attrgetter(*names) if len(names) > 1 else (lambda obj: (getattr(obj, names[0]),))

    def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
        return (cls, values(self))

    cls.__reduce__ = __reduce__  # type: ignore[assignment]
    return cls

# WooCommerce's four product types; variations are a kind of their own (`Variation`).
ProductType = Literal["simple", "variable", "grouped", "external"]
StockStatus = Literal["instock", "outofstock", "onbackorder"]


@compact_pickle
@dataclass(slots=True)
class Image:
    """An image by its source URL (http/https only; other schemes are refused at mapping)."""

    src: str
    alt: str = ""
    name: str = ""


@compact_pickle
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


@compact_pickle
@dataclass(slots=True)
class Download:
    """A downloadable file of a downloadable product or variation (WooCommerce `downloads[]`)."""

    name: str
    file: str
    # The exporting store's download id: kept so a re-import updates the file instead of adding one.
    id: str | None = None


@compact_pickle
@dataclass(slots=True)
class Details:
    """The store fields beyond name, prices, stock and taxonomy, each None when the feed does not say.

    Named as WooCommerce's REST API names them, so the payload is a plain copy. Products and
    variations share one set (a variation ignores what WooCommerce keeps on its parent only).
    """

    featured: bool | None = None
    catalog_visibility: str | None = None  # visible | catalog | search | hidden
    date_on_sale_from: str | None = None  # ISO 8601, the store's time zone unless it ends in Z
    date_on_sale_to: str | None = None
    tax_status: str | None = None  # taxable | shipping | none
    backorders: str | None = None  # no | notify | yes
    low_stock_amount: int | None = None
    sold_individually: bool | None = None
    reviews_allowed: bool | None = None
    purchase_note: str | None = None
    # A shipping class by its name, created on the store like a category when it is missing.
    shipping_class: str | None = None
    menu_order: int | None = None
    virtual: bool | None = None
    downloadable: bool | None = None
    downloads: list[Download] | None = None
    download_limit: int | None = None
    download_expiry: int | None = None
    external_url: str | None = None
    button_text: str | None = None
    # GTIN, UPC, EAN or ISBN (WooCommerce 9.2+ has a field for it; older stores keep it as meta).
    gtin: str | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__slots__)


@compact_pickle
@dataclass(slots=True)
class Links:
    """Other products this one points to, by feed reference (a SKU, or "id:N" of the exporting
    store). They are resolved to store ids once every product of the feed has one."""

    children: list[str] = field(default_factory=list)  # a grouped product's members
    upsells: list[str] = field(default_factory=list)
    cross_sells: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.children or self.upsells or self.cross_sells)


@compact_pickle
@dataclass(slots=True)
class Dimensions:
    length: str = ""
    width: str = ""
    height: str = ""

    def is_empty(self) -> bool:
        return not (self.length or self.width or self.height)


@compact_pickle
@dataclass(slots=True)
class Variation:
    """One variation of a variable product, keyed like products (stable feed key).

    An attribute of the parent's variation attributes that `attributes` leaves out is "any"
    (WooCommerce sells the variation for every value of it).
    """

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
    details: Details = field(default_factory=Details)
    # Where the record came from ("feed.csv line 12"), for error messages.
    where: str = ""


@compact_pickle
@dataclass(slots=True)
class Product:
    """A simple, variable, grouped or external product, keyed by a stable feed key (the SKU by default)."""

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
    details: Details = field(default_factory=Details)
    links: Links = field(default_factory=Links)
    # A variable product's preselected options: attribute name -> option.
    default_attributes: dict[str, str] = field(default_factory=dict)
    # Other names other records may use for it ("id:44", the exporting store's id).
    aliases: list[str] = field(default_factory=list)
    where: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (used by `feed preview --json` and tests)."""
        return asdict(self)


@dataclass(slots=True)
class FieldUpdate:
    """One record of a partial feed: some fields of an item the store already has, by its key
    (the SKU), as WooCommerce names them ({"stock_quantity": 4, "manage_stock": True}). Whether
    it is a product or a variation, and which, the ledger or the store tells."""

    key: str
    fields: dict[str, Any]
    where: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "fields": dict(self.fields), "where": self.where}


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
