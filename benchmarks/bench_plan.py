"""Client-side planning of a large catalogue, no network: a ledger filled as if an earlier run had
pushed every item, then the planner (payloads, content hashes, diffs against the ledger).

    python benchmarks/bench_plan.py [--products 100000] [--variable-share 0.25] [--json]

Stages timed: loading the ledger's item records, `plan_products` (product payloads + hashes),
`plan_variations` for every variable product (as the engine calls it, parent by parent), for an
unchanged feed and for one where 10 % of the products changed price. Categories resolve through
the real `Taxonomy` from a warm term cache, as on any run after the first. Target: planning
100,000 products in under 10 s. Peak RSS is the process's high-water mark (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from wsync.catalogue import Attribute, Image, Product, Variation
from wsync.ledger import Ledger
from wsync.ledger.items import ItemMap, ItemRecord, TermCache
from wsync.sync.options import ImportOptions
from wsync.sync.payload import content_hash, product_payload, variation_payload
from wsync.sync.plan import complete_variation_attributes, plan_products, plan_variations, variations_by_parent
from wsync.sync.taxonomy import Taxonomy, path_key

FEED = "bench-plan"
SIZES = ["S", "M", "L", "XL"]
CATEGORIES = [["Shop", f"Dept {d}", f"Range {r}"] for d in range(10) for r in range(10)]
TARGET_S = 10.0


def catalogue(n: int, variable_share: float, price_bump: bool = False) -> list[Product]:
    """n products; every 1/variable_share-th is variable with four sizes. price_bump raises the
    price of every 10th product (a variable one: on its variations) by 10 %."""
    every = max(1, round(1 / variable_share)) if variable_share > 0 else 0
    out = []
    for i in range(n):
        bump = price_bump and i % 10 == 0
        price = f"{(5 + i % 40) * (1.1 if bump else 1.0):.2f}"
        common = dict(key=f"P{i:07d}", sku=f"P{i:07d}", name=f"Product {i}", status="publish",
                      description=f"Description of product {i}, long enough to look like a feed's text. " * 3,
                      categories=[CATEGORIES[i % len(CATEGORIES)]],
                      images=[Image(src=f"https://cdn.example/img/{i % 50_000}.jpg")])
        if every and i % every == 0:
            variations = [Variation(key=f"P{i:07d}-{s}", sku=f"P{i:07d}-{s}", attributes={"Size": s},
                                    regular_price=price, stock_quantity=(i + j) % 9, manage_stock=True)
                          for j, s in enumerate(SIZES)]
            out.append(Product(type="variable", attributes=[Attribute("Size", list(SIZES), variation=True)],
                               variations=variations, **common))
        else:
            out.append(Product(type="simple", regular_price=price, stock_quantity=i % 13, manage_stock=True, **common))
    return out


def fill_ledger(ledger: Ledger, products: list[Product], taxonomy: Taxonomy) -> int:
    """Records as a finished earlier run leaves them: store ids, the pushed state and its hash."""
    records = []
    store_id = 1
    for product in products:
        complete_variation_attributes(product)
        desired = product_payload(product, FEED, taxonomy)
        parent_id = store_id
        records.append(ItemRecord("product", product.key, product.sku, parent_id, pushed=desired,
                                  hash=content_hash(desired), last_job_id=1, last_action="created"))
        store_id += 1
        for v in product.variations:
            vdesired = variation_payload(v, product, taxonomy)
            records.append(ItemRecord("variation", v.key, v.sku, store_id, parent_key=product.key, parent_id=parent_id,
                                      pushed=vdesired, hash=content_hash(vdesired), last_job_id=1,
                                      last_action="created"))
            store_id += 1
    ItemMap(ledger, FEED).save(records)
    return len(records)


def warm_terms(ledger: Ledger) -> None:
    cache = TermCache(ledger)
    next_id = 1000
    for path in CATEGORIES:
        for depth in range(1, len(path) + 1):
            cache.save("category", path_key(path[:depth]), next_id + depth)
        next_id += 10


def plan_once(ledger: Ledger, products: list[Product], budget_s: float) -> dict[str, Any]:
    opts = ImportOptions()
    timings: dict[str, Any] = {}
    t0 = time.perf_counter()
    records = ItemMap(ledger, FEED).load()
    timings["load_ledger_s"] = round(time.perf_counter() - t0, 3)
    taxonomy = Taxonomy(None, TermCache(ledger))  # every path is cached: no request is made
    t1 = time.perf_counter()
    plans = plan_products(products, records, {}, FEED, taxonomy, opts, job_id=2)
    timings["plan_products_s"] = round(time.perf_counter() - t1, 3)
    t2 = time.perf_counter()
    variation_plans = 0
    parents = [p for p in products if p.type == "variable"]
    done = 0
    actions: dict[str, int] = {}
    by_parent = variations_by_parent(records)  # once per job, as the engine does
    for product in parents:
        rec = records[("product", product.key)]
        for plan in plan_variations(product, rec.store_id, records, None, taxonomy, opts, 2, by_parent=by_parent):
            actions[plan.action] = actions.get(plan.action, 0) + 1
            variation_plans += 1
        done += 1
        if time.perf_counter() - t2 > budget_s:
            break
    elapsed = time.perf_counter() - t2
    timings["plan_variations_s"] = round(elapsed, 3)
    if done < len(parents):
        timings["plan_variations_partial"] = (f"{done} of {len(parents)} parents in {elapsed:.1f} s "
                                              "(stopped at the budget)")
        timings["plan_variations_projected_s"] = round(elapsed * len(parents) / max(done, 1), 1)
    timings["total_s"] = round(time.perf_counter() - t0, 3)
    for plan in plans:
        actions[plan.action] = actions.get(plan.action, 0) + 1
    timings["actions"] = actions
    timings["complete"] = done == len(parents)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000, help="catalogue size (default 100,000)")
    parser.add_argument("--variable-share", type=float, default=0.25,
                        help="share of variable products, four variations each (default 0.25)")
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds allowed for the variations stage before it stops and projects (default 60)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if args.products < 1 or not 0 <= args.variable_share <= 1:
        parser.error("--products must be at least 1 and --variable-share within 0..1")
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "wsync.db")
        try:
            warm_terms(ledger)
            t = time.perf_counter()
            base = catalogue(args.products, args.variable_share)
            filled = fill_ledger(ledger, base, Taxonomy(None, TermCache(ledger)))
            setup_s = time.perf_counter() - t
            runs = {"unchanged feed": plan_once(ledger, catalogue(args.products, args.variable_share), args.budget),
                    "10 % price change": plan_once(ledger, catalogue(args.products, args.variable_share, True),
                                                   args.budget)}
        finally:
            ledger.close()
    doc = {"products": args.products, "variations": sum(len(p.variations) for p in base), "ledger_records": filled,
           "setup_s": round(setup_s, 1), "runs": runs, "target_s": TARGET_S,
           "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
           "cpus": os.cpu_count(), "python": sys.version.split()[0]}
    doc["pass"] = all(r["complete"] and r["total_s"] < TARGET_S for r in runs.values())
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(f"{doc['products']:,} products + {doc['variations']:,} variations, ledger of {filled:,} records "
              f"(setup {doc['setup_s']} s); {doc['cpus']} CPUs, Python {doc['python']}; "
              f"peak RSS {doc['peak_rss_mb']:.0f} MB\n")
        print("| feed | load ledger | plan products | plan variations | total | target < 10 s |")
        print("|---|---:|---:|---:|---:|---|")
        for name, r in runs.items():
            var = f"{r['plan_variations_s']:.2f} s"
            if not r["complete"]:
                var += f" (partial; projected {r['plan_variations_projected_s']:.0f} s)"
            ok = "pass" if r["complete"] and r["total_s"] < TARGET_S else "FAIL"
            print(f"| {name} | {r['load_ledger_s']:.2f} s | {r['plan_products_s']:.2f} s | {var} "
                  f"| {r['total_s']:.2f} s | {ok} |")
    return 0 if doc["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
