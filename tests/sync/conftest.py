"""Fixtures for end-to-end sync tests: a sandbox store, a ledger, and feeds written as CSV files."""

from __future__ import annotations

import csv
import math
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from wsync.config import ImportDefaults, Settings
from wsync.ledger import Ledger
from wsync.ledger.jobs import JobStore
from wsync.store import StoreClient, StoreSettings
from wsync.sync.engine import run_import
from wsync.sync.options import ImportOptions

COLUMNS = ["sku", "parent", "name", "price", "sale_price", "stock", "size", "colour", "category", "images"]


def write_feed(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in COLUMNS})
    return path


def catalogue_rows(simple: int, variable: int, per_parent: int = 4, *, price: str = "10.00",
                   images: dict[str, list[str]] | None = None, prefix: str = "") -> list[dict[str, Any]]:
    """`simple` simple products and `variable` parents with `per_parent` size variations each."""
    rows = []
    sizes = ["S", "M", "L", "XL", "XXL", "3XL"] + [f"EU{n}" for n in range(30, 90)]
    for i in range(simple):
        sku = f"{prefix}S{i:05d}"
        rows.append({"sku": sku, "name": f"Simple {i}", "price": price, "stock": 5, "category": "Shop > Simple",
                     "images": ",".join((images or {}).get(sku, []))})
    for i in range(variable):
        parent = f"{prefix}V{i:05d}"
        rows.append({"sku": parent, "name": f"Variable {i}", "category": "Shop > Variable",
                     "images": ",".join((images or {}).get(parent, []))})
        for j in range(per_parent):
            rows.append({"sku": f"{parent}-{sizes[j]}", "parent": parent, "name": f"Variable {i} {sizes[j]}",
                         "price": price, "stock": 3, "size": sizes[j]})
    return rows


LIVE_ENV = ("WSYNC_TEST_STORE_URL", "WSYNC_TEST_CONSUMER_KEY", "WSYNC_TEST_CONSUMER_SECRET")
LIVE = all(os.environ.get(name) for name in LIVE_ENV)
# Tests that read the sandbox's own counters (downloads, writes) or turn its fault knobs.
sandbox_only = pytest.mark.skipif(LIVE, reason="needs the sandbox store's counters or fault knobs")


@dataclass
class SyncRig:
    """A store (the sandbox, or a live store with WSYNC_TEST_* set), a ledger, and import jobs.

    On a live store every SKU of a test carries a unique prefix, so tests never see each other's
    products (or what the store held before), and the test's products are deleted afterwards."""

    sandbox: Any
    tmp: Path
    store: StoreSettings | None = None
    prefix: str = ""
    created_ids: set = field(default_factory=set)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.tmp / "wsync.db")
        self.jobs = JobStore(self.ledger)
        if self.store is None:
            self.store = StoreSettings(url=self.sandbox.url, consumer_key=self.sandbox.consumer_key,
                                       consumer_secret=self.sandbox.consumer_secret, read_timeout=20.0,
                                       max_retry_wait_s=20.0, backoff_base_s=0.05)
        self.settings = Settings(path=None, base_dir=self.tmp, store=self.store, ledger_path=self.tmp / "wsync.db",
                                 feeds={}, import_defaults=ImportDefaults())

    def sku(self, sku: str) -> str:
        return self.prefix + sku

    def rows(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return catalogue_rows(*args, prefix=self.prefix, **kwargs)

    def feed(self, rows: list[dict[str, Any]], name: str = "feed.csv") -> Path:
        return write_feed(self.tmp / name, rows)

    def run(self, feed: Path, feed_name: str = "test-feed", **options: Any) -> tuple[dict[str, Any], StoreClient]:
        opts = ImportOptions(**options).validate()
        data = {"source": str(feed), "format": "csv", "feed_name": feed_name, "options": opts.to_dict()}
        job_id = self.jobs.create(kind="import", feed=feed_name, job_data=data)
        client = StoreClient(self.store)
        try:
            result = run_import(job_id, ledger=self.ledger, settings=self.settings, jobs=self.jobs, client=client)
        finally:
            client.close()
        return result, client

    def client(self) -> StoreClient:
        return StoreClient(self.store)

    def all_products(self) -> list[dict[str, Any]]:
        with self.client() as c:
            found = list(c.iter_pages("products", fields=["id", "sku", "type", "status", "images", "regular_price"]))
        mine = [p for p in found if (p.get("sku") or "").startswith(self.prefix)]
        self.created_ids.update(p["id"] for p in mine)
        return mine

    def all_variations(self, parent_id: int) -> list[dict[str, Any]]:
        with self.client() as c:
            return list(c.iter_pages(f"products/{parent_id}/variations", fields=["id", "sku", "attributes", "image",
                                                                                   "regular_price"]))

    def cleanup(self) -> None:
        """Delete this test's products from a live store (variations go with their parent)."""
        ids = sorted({p["id"] for p in self.all_products()})
        with self.client() as c:
            for start in range(0, len(ids), 100):
                c.batch("products/batch", {"delete": ids[start:start + 100]})


@pytest.fixture
def rig(request, tmp_path):
    if LIVE:
        store = StoreSettings(url=os.environ["WSYNC_TEST_STORE_URL"],
                              consumer_key=os.environ["WSYNC_TEST_CONSUMER_KEY"],
                              consumer_secret=os.environ["WSYNC_TEST_CONSUMER_SECRET"])
        r = SyncRig(None, tmp_path, store=store, prefix=f"wt{uuid.uuid4().hex[:8]}-")
    else:
        r = SyncRig(request.getfixturevalue("sandbox"), tmp_path)
    yield r
    if LIVE:
        r.cleanup()
    r.ledger.close()


def batches(n: int, size: int) -> int:
    return math.ceil(n / size)
