"""Every WooCommerce product type and detail field, from a WooCommerce CSV to the store and back."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from wsync.ledger.jobs import JobStore
from wsync.store import StoreClient
from wsync.sync.engine import run_import
from wsync.sync.options import ImportOptions

HEADER = ["ID", "Type", "SKU", "Name", "Published", "Is featured?", "Visibility in catalog", "Description",
          "Date sale price starts", "Date sale price ends", "Tax status", "In stock?", "Stock", "Low stock amount",
          "Backorders allowed?", "Sold individually?", "Allow customer reviews?", "Purchase note", "Sale price",
          "Regular price", "Shipping class", "Download limit", "Download expiry days", "Parent", "Grouped products",
          "Upsells", "Cross-sells", "External URL", "Button text", "Position", "Attribute 1 name",
          "Attribute 1 value(s)", "Attribute 1 visible", "Attribute 1 global", "Attribute 1 default",
          "Attribute 2 name", "Attribute 2 value(s)", "Attribute 2 visible", "Attribute 2 global",
          "Download 1 name", "Download 1 URL", "GTIN, UPC, EAN, or ISBN"]


def write_export(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


def catalogue(sku) -> list[dict[str, str]]:
    return [
        # The group comes first: its members are created after it, in the same run.
        {"ID": "10", "Type": "grouped", "SKU": sku("SET"), "Name": "Set", "Published": "1",
         "Grouped products": f"{sku('MUG')}, {sku('TEE')}"},
        {"ID": "11", "Type": "simple", "SKU": sku("MUG"), "Name": "Mug", "Published": "1", "Is featured?": "1",
         "Visibility in catalog": "catalog", "Tax status": "shipping", "In stock?": "1", "Stock": "7",
         "Low stock amount": "2", "Backorders allowed?": "notify", "Sold individually?": "1",
         "Allow customer reviews?": "0", "Purchase note": "Thanks", "Regular price": "12,50", "Sale price": "9,99",
         "Date sale price starts": "2030-01-01", "Date sale price ends": "2030-01-31 23:59:00",
         "Shipping class": "Fragile Goods", "Upsells": sku("TEE"), "Cross-sells": "id:12", "Position": "4",
         "GTIN, UPC, EAN, or ISBN": "4006381333931"},
        {"ID": "12", "Type": "external", "SKU": sku("EXT"), "Name": "Poster", "Published": "1",
         "Regular price": "30", "External URL": "https://artist.example/poster", "Button text": "Buy there"},
        {"ID": "13", "Type": "simple, downloadable, virtual", "SKU": sku("PDF"), "Name": "Guide", "Published": "1",
         "Regular price": "4.99", "Download limit": "5", "Download expiry days": "30", "Download 1 name": "Guide",
         "Download 1 URL": "https://artist.example/guide.pdf"},
        {"ID": "14", "Type": "variable", "SKU": sku("TEE"), "Name": "Tee", "Published": "1",
         "Attribute 1 name": "Size", "Attribute 1 value(s)": "S, M", "Attribute 1 visible": "1",
         "Attribute 1 global": "0", "Attribute 1 default": "M", "Attribute 2 name": "Fit",
         "Attribute 2 value(s)": "Slim, Loose", "Attribute 2 visible": "1", "Attribute 2 global": "0"},
        # No SKU: keyed by parent and attributes; the blank Fit is "any" fit.
        {"ID": "15", "Type": "variation", "SKU": "", "Name": "Tee S", "Published": "1", "Parent": sku("TEE"),
         "Regular price": "10", "Attribute 1 name": "Size", "Attribute 1 value(s)": "S",
         "Attribute 2 name": "Fit", "Attribute 2 value(s)": ""},
        {"ID": "16", "Type": "variation", "SKU": "", "Name": "Tee M slim", "Published": "1", "Parent": "id:14",
         "Regular price": "11", "Attribute 1 name": "Size", "Attribute 1 value(s)": "M",
         "Attribute 2 name": "Fit", "Attribute 2 value(s)": "Slim"},
    ]


def run(rig, path: Path) -> dict[str, Any]:
    opts = ImportOptions(process_images=False).validate()
    data = {"source": str(path), "preset": "woocommerce-csv", "feed_name": "wc-export", "options": opts.to_dict()}
    jobs = JobStore(rig.ledger)
    job_id = jobs.create(kind="import", feed="wc-export", job_data=data)
    with StoreClient(rig.store) as client:
        return run_import(job_id, ledger=rig.ledger, settings=rig.settings, jobs=jobs, client=client)


def read_back(rig) -> dict[str, dict[str, Any]]:
    rig.all_products()  # registers the test's products for clean-up on a live store
    with StoreClient(rig.store) as client:
        found = {}
        for product in client.iter_pages("products"):
            if (product.get("sku") or "").startswith(rig.prefix) and product["sku"]:
                found[product["sku"][len(rig.prefix):]] = product
        tee = found["TEE"]
        tee["_variations"] = list(client.iter_pages(f"products/{tee['id']}/variations"))
    return found


def test_every_type_and_detail_reaches_the_store_and_a_rerun_writes_nothing(rig):
    path = write_export(rig.tmp / "export.csv", catalogue(rig.sku))
    result = run(rig, path)
    assert result["success"], result
    assert result["links"]["updated"] == 2 and result["links"]["unresolved"] == 0
    store = read_back(rig)
    assert {k: p["type"] for k, p in store.items()} == {"SET": "grouped", "MUG": "simple", "EXT": "external",
                                                          "PDF": "simple", "TEE": "variable"}
    ids = {k: p["id"] for k, p in store.items()}
    assert store["SET"]["grouped_products"] == [ids["MUG"], ids["TEE"]]
    mug = store["MUG"]
    assert (mug["upsell_ids"], mug["cross_sell_ids"]) == ([ids["TEE"]], [ids["EXT"]])
    assert (mug["featured"], mug["catalog_visibility"], mug["tax_status"], mug["backorders"]) == (
        True, "catalog", "shipping", "notify")
    assert (mug["stock_quantity"], mug["low_stock_amount"], mug["sold_individually"], mug["reviews_allowed"]) == (
        7, 2, True, False)
    assert (mug["regular_price"], mug["sale_price"], mug["menu_order"]) == ("12.50", "9.99", 4)
    assert mug["date_on_sale_from"].startswith("2030-01-01T00:00") and mug["date_on_sale_to"].startswith("2030-01-31")
    assert mug["shipping_class"] == "fragile-goods" and mug["shipping_class_id"]
    assert "Thanks" in mug["purchase_note"]
    assert {"key": "_global_unique_id", "value": "4006381333931"} in [
        {"key": m["key"], "value": m["value"]} for m in mug["meta_data"]]
    ext = store["EXT"]
    assert (ext["external_url"], ext["button_text"], ext["regular_price"]) == (
        "https://artist.example/poster", "Buy there", "30.00")
    pdf = store["PDF"]
    assert pdf["virtual"] and pdf["downloadable"] and (pdf["download_limit"], pdf["download_expiry"]) == (5, 30)
    assert [(d["name"], d["file"]) for d in pdf["downloads"]] == [("Guide", "https://artist.example/guide.pdf")]
    tee = store["TEE"]
    assert tee["default_attributes"][0]["option"].lower() == "m"
    variations = sorted(({a["name"]: a["option"] for a in v["attributes"]} for v in tee["_variations"]),
                        key=lambda a: a["Size"])
    assert variations == [{"Size": "M", "Fit": "Slim"}, {"Size": "S"}]  # S is any fit
    # No SKU is made up for them: without one of its own a variation answers its parent's (recordings/31).
    assert all(v["sku"] == tee["sku"] for v in tee["_variations"])
    fit = next(a for a in tee["attributes"] if a["name"] == "Fit")
    assert fit["variation"] is True

    again = run(rig, path)
    assert again["requests"]["write"] == 0, again
    assert "links" not in again


def test_a_link_that_changes_is_the_only_write(rig):
    rows = catalogue(rig.sku)
    path = write_export(rig.tmp / "export.csv", rows)
    assert run(rig, path)["success"]
    rows[1]["Upsells"] = f"{rig.sku('TEE')}, {rig.sku('PDF')}"
    rows[1]["Cross-sells"] = rig.sku("NOT-THERE")
    write_export(path, rows)
    result = run(rig, path)
    assert result["requests"]["write"] == 1 and result["links"] == {"updated": 1, "failed": 0, "unresolved": 1}
    store = read_back(rig)
    assert store["MUG"]["upsell_ids"] == [store["TEE"]["id"], store["PDF"]["id"]]
    assert store["MUG"]["cross_sell_ids"] == []  # the unknown SKU is left out, never guessed
    # A link left out is work not done: the job says so, and which one, in the ledger.
    assert result["success"] is False and "Links not set: 1" in result["message"]
    errors = JobStore(rig.ledger).errors(result["job_id"])
    assert any(e["stage"] == "links" and "NOT-THERE" in e["message"] for e in errors), errors
