"""Grouped and external products, links, shipping classes, downloads and SKU-less variations, as a
real WooCommerce 8.2.2 store answers them (tests/data/recordings 29-31)."""

from __future__ import annotations

import json
from pathlib import Path

RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "recordings"


def recorded(name: str, method: str, url_end: str, body_has: dict) -> dict:
    """The store's recorded answer to the first request of that shape."""
    for exchange in json.loads((RECORDINGS / name).read_text())["exchanges"]:
        req = exchange["request"]
        body = req.get("json") or {}
        if req["method"] == method and req["url"].split("?")[0].endswith(url_end) and all(
                body.get(k) == v for k, v in body_has.items()):
            return exchange["response"]
    raise AssertionError(f"no such exchange in {name}")


def test_grouped_members_are_stored_unchecked_and_a_grouped_product_has_no_price(woo_api):
    a = woo_api.post("products", {"name": "A", "sku": "A", "regular_price": "10"}).json()
    group = woo_api.post("products", {"type": "grouped", "name": "G", "sku": "G", "regular_price": "99",
                                      "grouped_products": [a["id"], 999999]}).json()
    real = recorded("29_grouped_and_external.json", "POST", "/products", {"sku": "R29-GP"})["json"]
    assert (group["regular_price"], group["sale_price"]) == (real["regular_price"], real["sale_price"]) == ("", "")
    assert group["grouped_products"] == [a["id"], 999999]  # an unknown id is kept, as recorded (exchange 6)
    again = woo_api.get(f"products/{group['id']}").json()
    assert again["grouped_products"] == [a["id"], 999999] and again["type"] == "grouped"


def test_an_external_product_cannot_manage_stock(woo_api):
    real = recorded("29_grouped_and_external.json", "POST", "/products", {"sku": "R29-ES"})
    answer = woo_api.post("products", {"type": "external", "name": "E", "sku": "E", "external_url": "https://x.example/",
                                       "regular_price": "10", "manage_stock": True, "stock_quantity": 5})
    assert answer.status_code == real["status"] == 400
    assert answer.json()["code"] == real["json"]["code"] == "product_external_invalid_manage_stock"
    batch = woo_api.post("products/batch", {"create": [{"type": "external", "name": "E", "sku": "E2",
                                                        "manage_stock": True}]}).json()
    assert batch["create"][0]["id"] == 0 and batch["create"][0]["error"]["code"] == real["json"]["code"]
    # A stock-managed product that becomes external stops managing stock (exchange 33).
    simple = woo_api.post("products", {"name": "S", "sku": "S", "manage_stock": True, "stock_quantity": 3}).json()
    changed = woo_api.put(f"products/{simple['id']}", {"type": "external"}).json()
    assert changed["type"] == "external" and changed["manage_stock"] is False


def test_shipping_classes_by_slug_and_term_exists_on_a_duplicate_name(woo_api):
    dropped = woo_api.post("products", {"name": "P", "sku": "P", "shipping_class": "nope"}).json()
    assert (dropped["shipping_class"], dropped["shipping_class_id"]) == ("", 0)
    made = woo_api.post("products/shipping_classes", {"name": "Bulky Goods"}).json()
    assert made["slug"] == "bulky-goods"
    twice = woo_api.post("products/shipping_classes", {"name": "bulky goods"})
    assert twice.status_code == 400 and twice.json()["code"] == "term_exists"
    assert twice.json()["data"]["resource_id"] == made["id"]
    product = woo_api.put(f"products/{dropped['id']}", {"shipping_class": "bulky-goods"}).json()
    assert (product["shipping_class"], product["shipping_class_id"]) == ("bulky-goods", made["id"])


def test_downloads_need_downloadable_and_sale_dates_read_as_midnight(woo_api):
    files = [{"name": "Manual", "file": "https://example.com/manual.pdf"}]
    plain = woo_api.post("products", {"name": "D1", "sku": "D1", "downloads": files}).json()
    assert plain["downloads"] == []  # dropped without downloadable: true (recordings/30)
    product = woo_api.post("products", {"name": "D2", "sku": "D2", "downloadable": True, "downloads": files,
                                        "download_limit": 3, "date_on_sale_from": "2026-01-01",
                                        "date_on_sale_to": "not a date"}).json()
    assert [(d["name"], d["file"]) for d in product["downloads"]] == [("Manual", "https://example.com/manual.pdf")]
    assert product["download_limit"] == 3 and product["download_expiry"] == -1
    assert product["date_on_sale_from"] == "2026-01-01T00:00:00" and product["date_on_sale_to"] is None


def test_a_variation_without_its_own_sku_answers_its_parents(woo_api):
    real = json.loads((RECORDINGS / "31_variation_without_sku_shows_parents.json").read_text())["exchanges"]
    size = {"name": "Size", "options": ["S", "M"], "variation": True}
    parent = woo_api.post("products", {"name": "V", "type": "variable", "sku": "REC-PARENT",
                                       "attributes": [size]}).json()
    variation = woo_api.post(f"products/{parent['id']}/variations",
                             {"regular_price": "3", "attributes": [{"name": "Size", "option": "S"}]}).json()
    assert variation["sku"] == real[1]["response"]["json"]["sku"] == "REC-PARENT"
    listed = woo_api.get(f"products/{parent['id']}/variations").json()
    assert [v["sku"] for v in listed] == ["REC-PARENT"]
    found = woo_api.get("products", params={"sku": "REC-PARENT"}).json()
    assert [p["type"] for p in found] == [p["type"] for p in real[4]["response"]["json"]] == ["variable"]
