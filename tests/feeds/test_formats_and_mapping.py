"""Generic formats with a mapping table, pricing rules, filters, renames, numbers, images, thresholds."""

from __future__ import annotations

import gzip
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from wsync.errors import ConfigError, FeedRefused
from wsync.feeds import FeedSpec, load_catalogue
from wsync.mapping.fields import slug
from wsync.mapping.images import ImageUrlError, normalise_image_url
from wsync.mapping.numbers import NumberError, parse_decimal, parse_price
from wsync.mapping.pricing import PricingRules

DATA = Path(__file__).resolve().parents[1] / "data"


def spec(tmp_path: Path, table: dict, name: str = "s") -> FeedSpec:
    return FeedSpec.from_config(name, table, tmp_path)


@pytest.mark.parametrize("text,decimal,expected", [
    ("1.234,50", None, "1234.50"), ("12,50 €", None, "12.50"), ("1,234.50", None, "1234.50"), ("$15", None, "15"),
    ("1,234", None, "1234"), ("1.5", None, "1.5"), ("1.234", ",", "1234"), ("1,5", ".", "15"),
    ("EUR 1 234,00", None, "1234.00"), ("1.234.567", None, "1234567"),
    # A "," locale's plain values (read on a path of their own): the comma is the decimal point.
    ("54,30", ",", "54.30"), ("12,999", ",", "12.999"), ("054,30", ",", "54.30"), ("7", ",", "7"),
])
def test_locale_numbers(text, decimal, expected):
    assert parse_decimal(text, decimal) == Decimal(expected)


@pytest.mark.parametrize("text", ["NaN", "inf", "-Infinity", "abc", "", "1,2,3.4.5"])
def test_not_numbers(text):
    with pytest.raises(NumberError):
        parse_price(text)


def test_negative_price_refused():
    with pytest.raises(NumberError, match="negative"):
        parse_price("-1.00")


def test_image_urls():
    assert normalise_image_url("https://x.example/a b.jpg") == "https://x.example/a%20b.jpg"
    assert normalise_image_url("https://bücher.example/ß.jpg") == "https://xn--bcher-kva.example/%C3%9F.jpg"
    assert normalise_image_url("https://x.example/a%20b.jpg?w=1") == "https://x.example/a%20b.jpg?w=1"
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "data:image/png;base64,xx", "ftp://x/y.jpg", "a.jpg"):
        with pytest.raises(ImageUrlError):
            normalise_image_url(bad)


def test_pricing_rules():
    fail = lambda k, m, h: pytest.fail(m)  # noqa: E731
    rules = PricingRules.from_table({"multiply": "1.8", "ending": "0.99"}, fail)
    assert rules.apply(None, None, "13.00") == ("23.99", None)  # 23.40 -> 23.99
    margin = PricingRules.from_table({"base": "regular_price", "min_margin": "0.5", "ending": "0.99"}, fail)
    assert margin.apply("12.00", None, "10.00") == ("15.99", None)  # at least cost * 1.5
    sale = PricingRules.from_table({"sale_factor": "0.9"}, fail)
    assert sale.apply("20.00", None, None) == ("20.00", "18.00")
    dropped = PricingRules.from_table({}, fail)
    assert dropped.apply("20.00", "20.00", None) == ("20.00", None)
    assert PricingRules.from_table({"add": "2.5"}, fail).apply(None, None, "10") == ("12.50", None)


def test_csv_mapping_with_groups_rules_and_fixed_values(tmp_path):
    feed = tmp_path / "supplier.csv"
    feed.write_text("Art;Model;Bez;EK;Farbe;Größe;Kat;Bilder;Marke\n"
                    "S-1;SHIRT;Hemd;10,00;Rot;M;Textil > Hemden;https://i.example/1.jpg|https://i.example/1.jpg;X\n"
                    "S-2;SHIRT;Hemd;10,00;Blau;M;Textil > Hemden;https://i.example/2.jpg;X\n"
                    "M-1;;Musterbuch;1,00;;;Muster;;X\n"
                    "T-1;;Tasse;4,00;;;Küche;;X\n", encoding="utf-8")
    s = spec(tmp_path, {
        "source": "supplier.csv", "locale": "de",
        "mapping": {"sku": "Art", "group": "Model", "name": "Bez", "cost": "EK", "categories": "Kat",
                    "images": "Bilder", "image_separator": "|", "brand": "Marke",
                    "attributes": {"Farbe": "Farbe", "Größe": "Größe"}, "variation_attributes": ["Farbe", "Größe"]},
        "pricing": {"multiply": 2, "ending": "0.99"},
        "filters": {"exclude": [{"field": "name", "regex": "(?i)muster"}]},
        "category_map": {"Textil": "Clothing"},
        "attribute_names": {"Farbe": "Color", "Größe": "Size"},
        "fixed": {"brand": "Acme"}, "defaults": {"status": "publish"},
    })
    result = load_catalogue(s)
    assert result.errors == []
    products = {p.key: p for p in result.products}
    assert set(products) == {"SHIRT", "T-1"}
    shirt = products["SHIRT"]
    assert shirt.type == "variable" and shirt.categories == [["Clothing", "Hemden"]] and shirt.brand == "Acme"
    assert [(v.key, v.regular_price, v.attributes) for v in shirt.variations] == [
        ("S-1", "20.99", {"Color": "Rot", "Size": "M"}), ("S-2", "20.99", {"Color": "Blau", "Size": "M"})]
    assert {a.name: (a.options, a.variation) for a in shirt.attributes} == {
        "Color": (["Rot", "Blau"], True), "Size": (["M"], True)}
    assert products["T-1"].regular_price == "8.99" and products["T-1"].status == "publish"
    assert products["T-1"].cost == "4.00"


def test_missing_mapped_column_refuses_the_feed(tmp_path):
    (tmp_path / "f.csv").write_text("sku,title\nA,B\n")
    with pytest.raises(FeedRefused, match="'name'"):
        load_catalogue(spec(tmp_path, {"source": "f.csv", "mapping": {"sku": "sku", "name": "name"}}))


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"\[feeds.s.mapping.colour\]"):
        spec(tmp_path, {"source": "x.csv", "mapping": {"colour": "c"}})
    with pytest.raises(ConfigError, match=r"\[feeds.s.pricing.multiply\]"):
        spec(tmp_path, {"source": "x.csv", "pricing": {"multiply": "lots"}})
    with pytest.raises(ConfigError, match=r"\[feeds.s.preset\]"):
        spec(tmp_path, {"source": "x.csv", "preset": "magento"})
    with pytest.raises(ConfigError, match=r"\[feeds.s.source\]"):
        spec(tmp_path, {"format": "csv"})


def test_xml_with_namespace_nested_variants_and_comma_locale(tmp_path):
    s = spec(DATA, {"source": "supplier-catalog.xml", "item_element": "s:product",
                    "variants_path": "s:variants.s:variant",
                    "namespaces": {"s": "urn:example:supplier"}, "decimal": ",", "mapping": {
                        "sku": "s:code", "name": "s:title", "regular_price": "s:price", "stock_quantity": "s:stock",
                        "categories": "s:category", "category_separator": " / ", "images": "s:image",
                        "attributes": {"Finish": "s:finish"}, "variation_attributes": ["Finish"]}})
    result = load_catalogue(s)
    assert result.errors == []
    lamp, chair = result.products
    assert lamp.regular_price == "1234.50" and lamp.categories == [["Lighting", "Desk"]] and len(lamp.images) == 2
    assert chair.type == "variable" and [v.regular_price for v in chair.variations] == ["99.00", "109.00"]
    assert chair.variations[0].where.endswith("item[2] /s:catalog/s:product/s:variants/s:variant/0")


def test_jsonl_with_key_template(tmp_path):
    s = spec(DATA, {"source": "supplier-items.jsonl", "mapping": {
        "key_template": "sup-{item_no}", "name": "title", "cost": "cost", "stock_quantity": "qty"},
        "pricing": {"multiply": "1.5"}})
    result = load_catalogue(s)
    assert [(p.key, p.sku, p.regular_price, p.stock_quantity) for p in result.products] == [
        ("sup-K-1", "sup-K-1", "15.00", 3), ("sup-K-2", "sup-K-2", "11.10", 0)]


def test_gzip_and_zip_by_magic_bytes(tmp_path):
    body = b"sku,name,price\nA,Lamp,1.00\n"
    (tmp_path / "feed.dat").write_bytes(gzip.compress(body))
    assert load_catalogue(FeedSpec.adhoc(str(tmp_path / "feed.dat"), format="csv")).counts["products"] == 1
    with zipfile.ZipFile(tmp_path / "feed.zip", "w") as z:
        z.writestr("export/products.csv", body)
    assert load_catalogue(FeedSpec.adhoc(str(tmp_path / "feed.zip"), format="csv")).counts["products"] == 1
    with zipfile.ZipFile(tmp_path / "two.zip", "w") as z:
        z.writestr("a.csv", body)
        z.writestr("b.csv", body)
    with pytest.raises(FeedRefused, match="exactly one file"):
        load_catalogue(FeedSpec.adhoc(str(tmp_path / "two.zip")))


def test_far_smaller_than_last_time_is_refused(tmp_path):
    (tmp_path / "f.csv").write_text("sku,name,price\nA,Lamp,1\nB,Desk,2\n")
    s = FeedSpec.adhoc(str(tmp_path / "f.csv"))
    assert load_catalogue(s, previous_count=4).counts["products"] == 2
    with pytest.raises(FeedRefused, match="under 50% of the 5"):
        load_catalogue(s, previous_count=5)


def test_max_errors(tmp_path):
    (tmp_path / "f.csv").write_text("sku,name,price\nA,Lamp,x\nB,Desk,2\nC,Bed,3\nD,Rug,4\n")
    s = FeedSpec.adhoc(str(tmp_path / "f.csv"))
    assert load_catalogue(s).counts["errors"] == 1
    with pytest.raises(FeedRefused, match="more than the limit of 0"):
        load_catalogue(s, max_errors=0)


def test_parent_without_variations_is_demoted(tmp_path):
    (tmp_path / "f.csv").write_text("sku,name,price,parent,color\nP,Tee,9,,\n")
    result = load_catalogue(spec(tmp_path, {"source": "f.csv", "mapping": {
        "sku": "sku", "name": "name", "regular_price": "price", "parent": "parent",
        "attributes": {"Color": "color"}, "variation_attributes": ["Color"]}}))
    assert result.products[0].type == "simple" and result.products[0].regular_price == "9.00"


@pytest.mark.parametrize("text,expected", [
    ("Trail Tee (Oat)", "trail-tee-oat"), ("Model 123", "model-123"), ("Café Crème", "cafe-creme"),
    ("Straße", "strasse"), ("  --Øre--  ", "ore"),
])
def test_slugs_of_plain_and_accented_text(text, expected):
    assert slug(text) == expected
