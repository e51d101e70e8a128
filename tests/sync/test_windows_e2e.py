"""A job in many small windows of products does what a job in one window does.

The engine plans and pushes a window of products at a time, with the ledger read per window
(wsync.sync.run.windows). The same feed, with variations listed before and after their parents,
grouped products and upsells naming products in other windows, images and a product that left
the feed, is imported into two fresh sandbox stores: in windows of 3 products and in one window.
Results, store contents and ledgers must agree, and a second run in windows writes nothing.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

from tests.sync.test_woocommerce_types_e2e import HEADER
from wsync.config import ImportDefaults, Settings
from wsync.feeds import FeedSpec
from wsync.ledger import Ledger
from wsync.ledger.jobs import JobStore
from wsync.sandbox import SandboxServer
from wsync.store import StoreClient, StoreSettings
from wsync.sync.engine import plan_only, run_import
from wsync.sync.options import ImportOptions


def rows(images: str, drop: str | None = None) -> list[dict[str, str]]:
    out = [
        {"ID": "1", "Type": "grouped", "SKU": "SET", "Name": "Set", "Published": "1",
         "Grouped products": "S-7, S-12", "Upsells": "V-9"},
    ]
    for i in range(14):
        out.append({"ID": str(100 + i), "Type": "simple", "SKU": f"S-{i}", "Name": f"Simple {i}", "Published": "1",
                    "Regular price": f"{10 + i}.00", "Stock": str(i), "Cross-sells": "S-0" if i == 13 else "",
                    # Two products share an image: one attachment for both, whichever window.
                    "Images": f"{images}/img/p{i % 12}.png"})
    for i in range(10):
        out.append({"ID": str(200 + i), "Type": "variable", "SKU": f"V-{i}", "Name": f"Variable {i}", "Published": "1",
                    "Attribute 1 name": "Size", "Attribute 1 value(s)": "S, M, L", "Attribute 1 visible": "1",
                    "Attribute 1 global": "1"})
        for j, size in enumerate(("S", "M", "L")):
            out.append({"ID": str(300 + 3 * i + j), "Type": "variation", "SKU": f"V-{i}-{size}", "Name": "",
                        "Published": "1", "Parent": f"V-{i}", "Regular price": f"{20 + i}.00",
                        "Attribute 1 name": "Size", "Attribute 1 value(s)": size, "Attribute 1 global": "1"})
    return [r for r in out if drop is None or drop not in (r["SKU"], r.get("Parent"))]


def write(path: Path, feed_rows: list[dict[str, str]]) -> Path:
    shuffled = list(feed_rows)
    random.Random(5).shuffle(shuffled)  # variations before and after their parents
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*HEADER, "Images"], restval="")
        writer.writeheader()
        writer.writerows(shuffled)
    return path


class Store:
    def __init__(self, tmp: Path):
        self.server = SandboxServer().start()
        tmp.mkdir()
        self.ledger = Ledger(tmp / "wsync.db")
        self.jobs = JobStore(self.ledger)
        self.store = StoreSettings(url=self.server.url, consumer_key=self.server.consumer_key,
                                   consumer_secret=self.server.consumer_secret, read_timeout=20.0)
        self.settings = Settings(path=None, base_dir=tmp, store=self.store, ledger_path=tmp / "wsync.db",
                                 feeds={}, import_defaults=ImportDefaults())

    def run(self, feed: Path, **options: Any) -> dict[str, Any]:
        opts = ImportOptions(**options).validate()
        data = {"source": str(feed), "preset": "woocommerce-csv", "feed_name": "f", "options": opts.to_dict()}
        job_id = self.jobs.create(kind="import", feed="f", job_data=data)
        with StoreClient(self.store) as client:
            return run_import(job_id, ledger=self.ledger, settings=self.settings, jobs=self.jobs, client=client)

    def plan(self, feed: Path, **options: Any) -> dict[str, Any]:
        spec = FeedSpec.adhoc(str(feed), preset="woocommerce-csv", name="f")
        with StoreClient(self.store) as client:
            return plan_only(spec, ledger=self.ledger, settings=self.settings,
                             options=ImportOptions(**options).validate(), client=client)

    def contents(self) -> dict[str, Any]:
        """The store's products by SKU, their links as SKUs, and each parent's variations."""
        with StoreClient(self.store) as c:
            products = list(c.iter_pages("products", fields=["id", "sku", "type", "status", "regular_price", "images",
                                                             "grouped_products", "upsell_ids", "cross_sell_ids",
                                                             "stock_quantity"]))
            sku_of = {p["id"]: p["sku"] for p in products}
            out = {}
            for p in products:
                entry = {k: p.get(k) for k in ("type", "status", "regular_price", "stock_quantity")}
                entry["images"] = [i.get("name") or i.get("src", "").rsplit("/", 1)[-1] for i in p.get("images") or []]
                for name in ("grouped_products", "upsell_ids", "cross_sell_ids"):
                    entry[name] = sorted(sku_of.get(i, i) for i in p.get(name) or [])
                if p["type"] == "variable":
                    entry["variations"] = sorted(
                        (v["sku"], v.get("regular_price")) for v in
                        c.iter_pages(f"products/{p['id']}/variations", fields=["sku", "regular_price"]))
                out[p["sku"]] = entry
            return out

    def ledger_items(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.ledger.conn.execute(
            "SELECT kind, key, sku, hash, parent_key, missing_action, last_action FROM items ORDER BY kind, key")]

    def close(self) -> None:
        self.ledger.close()
        self.server.stop()


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("success", "created", "updated", "unchanged", "failed", "skipped", "removed", "variations",
            "feed_errors", "links", "images_scheduled")
    return {k: result.get(k) for k in keep}


def test_many_small_windows_do_what_one_window_does(tmp_path: Path, image_host):
    feed = write(tmp_path / "export.csv", rows(image_host.url))
    shrunk = write(tmp_path / "export-2.csv", rows(image_host.url, drop="S-3"))
    small, whole = Store(tmp_path / "small"), Store(tmp_path / "whole")
    try:
        first = [small.run(feed, window=3), whole.run(feed, window=10_000)]
        assert first[0]["created"] == 25 and first[0]["variations"]["created"] == 30
        assert first[0].get("links", {}).get("updated") == 2, "links across windows are set (SET, S-13)"
        assert first[0]["images"]["attached"] == 14 and first[0]["images_missing"] == 0
        assert comparable(first[0]) == comparable(first[1])
        assert small.contents() == whole.contents()
        assert small.ledger_items() == whole.ledger_items()
        # The plan, in windows, of a feed a product left.
        plans = [small.plan(shrunk, window=4, missing="draft"), whole.plan(shrunk, missing="draft")]
        assert plans[0]["products"] == plans[1]["products"] and plans[0]["products"]["remove"] == 1
        # Store ids differ between the two stores (created in another order); the rest agrees.
        listed = [sorted(str({k: v for k, v in item.items() if k != "id"}) for item in p["items"]) for p in plans]
        assert listed[0] == listed[1] and len(listed[0]) == 1
        second = [small.run(shrunk, window=3, missing="draft"), whole.run(shrunk, window=10_000, missing="draft")]
        assert second[0]["removed"] == 1
        assert comparable(second[0]) == comparable(second[1])
        assert small.contents() == whole.contents()
        assert small.ledger_items() == whole.ledger_items()
        again = small.run(shrunk, window=3, missing="draft")
        assert again["requests"]["write"] == 0 and again["unchanged"] == 24
    finally:
        small.close()
        whole.close()


def test_a_feed_loaded_on_two_cores_imports_as_on_one(tmp_path: Path, image_host, monkeypatch):
    """The load shared with a helper process (forced here for a small file, blocks of 2 records)
    gives the job what one process gives it: the same results, store contents and ledger, and a
    re-run that writes nothing."""
    from tests.feeds.test_spill import record_returns
    from wsync.feeds import rows_pass, second_core

    monkeypatch.setattr(second_core, "MIN_BYTES", 0)
    monkeypatch.setattr(rows_pass, "BLOCK", 2)
    shares: list[object] = []
    record_returns(monkeypatch, second_core.Helper, "built", shares)
    feed = write(tmp_path / "export.csv", rows(image_host.url))
    one, two = Store(tmp_path / "one"), Store(tmp_path / "two")
    try:
        monkeypatch.setenv(second_core.ENV, "1")
        alone = one.run(feed, window=4)
        assert not shares
        monkeypatch.setenv(second_core.ENV, "2")
        shared = two.run(feed, window=4)
        assert shares and all(done is not None for done in shares), "the helper built its share"
        assert shared["created"] == 25 and shared["variations"]["created"] == 30
        assert comparable(shared) == comparable(alone)
        assert two.contents() == one.contents()
        assert two.ledger_items() == one.ledger_items()
        with feed.open("a", encoding="utf-8") as fh:
            fh.write("\n")  # other bytes (a blank line), the same records: read again, not skipped
        again = two.run(feed, window=4)
        assert again["requests"]["write"] == 0 and again["unchanged"] == 25 and len(shares) == 2
    finally:
        one.close()
        two.close()
