"""Rows and products packed for the spill come back equal, field for field and type for type."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from wsync.catalogue import Attribute, Details, Dimensions, Download, Image, Links, Product, Variation
from wsync.mapping.packing import Packer
from wsync.mapping.rows import Row, RowAttribute


class Text(str):
    """A str subclass (marshal refuses it)."""


def _details() -> Details:
    return Details(featured=True, catalog_visibility="search", date_on_sale_from="2026-01-01T00:00:00",
                   date_on_sale_to="2026-02-01T00:00:00Z", tax_status="shipping", backorders="notify",
                   low_stock_amount=3, sold_individually=False, reviews_allowed=True, purchase_note="Thanks",
                   shipping_class="Bulky", menu_order=-2, virtual=False, downloadable=True,
                   downloads=[Download("Manual", "https://files.example/m.pdf", "d1"), Download("Spec", "x.pdf")],
                   download_limit=5, download_expiry=30, external_url="https://shop.example/p",
                   button_text="Buy", gtin="4006381333931")


def _row(key: str = "P1", children: list[Row] | None = None) -> Row:
    return Row(key=key, where="feed.csv line 2", kind="variable", sku=f"{key}-sku", parent="G1", grouped=True,
               parent_name="Shirt", parent_sku="g1", aliases=["id:44", "old-1"], name="Shirt ünï", status="draft",
               description="<p>long</p>", short_description="short", regular_price="12.50", sale_price="9.99",
               cost="4.10", stock_quantity=0, stock_status="onbackorder", manage_stock=False, tax_class="reduced",
               weight="0.3", dimensions=Dimensions("1", "2.5", ""), categories=[["Clothing", "Shirts"], ["Sale"]],
               tags=["summer", "cotton"], brand="Acme", images=["https://img.example/a.jpg"],
               attributes=[RowAttribute("Colour", ["Red", "Blue"], visible=False, taxonomy=True, variation=True,
                                        default="Red"), RowAttribute("Size", ["M"])],
               meta={"_ean": "4000", "note": ""}, details=_details(),
               links=Links(children=["C1"], upsells=["U1", "U2"], cross_sells=["X1"]), blank_means_any=True,
               children=children if children is not None else [_row("V1", []), _row("V2", [])],
               source={"price": "12,50", "n": 3, "ratio": 0.5, "flag": False, "nested": {"list": [1, (2, "b")]},
                       "none": None, "raw": b"\x00\xff"})


def _product() -> Product:
    variation = Variation(key="V1", sku="V1-sku", attributes={"Colour": "Red"}, regular_price="10.00",
                          sale_price="8.00", stock_quantity=4, stock_status="instock", manage_stock=True,
                          weight="0.2", dimensions=Dimensions("1", "2", "3"),
                          image=Image("https://i/v.jpg", "alt", "n"),
                          status="private", description="red one", meta={"_gtin": "1"}, details=_details(),
                          where="feed.csv line 3")
    return Product(key="P1", sku="P1-sku", name="Shirt", type="variable", status="publish", description="d",
                   short_description="s", regular_price="10.00", sale_price="9.00", cost="3.00", stock_quantity=7,
                   stock_status="outofstock", manage_stock=True, tax_class="zero", weight="1",
                   dimensions=Dimensions("4", "5", "6"), categories=[["A", "B"]], tags=["t"], brand="Acme",
                   attributes=[Attribute("Colour", ["Red", "Blue"], variation=True, visible=False, taxonomy=True)],
                   images=[Image("https://i/1.jpg", "one", "first"), Image("https://i/2.jpg")],
                   variations=[variation, dataclasses.replace(variation, key="V2", image=None, dimensions=None)],
                   meta={"k": "v"}, details=_details(), links=Links(["C"], ["U"], ["X"]),
                   default_attributes={"Colour": "Red"}, aliases=["id:9"], where="feed.csv line 2")


def _assert_every_field_set(obj: object) -> None:
    """Each field differs from its default, so a field added to the model later is packed here too
    (or this test names it)."""
    for f in dataclasses.fields(obj):  # type: ignore[arg-type]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        assert getattr(obj, f.name) != default, f"{type(obj).__name__}.{f.name} is left at its default"


def _assert_same(a: object, b: object) -> None:
    """Equal, and of the same types all the way down (a tuple stays a tuple, a bool a bool)."""
    assert type(a) is type(b), (a, b)
    if dataclasses.is_dataclass(a):
        for f in dataclasses.fields(a):  # type: ignore[arg-type]
            _assert_same(getattr(a, f.name), getattr(b, f.name))
    elif isinstance(a, dict):
        assert list(a) == list(b)  # type: ignore[arg-type]
        for key in a:
            _assert_same(a[key], b[key])  # type: ignore[index]
    elif isinstance(a, (list, tuple)):
        for x, y in zip(a, b, strict=True):  # type: ignore[call-overload]
            _assert_same(x, y)
    else:
        assert a == b


def test_a_row_with_every_field_set_comes_back_the_same():
    row = _row()
    _assert_every_field_set(row)
    _assert_every_field_set(row.details)
    _assert_every_field_set(row.attributes[0])
    packer = Packer(Row)
    blob = packer.pack(row)
    assert blob[0] != 0x80  # marshalled, not the pickle fallback
    _assert_same(packer.unpack(blob), row)


def test_a_product_with_every_field_set_comes_back_the_same():
    product = _product()
    _assert_every_field_set(product)
    _assert_every_field_set(product.variations[0])
    packer = Packer(Product)
    blob = packer.pack(product)
    assert blob[0] != 0x80
    _assert_same(packer.unpack(blob), product)


def test_defaults_and_empty_nested_values_come_back_the_same():
    for cls, obj in ((Row, Row(key="k", where="w")), (Product, Product(key="k", sku=None, name="n"))):
        packer = Packer(cls)
        back = packer.unpack(packer.pack(obj))
        _assert_same(back, obj)
        assert back.details is not obj.details  # a fresh object, not one shared with the original


def test_values_marshal_does_not_take_are_pickled_whole():
    row = _row()
    row.source = {"price": Decimal("12.50")}
    row.children[0].meta = {"k": Text("subclassed")}
    packer = Packer(Row)
    blob = packer.pack(row)
    assert blob[0] == 0x80  # the pickle fallback
    back = packer.unpack(blob)
    assert back == row and isinstance(back.source["price"], Decimal)
    assert type(back.children[0].meta["k"]) is Text


def test_a_field_holding_other_than_its_class_is_pickled_as_it_is():
    row = Row(key="k", where="w", dimensions={"length": "1"})  # type: ignore[arg-type]
    packer = Packer(Row)
    blob = packer.pack(row)
    assert blob[0] == 0x80
    assert packer.unpack(blob).dimensions == {"length": "1"}
