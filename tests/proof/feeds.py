"""The proof feed (on the sandbox 2,000 products, 500 variable x 4 variations, sharing 1,000
images; on a live store the bench catalogue's shape, see conftest.SHAPE), and what the store and
the ledger must hold once it has been imported."""

from __future__ import annotations

import collections
import random
from typing import Any

from tests.sync.conftest import catalogue_rows

SIMPLE = 1500
VARIABLE = 500
PER_PARENT = 4
DISTINCT_IMAGES = 1000


def image_plan(skus: list[str], base_url: str, distinct: int = DISTINCT_IMAGES, seed: int = 11,
               prefix: str = "") -> dict[str, list[str]]:
    """Each product gets 1 or 2 images, drawn so that every one of `distinct` URLs is used and
    most are shared between products (the case where a naive importer downloads twice)."""
    rng = random.Random(seed)
    urls = [f"{base_url}/img/{prefix}p{i:04d}.png" for i in range(distinct)]
    order = list(skus)
    rng.shuffle(order)
    plan: dict[str, list[str]] = {}
    for index, sku in enumerate(order):
        first = urls[index % distinct]  # the first `distinct` products cover every URL once
        images = [first]
        if rng.random() < 0.5:
            second = rng.choice(urls)
            if second != first:
                images.append(second)
        plan[sku] = images
    return plan


def proof_rows(image_base: str, *, simple: int = SIMPLE, variable: int = VARIABLE,
               per_parent: int = PER_PARENT, distinct: int = DISTINCT_IMAGES, prefix: str = "") -> list[dict[str, Any]]:
    skus = [f"{prefix}S{i:05d}" for i in range(simple)] + [f"{prefix}V{i:05d}" for i in range(variable)]
    return catalogue_rows(simple=simple, variable=variable, per_parent=per_parent,
                          images=image_plan(skus, image_base, distinct, prefix=prefix), prefix=prefix)


def shaped_rows(image_base: str, shape: Any, prefix: str = "") -> list[dict[str, Any]]:
    """The proof feed in a conftest.ProofShape."""
    return proof_rows(image_base, simple=shape.simple, variable=shape.variable, per_parent=shape.per_parent,
                      distinct=shape.distinct_images, prefix=prefix)


def expected_skus(rows: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(product SKUs, variation SKUs) the feed asks for."""
    products = {r["sku"] for r in rows if not r.get("parent")}
    variations = {r["sku"] for r in rows if r.get("parent")}
    return products, variations


def expected_urls(rows: list[dict[str, Any]]) -> set[str]:
    return {u for r in rows for u in (r.get("images") or "").split(",") if u}


def store_census(client: Any, prefix: str = "") -> tuple[collections.Counter, collections.Counter, dict[str, dict]]:
    """Every product (with SKUs starting with `prefix`) and its variations on the store, counted
    by SKU (read through the REST API)."""
    products = [p for p in client.iter_pages("products", fields=["id", "sku", "type", "images"])
                if str(p.get("sku") or "").startswith(prefix)]
    product_skus = collections.Counter(p["sku"] for p in products)
    variation_skus: collections.Counter = collections.Counter()
    for parent in products:
        if parent["type"] != "variable":
            continue
        for v in client.iter_pages(f"products/{parent['id']}/variations", fields=["id", "sku"]):
            variation_skus[v["sku"]] += 1
    return product_skus, variation_skus, {p["sku"]: p for p in products}


def ledger_census(ledger: Any, feed: str) -> dict[str, int]:
    rows = ledger.conn.execute(
        "SELECT kind, COUNT(*) AS n, COUNT(DISTINCT store_id) AS ids FROM items"
        " WHERE feed = ? AND store_id IS NOT NULL GROUP BY kind", (feed,)).fetchall()
    return {f"{r['kind']}s": r["n"] for r in rows} | {f"{r['kind']}_ids": r["ids"] for r in rows}
