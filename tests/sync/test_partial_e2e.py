"""Partial feeds against the store: a stock file of 10,000 SKUs sends only stock, in the fewest
requests, and a re-run writes nothing; variations are found by SKU under their parent; SKUs
nobody knows are reported, never created."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.sync.conftest import batches, sandbox_only
from wsync.store import StoreClient


def write_rows(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def seed(rig, n: int) -> None:
    """n simple products put into the sandbox store's catalogue directly (not over HTTP, which
    is not what is measured): wsync's ledger knows none of them."""
    with rig.sandbox.db.lock:
        for i in range(n):
            rig.sandbox.catalog.create_product({"sku": rig.sku(f"P{i:05d}"), "name": f"Product {i}",
                                                "regular_price": "10.00", "manage_stock": True, "stock_quantity": 5})


@sandbox_only
def test_a_stock_file_of_10000_skus_sends_only_stock_in_the_fewest_requests(rig):
    n = 10_000
    seed(rig, n)
    # 9,000 change, 1,000 stay at 5; 20 SKUs the store does not have.
    rows = [[rig.sku(f"P{i:05d}"), 5 if i % 10 == 0 else 7 + i % 3] for i in range(n)]
    rows += [[rig.sku(f"GONE{i}"), 1] for i in range(20)]
    feed = write_rows(rig.tmp / "stock.csv", ["Artikelnummer", "Bestand"], rows)
    before = rig.sandbox.stats()["requests"]["by_method"].get("POST", 0)
    result, _ = rig.run(feed)
    assert result["partial"]["fields"] == ["manage_stock", "stock_quantity"]
    assert result["updated"] == 9_000 and result["unchanged"] == 1_000 and result["created"] == 0
    assert result["skipped"] == 20 and result["partial"]["unknown"] == 20
    assert result["success"] is True and result["failed"] == 0
    # 100 items a request: 90 writes for 9,000 changes; the SKUs were looked up in chunks.
    assert result["requests"]["write"] == batches(9_000, 100)
    assert result["requests"]["read"] <= batches(n + 20, 100) + 1
    assert rig.sandbox.stats()["requests"]["by_method"].get("POST", 0) - before == batches(9_000, 100)
    with StoreClient(rig.store) as c:
        p = c.find_by_skus([rig.sku("P00001")], fields=["name", "regular_price", "stock_quantity"])[0]
        assert (p["name"], p["regular_price"], p["stock_quantity"]) == ("Product 1", "10.00", 8)
        assert not c.find_by_skus([rig.sku("GONE1")])
    again, _ = rig.run(feed)
    # Nothing is written; the 20 SKUs nobody knows are looked up again (one may have been added since).
    assert again["requests"]["write"] == 0 and again["requests"]["read"] == 1
    assert again["unchanged"] == 10_000 and again["updated"] == 0 and again["skipped"] == 20
    # One SKU's stock changes: one request, one item.
    rows[3][1] = 0
    write_rows(feed, ["Artikelnummer", "Bestand"], rows)
    third, _ = rig.run(feed)
    assert third["updated"] == 1 and third["requests"] == {"read": 1, "write": 1}


def test_prices_and_sale_dates_of_products_and_variations_the_catalogue_made(rig):
    rows = rig.rows(2, 2, per_parent=3)
    catalogue, _ = rig.run(rig.feed(rows), stale_variations="keep")
    assert catalogue["created"] == 4 and catalogue["variations"]["created"] == 6
    header = ["sku", "sale price", "sale from", "sale to", "stock"]
    prices = [[rig.sku("S00000"), "8,50", "01.03.2025", "2025-03-31", 5],
              [rig.sku("V00001-M"), "7,00", "", "", 3],
              [rig.sku("V00000-S"), "", "", "", 9],
              [rig.sku("NOPE"), "1,00", "", "", 1]]
    feed = write_rows(rig.tmp / "prices.csv", header, prices)
    result, _ = rig.run(feed)
    assert result["partial"]["fields"] == ["date_on_sale_from", "date_on_sale_to", "manage_stock", "sale_price",
                                           "stock_quantity"]
    # S00000 and V00001-M get a sale; V00000-S gets stock 9 and no sale (as it has); NOPE is unknown.
    assert result["updated"] == 1 and result["variations"]["updated"] == 2
    assert result["partial"]["unknown_skus"] == [rig.sku("NOPE")]
    # The ledger knew every item but NOPE (one look-up); products in one request, each parent's in one.
    assert result["requests"] == {"read": 1, "write": 3}
    with rig.client() as c:
        found = {o["sku"]: o for o in c.find_by_skus([rig.sku("S00000"), rig.sku("V00001-M"), rig.sku("V00000-S")],
                                                     fields=["sale_price", "date_on_sale_from", "stock_quantity",
                                                             "regular_price"])}
    assert found[rig.sku("S00000")]["sale_price"] == "8.50"
    assert found[rig.sku("S00000")]["date_on_sale_from"].startswith("2025-03-01")
    assert found[rig.sku("V00001-M")]["sale_price"] == "7.00"
    assert found[rig.sku("V00000-S")]["stock_quantity"] == 9 and found[rig.sku("V00000-S")]["regular_price"] == "10.00"
    again, _ = rig.run(feed)
    assert again["requests"]["write"] == 0
    # --only stock leaves the sale alone.
    prices[0][1] = "6,00"
    write_rows(feed, header, prices)
    only, _ = rig.run(feed, only=["stock"])
    assert only["requests"]["write"] == 0 and only["updated"] == 0
