"""A plan shared with a helper process (wsync.sync.plan_helper) is the plan one process makes.

Forced here for a small feed (the helper normally waits for 10,000 products) in windows of 4
products: the same feed, into a store an import filled, then changed (a price, a product gone,
a new one), is planned by one process and by two; everything but the request counts must agree,
items in the same order. A helper that fails costs only time: this process plans its half.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from tests.feeds.test_spill import record_returns
from tests.sync.test_windows_e2e import Store, rows, write
from tests.sync.test_woocommerce_types_e2e import HEADER
from wsync.feeds import FeedSpec, second_core
from wsync.sync import plan_helper
from wsync.sync.engine import plan_only
from wsync.sync.options import ImportOptions


def plan(store: Store, feed: Path, **options: Any) -> dict[str, Any]:
    """As `wsync plan` does it: the engine makes its own client from the settings."""
    spec = FeedSpec.adhoc(str(feed), preset="woocommerce-csv", name="f")
    doc = plan_only(spec, ledger=store.ledger, settings=store.settings, options=ImportOptions(**options).validate())
    return {**doc, "items": list(doc["items"])}


def changed_rows(images: str) -> list[dict[str, str]]:
    out = rows(images, drop="S-3")
    for row in out:
        if row["SKU"] in ("S-9", "V-7-M"):
            row["Regular price"] = "99.00"
    return out


def write_changed(path: Path, images: str) -> Path:
    """The changed feed, shuffled, with a new product last: in the helper's half, with a shipping
    class the store does not have (a new term only the helper sees)."""
    write(path, changed_rows(images))
    with path.open("a", newline="", encoding="utf-8") as fh:
        csv.DictWriter(fh, fieldnames=[*HEADER, "Images"], restval="").writerow(
            {"ID": "999", "Type": "simple", "SKU": "NEW-1", "Name": "New", "Published": "1",
             "Regular price": "5.00", "Shipping class": "Bulky"})
    return path


def without_requests(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "requests"}


def test_a_plan_shared_with_a_helper_is_the_plan_of_one_process(tmp_path: Path, image_host, monkeypatch):
    monkeypatch.setattr(plan_helper, "MIN_PRODUCTS", 0)
    shares: list[object] = []
    record_returns(monkeypatch, plan_helper.Helper, "collect", shares)
    store = Store(tmp_path / "store")
    try:
        store.run(write(tmp_path / "export.csv", rows(image_host.url)), window=10_000)
        feed = write_changed(tmp_path / "export-2.csv", image_host.url)
        monkeypatch.setenv(second_core.ENV, "1")
        alone = plan(store, feed, window=4, missing="draft")
        assert not shares
        monkeypatch.setenv(second_core.ENV, "2")
        shared = plan(store, feed, window=4, missing="draft")
        assert len(shares) == 1 and shares[0] is not None, "the helper planned its half"
        assert shared["requests"]["write"] == 0
        assert without_requests(shared) == without_requests(alone)
        # What the plan says, so the comparison above compares something.
        assert shared["products"]["create"] == 1 and shared["products"]["remove"] == 1
        assert shared["products"]["update"] == 1 and shared["variations"]["update"] == 1
        assert shared["new_terms"] == ["shipping class Bulky"]
        updated = {i["sku"]: i["fields"] for i in shared["items"] if i["action"] == "update"}
        assert set(updated) == {"S-9", "V-7-M"}
        # No product of the helper's half is planned twice nor left out.
        assert len(shared["items"]) == len(alone["items"]) == 4
        # The later half's images are counted with the first's.
        assert shared["images"]["distinct"] == alone["images"]["distinct"] == 11  # S-3 took p3 with it
    finally:
        store.close()


def test_a_helper_that_fails_leaves_its_half_to_this_process(tmp_path: Path, image_host, monkeypatch):
    monkeypatch.setattr(plan_helper, "MIN_PRODUCTS", 0)
    monkeypatch.setenv(second_core.ENV, "2")
    real_init = plan_helper.Helper.__init__

    def broken(self, job):
        job.products = tmp_path / "no-such-file.sqlite"  # the helper cannot open it and says so
        real_init(self, job)

    monkeypatch.setattr(plan_helper.Helper, "__init__", broken)
    shares: list[object] = []
    record_returns(monkeypatch, plan_helper.Helper, "collect", shares)
    store = Store(tmp_path / "store")
    try:
        feed = write(tmp_path / "export.csv", rows(image_host.url))
        doc = plan(store, feed, window=4)
        assert shares == [None], "the helper failed"
        assert doc["products"]["create"] == 25 and doc["variations"]["create"] == 30
        assert len(doc["items"]) == 55 and len({(i["kind"], i["key"]) for i in doc["items"]}) == 55
        assert not list(tmp_path.glob("**/plan-helper-*")), "nothing of the helper's is left behind"
    finally:
        store.close()


def test_a_plan_learns_the_store_catalogue_size_once(tmp_path: Path):
    """Each window's unknown SKUs are looked for on the store: a plan (which writes nothing)
    learns the catalogue's size once, and asks an empty store nothing more."""
    from wsync.sandbox import SandboxServer
    from wsync.store import StoreClient, StoreSettings
    from wsync.sync.adopt import find_existing

    server = SandboxServer().start()
    try:
        settings = StoreSettings(url=server.url, consumer_key=server.consumer_key,
                                 consumer_secret=server.consumer_secret)
        window = [f"LONG-SKU-{i:06d}" for i in range(600)]  # more than two look-ups' worth
        with StoreClient(settings) as client:
            memo: dict[str, int] = {}
            assert find_existing(client, window, memo) == {}
            first = client.counters.as_dict()["read"]
            assert memo == {"total": 0} and first >= 1
            assert find_existing(client, [s + "-B" for s in window], memo) == {}
            assert client.counters.as_dict()["read"] == first, "an empty store is not asked again"
            client.post("products", {"name": "Held", "sku": "LONG-SKU-000007", "type": "simple"})
            # Without the memo (an import, which fills the store as it goes) the size is asked again.
            assert set(find_existing(client, window)) == {"LONG-SKU-000007"}
    finally:
        server.stop()


def test_a_plan_that_fails_ends_its_helper(tmp_path: Path, image_host, monkeypatch):
    import multiprocessing

    import pytest

    monkeypatch.setattr(plan_helper, "MIN_PRODUCTS", 0)
    monkeypatch.setenv(second_core.ENV, "2")
    started: list[object] = []
    record_returns(monkeypatch, plan_helper.Helper, "__init__", started)

    def fails(run, window):
        raise RuntimeError("planning failed in this process")

    monkeypatch.setattr(plan_helper, "plan_window", fails)  # here only: the helper imports its own
    store = Store(tmp_path / "store")
    try:
        feed = write(tmp_path / "export.csv", rows(image_host.url))
        with pytest.raises(RuntimeError, match="planning failed"):
            plan(store, feed, window=4)
        assert started, "a helper was started"
        assert not [p for p in multiprocessing.active_children() if p.name == "wsync-plan-helper"]
    finally:
        store.close()
