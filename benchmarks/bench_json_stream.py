"""Peak memory of reading a JSON document feed: streamed (wsync's JsonFeed) vs parsed whole.

    python benchmarks/bench_json_stream.py [--products 200000] [--json]

Writes one JSON document, `{"meta": ..., "products": [...]}` with `--products` product objects
(name, prices, stock, a category path, two image URLs, three variants each), then reads it in a
fresh process twice: with JsonFeed (ijson, item by item, the item list found by a first pass over
the parser's events) and with `json.load` of the whole document (how JSON documents were read
before). Reports the file size, peak RSS of each (resource.getrusage, the process's maximum) and
records/s. Each reader only counts its records, so the figures are the reading alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

READER = r"""
import json, resource, sys, time
from pathlib import Path
path, how = Path(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
n = 0
if how == "stream":
    from wsync.feeds.json_format import JsonFeed
    for _where, _record in JsonFeed(path, path.name):
        n += 1
else:
    with open(path, encoding="utf-8") as fh:
        for _record in json.load(fh)["products"]:
            n += 1
elapsed = time.perf_counter() - start
print(json.dumps({"records": n, "seconds": round(elapsed, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def generate(path: Path, products: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('{"meta": {"supplier": "bench", "currency": "EUR"}, "products": [')
        for i in range(products):
            doc = {"sku": f"P{i:07d}", "name": f"Product {i} with a longer descriptive title",
                   "description": "A plain description of the product. " * 4, "price": f"{(i % 90) + 5}.99",
                   "cost": f"{(i % 90) + 2}.10", "stock": i % 40, "category": f"Home > Kitchen > Line {i % 50}",
                   "images": [f"https://img.example/p{i:07d}/1.jpg", f"https://img.example/p{i:07d}/2.jpg"],
                   "variants": [{"sku": f"P{i:07d}-{s}", "size": s, "stock": (i + n) % 9}
                                for n, s in enumerate(("S", "M", "L"))]}
            fh.write(("," if i else "") + json.dumps(doc))
        fh.write("]}")


def measure(path: Path, how: str) -> dict:
    out = subprocess.run([sys.executable, "-c", READER, str(path), how], capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    doc["records_per_s"] = round(doc["records"] / doc["seconds"]) if doc["seconds"] else None
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=200_000)
    parser.add_argument("--json", action="store_true")
    a = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wsync-bench-") as tmp:
        path = Path(tmp) / "feed.json"
        generate(path, a.products)
        report = {"products": a.products, "file_mb": round(path.stat().st_size / 2**20, 1),
                  "streamed": measure(path, "stream"), "whole": measure(path, "whole")}
    if a.json:
        print(json.dumps(report, indent=1))
        return
    print(f"{report['products']:,} products, {report['file_mb']} MB of JSON")
    for how in ("streamed", "whole"):
        r = report[how]
        print(f"  {how:9} peak RSS {r['peak_rss_mb']:7.1f} MB, {r['records_per_s']:,} records/s")


if __name__ == "__main__":
    main()
