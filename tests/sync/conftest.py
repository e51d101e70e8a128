"""Fixtures for end-to-end sync tests: a sandbox store, a ledger, and feeds written as CSV files."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
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


@dataclass
class SyncRig:
    """A sandbox store, a ledger and a way to run import jobs against them."""

    sandbox: Any
    tmp: Path

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.tmp / "wsync.db")
        self.jobs = JobStore(self.ledger)
        self.store = StoreSettings(url=self.sandbox.url, consumer_key=self.sandbox.consumer_key,
                                   consumer_secret=self.sandbox.consumer_secret, read_timeout=20.0,
                                   max_retry_wait_s=20.0, backoff_base_s=0.05)
        self.settings = Settings(path=None, base_dir=self.tmp, store=self.store, ledger_path=self.tmp / "wsync.db",
                                 feeds={}, import_defaults=ImportDefaults())

    def feed(self, rows: list[dict[str, Any]], name: str = "feed.csv") -> Path:
        return write_feed(self.tmp / name, rows)

    def run(self, feed: Path, **options: Any) -> tuple[dict[str, Any], StoreClient]:
        opts = ImportOptions(**options).validate()
        data = {"source": str(feed), "format": "csv", "feed_name": "test-feed", "options": opts.to_dict()}
        job_id = self.jobs.create(kind="import", feed="test-feed", job_data=data)
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
            return list(c.iter_pages("products", fields=["id", "sku", "type", "status", "images", "regular_price"]))

    def all_variations(self, parent_id: int) -> list[dict[str, Any]]:
        with self.client() as c:
            return list(c.iter_pages(f"products/{parent_id}/variations", fields=["id", "sku", "attributes", "image",
                                                                                   "regular_price"]))


@pytest.fixture
def rig(sandbox, tmp_path):
    r = SyncRig(sandbox, tmp_path)
    yield r
    r.ledger.close()


def batches(n: int, size: int) -> int:
    return math.ceil(n / size)
