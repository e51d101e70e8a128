"""The benchmark catalogue: variable products with size variations, simple products, and a pool of
distinct images shared between them, written as a wholesaler CSV feed both clients read.

At scale 1.0: 500 variable products x 4 variations, 1,500 simple products, 1,000 distinct images
(product i shows image i mod 1,000, so every image is used by two products). Each scenario's feed
is derived from the first one deterministically, so every client sees the same changes.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

COLUMNS = ["sku", "parent", "name", "price", "stock", "size", "category", "images"]
SIZES = ["S", "M", "L", "XL"]
CATEGORIES = [f"Bench {n}" for n in range(10)]

FULL_VARIABLE, FULL_SIMPLE, FULL_IMAGES = 500, 1_500, 1_000
# (variable, simple, images) at scale 1.0: "mixed" is the catalogue above; "variable" is 2,000
# variable products x 4 variations (8,000 variations), the variation-heavy case.
SHAPES = {"mixed": (FULL_VARIABLE, FULL_SIMPLE, FULL_IMAGES), "variable": (2_000, 0, 1_000)}
PRICE_CHANGE_EVERY = 10  # the 10 % price change: every 10th product (a variable one: all its variations)
STOCK_CHANGE_EVERY = 4  # the stock update: every 4th item (products and variations) gets a new quantity


def sizes_for(scale: float, shape: str = "mixed") -> tuple[int, int, int]:
    """(variable, simple, images) for a fraction of the full catalogue."""
    if not 0 < scale <= 1.0:
        raise ValueError(f"--scale must be in (0, 1], got {scale}")
    variable, simple, images = SHAPES[shape]
    return (max(1, round(variable * scale)), round(simple * scale) if simple else 0, max(1, round(images * scale)))


def base_rows(scale: float, image_base: str, shape: str = "mixed") -> list[dict[str, Any]]:
    variable, simple, images = sizes_for(scale, shape)
    rows: list[dict[str, Any]] = []
    index = 0  # product index over both kinds, for image and category assignment
    for i in range(variable):
        parent = f"BV{i:05d}"
        rows.append({"sku": parent, "name": f"Bench variable {i}", "category": CATEGORIES[index % len(CATEGORIES)],
                     "images": f"{image_base}/img/p{index % images:05d}.png", "_index": index})
        for j, size in enumerate(SIZES):
            rows.append({"sku": f"{parent}-{size}", "parent": parent, "name": f"Bench variable {i} {size}",
                         "price": f"{20 + (i % 30)}.{j}0", "stock": 10 + (i + j) % 7, "size": size, "_index": index})
        index += 1
    for i in range(simple):
        rows.append({"sku": f"BS{i:05d}", "name": f"Bench simple {i}", "price": f"{5 + (i % 40)}.99",
                     "stock": 3 + i % 11, "category": CATEGORIES[index % len(CATEGORIES)],
                     "images": f"{image_base}/img/p{index % images:05d}.png", "_index": index})
        index += 1
    return rows


def price_changed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every 10th product gets a price 10 % higher (for a variable product: on each variation)."""
    out = []
    for row in rows:
        row = dict(row)
        if row.get("price") and row["_index"] % PRICE_CHANGE_EVERY == 0:
            row["price"] = f"{float(row['price']) * 1.1:.2f}"
        out.append(row)
    return out


def stock_changed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every 4th stock-carrying row (simple products and variations) gets a new quantity."""
    out = []
    position = 0
    for row in rows:
        row = dict(row)
        if row.get("stock") not in (None, ""):
            if position % STOCK_CHANGE_EVERY == 0:
                row["stock"] = int(row["stock"]) + 5
            position += 1
        out.append(row)
    return out


def write_feed(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in COLUMNS})
    return path


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    products = sum(1 for r in rows if not r.get("parent"))
    variations = len(rows) - products
    images = len({r["images"] for r in rows if r.get("images")})
    return {"products": products, "variations": variations, "distinct_images": images}
