"""The three presets against real-shaped files in tests/data/."""

from __future__ import annotations

from pathlib import Path

from wsync.feeds import FeedSpec, load_catalogue

DATA = Path(__file__).resolve().parents[1] / "data"


def load(name: str, preset: str | None = None, **kw):
    return load_catalogue(FeedSpec.adhoc(str(DATA / name), preset=preset), **kw)


def by_key(result):
    return {p.key: p for p in result.products}


def test_woocommerce_sample_csv_parents_by_id_and_by_sku():
    result = load("woocommerce-sample-products.csv", "woocommerce-csv")
    products = by_key(result)
    tee = products["woo-vneck-tee"]
    assert tee.type == "variable" and len(tee.variations) == 3
    color = next(a for a in tee.attributes if a.name == "Color")
    assert color.variation and color.taxonomy and set(color.options) == {"Blue", "Green", "Red"}
    size = next(a for a in tee.attributes if a.name == "Size")
    assert size.variation is False  # no variation uses it
    assert tee.categories == [["Clothing", "Tshirts"]] and len(tee.images) == 3
    assert tee.weight == "0.5" and tee.dimensions.length == "24" and tee.meta == {"_wpcom_is_markdown": "1"}
    hoodie = products["woo-hoodie"]  # variations reference it by SKU
    assert {tuple(sorted(v.attributes.items())) for v in hoodie.variations} == {
        (("Color", "Red"), ("Logo", "No")), (("Color", "Green"), ("Logo", "No")), (("Color", "Blue"), ("Logo", "Yes"))}
    red = next(v for v in hoodie.variations if v.key == "woo-hoodie-red")
    assert (red.regular_price, red.sale_price) == ("45.00", "42.00")
    assert products["woo-beanie"].categories == [["Clothing", "Accessories"], ["Sale"]]
    assert products["woo-tshirt"].stock_quantity == 25 and products["woo-tshirt"].tags == ["cotton", "summer"]
    assert result.errors == []
    pennant = products["wp-pennant"]  # an external product is imported as one
    assert pennant.type == "external" and pennant.details.external_url.startswith("https://")
    assert result.counts == {"products": 6, "variable": 2, "variations": 6, "images": 14, "distinct_images": 9,
                             "errors": 0}


def test_google_merchant_rss_groups_variants_by_item_group_id():
    result = load("google-merchant-rss.xml", "google-merchant")
    products = by_key(result)
    shirt = products["TSHIRT"]
    assert shirt.type == "variable" and shirt.sku == "TSHIRT"
    assert [v.key for v in shirt.variations] == ["TSHIRT-S-RED", "TSHIRT-M-RED", "TSHIRT-M-BLUE"]
    assert all(v.sku == v.key for v in shirt.variations)
    first = shirt.variations[0]
    assert (first.regular_price, first.sale_price, first.stock_status) == ("15.00", "12.00", "instock")
    assert [v.stock_status for v in shirt.variations[1:]] == ["outofstock", "onbackorder"]
    assert {a.name: a.options for a in shirt.attributes if a.variation}["Color"] == ["Red", "Blue"]
    assert shirt.categories == [["Apparel", "Tops", "T-Shirts"]] and shirt.brand == "Example Outfitters"
    assert len(shirt.images) == 3
    mug = products["MUG-001"]
    assert mug.type == "simple" and mug.regular_price == "9.50" and mug.stock_status == "onbackorder"
    assert result.errors == []


def test_google_merchant_atom_and_tsv():
    atom = by_key(load("google-merchant-atom.xml", "google-merchant"))
    cap = atom["CAP"]
    assert [v.attributes for v in cap.variations] == [{"Color": "Black"}, {"Color": "White"}]
    assert cap.images[0].src == "https://www.example.com/img/cap%20black.jpg"
    tsv = by_key(load("google-merchant.tsv", "google-merchant"))
    assert tsv["SOCK"].variations[1].sale_price == "6.50"
    assert [i.src for i in tsv["SOCK"].images][1:] == ["https://www.example.com/img/socks-2.jpg",
                                                       "https://www.example.com/img/socks-3.jpg"]
    assert tsv["SCARF-1"].stock_status == "outofstock"


def test_shopify_products_json():
    result = load("shopify-products.json", "shopify-json")
    products = by_key(result)
    tote = products["canvas-tote"]  # single "Default Title" variant without SKU -> simple, keyed by handle
    assert tote.type == "simple" and tote.sku == "canvas-tote" and tote.regular_price == "24.00"
    assert tote.stock_quantity == 14 and tote.weight == "0.4" and tote.tags == ["canvas", "eco", "tote"]
    sweater = products["merino-sweater"]
    keys = [v.key for v in sweater.variations]
    assert keys == ["merino-sweater-S-Navy", "merino-sweater-M-Navy", "MS-S-OAT"]
    navy = sweater.variations[0]
    assert (navy.regular_price, navy.sale_price) == ("99.00", "79.00")  # compare_at_price above price
    oat = sweater.variations[2]
    assert (oat.regular_price, oat.sale_price) == ("89.00", None)  # compare_at below price is ignored
    assert oat.image.src.endswith("sweater-oat.jpg")
    assert {a.name: a.options for a in sweater.attributes} == {"Size": ["S", "M"], "Color": ["Navy", "Oat"]}


def test_shopify_key_template(tmp_path):
    spec = FeedSpec.from_config("s", {"source": str(DATA / "shopify-products.json"), "preset": "shopify-json",
                                      "key_template": "{handle}-{id}"}, tmp_path)
    keys = [v.key for p in load_catalogue(spec).products for v in p.variations]
    assert keys == ["merino-sweater-9101", "merino-sweater-9102", "MS-S-OAT"]
