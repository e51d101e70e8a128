"""Check a sandbox LatencyModel against the recorded real store: predict each run of the "What a
real store costs" table in ../shared/recordings/README.md (WooCommerce 8.2.2, 2 cores; 1,000
products = 700 simple + 300 variable x 5 variations; 1,000 image sideloads) and compare.

    python benchmarks/bench_latency_check.py [--json]

The prediction counts sleeps only. The recorded times also hold the client's own time on the same
two cores, and the sandbox adds its own handling time on top of its sleeps, so a model a little
under the recordings is expected.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from wsync.sandbox import LatencyModel

SIMPLE, VARIABLE, PER_PARENT, IMAGES = 700, 300, 5, 1_000
PRODUCTS, VARIATIONS = SIMPLE + VARIABLE, VARIABLE * PER_PARENT
# one request per item: a SKU look-up (GET) and a write per product and variation; 24 other reads
# (5,024 requests recorded); batches: 10 product batches of 100, one variations batch per parent,
# 11 reads (321 requests recorded)
RECORDED = [
    ("one request per item, create", 619.0, "per_item", "create", False),
    ("one request per item, second run", 590.0, "per_item", "update", False),
    ("one request per item, create with images", 792.0, "per_item", "create", True),
    ("batches (100 / per parent), create", 127.0, "batch", "create", False),
    ("batches (100 / per parent), second run", 130.5, "batch", "update", False),
    ("batches (100 / per parent), create with images", 329.0, "batch", "create", True),
]


def predict(model: LatencyModel, style: str, action: str, images: bool) -> float:
    write = {"creates": 1} if action == "create" else {"updates": 1}
    if style == "per_item":
        reads = (PRODUCTS + VARIATIONS + 24) * model.cost()
        products = PRODUCTS * model.cost(**write)
        variations = VARIATIONS * model.cost(variations=1)
    else:
        reads = 11 * model.cost()
        products = (PRODUCTS // 100) * model.cost(**{k: 100 for k in write})
        variations = VARIABLE * model.cost(variations=PER_PARENT)
    return reads + products + variations + (IMAGES * model.per_image_s if images else 0.0)


def check(model: LatencyModel) -> list[dict[str, Any]]:
    rows = []
    for label, recorded, style, action, images in RECORDED:
        predicted = predict(model, style, action, images)
        rows.append({"run": label, "recorded_s": recorded, "model_s": round(predicted, 1),
                     "difference_pct": round(100.0 * (predicted - recorded) / recorded, 1)})
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    out = ["| recorded run | recorded | model (sleeps only) | difference |", "|---|---:|---:|---:|"]
    out += [f"| {r['run']} | {r['recorded_s']:.0f} s | {r['model_s']:.0f} s | {r['difference_pct']:+.0f} % |"
            for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    model = LatencyModel.realistic()
    rows = check(model)
    if args.json:
        print(json.dumps({"model": model.to_dict(), "runs": rows}, indent=2))
    else:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
