"""Feed mapping throughput: a 100,000-row CSV (20,000 parents x 5 variations) through load_catalogue.

    python benchmarks/bench_feed_mapping.py [--parents 20000] [--json]

Reports records/s and peak RSS (resource.getrusage). Targets: >= 20,000 records/s, < 300 MB.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from wsync.feeds import FeedSpec, load_catalogue

COLORS = ("Red", "Blue", "Green", "Black", "White")


def generate(path: Path, parents: int) -> int:
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["item", "model", "title", "cost", "stock", "colour", "category", "image", "ean"])
        for p in range(parents):
            for c, color in enumerate(COLORS):
                w.writerow([f"M{p:06d}-{c}", f"M{p:06d}", f"Model {p} shirt", f"{(p % 90) + 5},{c}0", str((p + c) % 40),
                            color, f"Clothing > Shirts > Line {p % 50}",
                            f"https://img.example/m{p:06d}/{color.lower()}.jpg", f"40{p:08d}{c}"])
                rows += 1
    return rows


def run(parents: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="wsync-bench-") as tmp:
        feed = Path(tmp) / "supplier.csv"
        rows = generate(feed, parents)
        spec = FeedSpec.from_config("bench", {
            "source": str(feed), "locale": "de",
            "mapping": {"sku": "item", "group": "model", "name": "title", "cost": "cost", "stock_quantity": "stock",
                        "categories": "category", "images": "image", "attributes": {"Color": "colour"},
                        "variation_attributes": ["Color"], "meta": {"_ean": "ean"}},
            "pricing": {"multiply": "1.8", "ending": "0.99", "min_margin": "0.3"},
        }, Path(tmp))
        start = time.perf_counter()
        result = load_catalogue(spec, workdir=Path(tmp))
        elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak_kb / 1024 if sys.platform != "darwin" else peak_kb / (1024 * 1024)
    return {"rows": rows, "seconds": round(elapsed, 3), "records_per_second": round(rows / elapsed),
            "peak_rss_mb": round(peak_mb, 1), "counts": result.counts,
            "targets": {"records_per_second": 20000, "peak_rss_mb": 300},
            "ok": rows / elapsed >= 20000 and peak_mb < 300}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parents", type=int, default=20000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(args.parents)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{report['rows']:,} rows in {report['seconds']} s: {report['records_per_second']:,} records/s, "
              f"peak RSS {report['peak_rss_mb']} MB (targets >= 20,000 records/s, < 300 MB) "
              f"{'OK' if report['ok'] else 'BELOW TARGET'}")
        print(f"counts: {report['counts']}")
    sys.exit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
