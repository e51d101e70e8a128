"""What a typical import script does, written with the `woocommerce` PyPI package as people write it.

For each product in the feed: look its SKU up (GET products?sku=X), then one POST (create) or PUT
(update); for a variable product, list its variations once (when the parent already existed) and
send one POST or PUT per variation. Every image goes out as `images: [{src}]` on every run, so the
store downloads it again each time. Categories are resolved once at the start (list, then create
the missing ones), as a careful script does: WooCommerce ignores categories given by name.

`only="stock"` is the same script cut down to a stock update: the same look-ups, then a PUT of the
stock fields per simple product and per variation (a variable parent holds no stock of its own).

    python benchmarks/naive_client.py --url URL --key CK --feed feed.csv [--only stock]
    (the consumer secret is read from $WSYNC_BENCH_SECRET)
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from woocommerce import API


@dataclass
class FeedProduct:
    row: dict[str, str]
    variations: list[dict[str, str]] = field(default_factory=list)


@dataclass
class NaiveReport:
    reads: int = 0
    writes: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"requests": {"read": self.reads, "write": self.writes}, "created": self.created,
                "updated": self.updated, "failed": self.failed, "errors": self.errors[:5]}


def read_feed(path: Path) -> list[FeedProduct]:
    products: dict[str, FeedProduct] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("parent"):
                products[row["parent"]].variations.append(row)
            else:
                products[row["sku"]] = FeedProduct(row)
    return list(products.values())


class NaiveClient:
    def __init__(self, url: str, key: str, secret: str, timeout: float = 60.0):
        self.api = API(url=url, consumer_key=key, consumer_secret=secret, version="wc/v3", timeout=timeout)
        self.report = NaiveReport()
        self.categories: dict[str, int] = {}

    # every call goes through these two, so the report counts what was sent
    def _get(self, endpoint: str, params: dict[str, Any] | None = None) -> Any:
        self.report.reads += 1
        response = self.api.get(endpoint, params=params or {})
        if response.status_code >= 400:
            raise RuntimeError(f"GET {endpoint}: {response.status_code} {response.text[:200]}")
        return response.json()

    def _write(self, method: str, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        self.report.writes += 1
        response = getattr(self.api, method)(endpoint, data)
        if response.status_code >= 400:
            raise RuntimeError(f"{method.upper()} {endpoint}: {response.status_code} {response.text[:200]}")
        return response.json()

    def resolve_categories(self, names: set[str]) -> None:
        for term in self._get("products/categories", {"per_page": 100}):
            self.categories[term["name"]] = term["id"]
        for name in sorted(names - set(self.categories)):
            self.categories[name] = self._write("post", "products/categories", {"name": name})["id"]

    def run(self, products: list[FeedProduct], only: str | None = None) -> NaiveReport:
        if only is None:
            self.resolve_categories({p.row["category"] for p in products if p.row.get("category")})
        for product in products:
            try:
                self.sync_product(product, only)
            except Exception as exc:  # a script logs and goes on with the next product
                self.report.failed += 1
                self.report.errors.append(str(exc))
        return self.report

    def sync_product(self, product: FeedProduct, only: str | None) -> None:
        row = product.row
        found = self._get("products", {"sku": row["sku"]})
        existing = found[0]["id"] if found else None
        if only == "stock":
            if existing is None:
                return
            parent_id = existing
            if not product.variations:
                self._write("put", f"products/{existing}", _stock(row))
                self.report.updated += 1
        else:
            data = self.product_data(product)
            if existing is None:
                parent_id = self._write("post", "products", data)["id"]
                self.report.created += 1
            else:
                parent_id = self._write("put", f"products/{existing}", data)["id"]
                self.report.updated += 1
        if not product.variations:
            return
        known: dict[str, int] = {}
        if existing is not None:
            known = {v["sku"]: v["id"] for v in self._get(f"products/{parent_id}/variations", {"per_page": 100})}
        for variation in product.variations:
            vid = known.get(variation["sku"])
            if only == "stock":
                if vid is not None:
                    self._write("put", f"products/{parent_id}/variations/{vid}", _stock(variation))
                    self.report.updated += 1
                continue
            data = {"sku": variation["sku"], "regular_price": variation["price"], **_stock(variation),
                    "attributes": [{"name": "Size", "option": variation["size"]}]}
            if vid is None:
                self._write("post", f"products/{parent_id}/variations", data)
                self.report.created += 1
            else:
                self._write("put", f"products/{parent_id}/variations/{vid}", data)
                self.report.updated += 1

    def product_data(self, product: FeedProduct) -> dict[str, Any]:
        row = product.row
        data: dict[str, Any] = {"name": row["name"], "sku": row["sku"], "status": "publish"}
        if row.get("category"):
            data["categories"] = [{"id": self.categories[row["category"]]}]
        if row.get("images"):
            data["images"] = [{"src": src} for src in row["images"].split(",") if src]
        if product.variations:
            data["type"] = "variable"
            data["attributes"] = [{"name": "Size", "visible": True, "variation": True,
                                   "options": [v["size"] for v in product.variations]}]
        else:
            data["type"] = "simple"
            data["regular_price"] = row["price"]
            data.update(_stock(row))
        return data


def _stock(row: dict[str, str]) -> dict[str, Any]:
    return {"manage_stock": True, "stock_quantity": int(row["stock"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--feed", required=True, type=Path)
    parser.add_argument("--only", choices=["stock"])
    args = parser.parse_args(argv)
    secret = os.environ.get("WSYNC_BENCH_SECRET")
    if not secret:
        print("naive_client: set WSYNC_BENCH_SECRET to the consumer secret", file=sys.stderr)
        return 2
    report = NaiveClient(args.url, args.key, secret).run(read_feed(args.feed), args.only)
    print(json.dumps(report.to_dict()))
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
