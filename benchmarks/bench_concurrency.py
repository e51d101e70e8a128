"""Fixed concurrency against `--concurrency auto`, on stores of few and many PHP workers.

    python benchmarks/bench_concurrency.py [--products 300] [--variable 60] [--rtts 0.02,0.15]
                                           [--workers 8,2] [--queue 4] [--settings 1,2,4,8,16,auto] [--json]

For each request latency (`--rtts`: the sandbox's per-request cost, time a request holds its
PHP worker, like the bootstrap of a real store) and each store size (`--workers`: php-fpm
workers; beyond them `--queue` requests wait, one more is answered 503), a fresh sandbox store
takes a generated catalogue of `--products` products (`--variable` of them variable, with three
variations each) with each concurrency setting. Prints, per run, the seconds the import took,
the items written per second, how often the store answered 503 or 429 (the store's own count of
refused requests) and, for auto, where the limit ended and how high it went. Every run should
save every item: failed items are reported in the table, and a job that gave up as STOPPED.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from wsync.config import ImportDefaults, Settings
from wsync.ledger import Ledger
from wsync.ledger.jobs import JobStore
from wsync.sandbox import LatencyModel, SandboxServer, WorkerModel
from wsync.store import StoreClient, StoreSettings
from wsync.sync.engine import run_import
from wsync.sync.options import ImportOptions, parse_concurrency

COLUMNS = ["sku", "parent", "name", "price", "stock", "size", "category"]
SIZES = ("S", "M", "L")


def write_feed(path: Path, products: int, variable: int) -> int:
    """`products` products, the last `variable` of them with one variation per size; returns items."""
    items = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, restval="")
        w.writeheader()
        for i in range(products - variable):
            w.writerow({"sku": f"S{i:05d}", "name": f"Simple {i}", "price": f"{10 + i % 40}.00", "stock": i % 9,
                        "category": f"Shop > Line {i % 7}"})
            items += 1
        for i in range(variable):
            parent = f"V{i:05d}"
            w.writerow({"sku": parent, "name": f"Variable {i}", "category": "Shop > Variable"})
            items += 1
            for size in SIZES:
                w.writerow({"sku": f"{parent}-{size}", "parent": parent, "name": f"Variable {i} {size}",
                            "price": "19.00", "stock": 3, "size": size})
                items += 1
    return items


def one_run(feed: Path, tmp: Path, rtt: float, workers: int, queue: int, setting: int | str) -> dict[str, Any]:
    latency = LatencyModel(per_request_s=rtt, per_item_write_s=0.002, per_variation_write_s=0.004)
    store = SandboxServer(latency=latency, workers=WorkerModel(workers=workers, queue=queue)).start()
    try:
        settings_store = StoreSettings(url=store.url, consumer_key=store.consumer_key,
                                       consumer_secret=store.consumer_secret, read_timeout=60.0,
                                       max_retry_wait_s=60.0, backoff_base_s=0.2)
        ledger = Ledger(tmp / "wsync.db")
        jobs = JobStore(ledger)
        settings = Settings(path=None, base_dir=tmp, store=settings_store, ledger_path=tmp / "wsync.db", feeds={},
                            import_defaults=ImportDefaults())
        opts = ImportOptions(concurrency=setting, concurrency_max=16 if setting == "auto" else 8,
                             process_images=False).validate()
        data = {"source": str(feed), "format": "csv", "feed_name": "bench", "options": opts.to_dict()}
        job_id = jobs.create(kind="import", feed="bench", job_data=data)
        client = StoreClient(settings_store, pool_size=opts.pool_size())
        started = time.monotonic()
        error = None
        try:
            result = run_import(job_id, ledger=ledger, settings=settings, jobs=jobs, client=client)
        except Exception as exc:  # the job gave up (a store that kept refusing): reported as such
            error = f"{type(exc).__name__}: {exc}"[:200]
            result = {"total_processed": 0, "failed": 0, "variations": {"processed": 0, "failed": 0},
                      "concurrency": None}
        finally:
            client.close()
            ledger.close()
        seconds = time.monotonic() - started
        stats = store.stats()
        items = result["total_processed"] + result["variations"]["processed"]
        limit = result.get("concurrency") or {}
        return {"rtt_ms": round(rtt * 1000), "workers": workers, "concurrency": str(setting),
                "seconds": round(seconds, 2), "items_per_s": round(items / seconds, 1) if seconds else None,
                "requests": stats["requests"]["total"],
                "refused_503": stats["workers"]["refused"] + stats["faults"].get("errors", 0),
                "overload_answers_seen": limit.get("overloaded", 0),
                "failed": result["failed"] + result["variations"]["failed"],
                "ended_at": limit.get("current"), "peak": limit.get("peak"), "backoffs": limit.get("backoffs", 0),
                "job_error": error}
    finally:
        store.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--products", type=int, default=300)
    ap.add_argument("--variable", type=int, default=60)
    ap.add_argument("--rtts", default="0.02,0.15", help="per-request seconds, comma-separated")
    ap.add_argument("--workers", default="8,2", help="PHP workers of the store, comma-separated")
    ap.add_argument("--queue", type=int, default=4, help="requests that may wait for a worker")
    ap.add_argument("--settings", default="1,2,4,8,16,auto", help="--concurrency values to compare")
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
    args = ap.parse_args(argv)
    logging.getLogger("wsync").setLevel(logging.CRITICAL)  # retries and fallbacks are counted, not logged
    rtts = [float(v) for v in args.rtts.split(",") if v.strip()]
    worker_counts = [int(v) for v in args.workers.split(",") if v.strip()]
    settings = [parse_concurrency(v.strip()) for v in args.settings.split(",") if v.strip()]
    rows = []
    with tempfile.TemporaryDirectory(prefix="wsync-bench-concurrency-") as tmp_dir:
        tmp = Path(tmp_dir)
        feed = tmp / "feed.csv"
        items = write_feed(feed, args.products, args.variable)
        for rtt in rtts:
            for workers in worker_counts:
                for setting in settings:
                    run_dir = tmp / f"run-{len(rows)}"
                    run_dir.mkdir()
                    row = one_run(feed, run_dir, rtt, workers, args.queue, setting)
                    rows.append(row)
                    stopped = " (the job stopped)" if row["job_error"] else ""
                    sys.stderr.write(f"  {row['rtt_ms']} ms, {workers} workers, --concurrency {setting}: "
                                     f"{row['seconds']} s{stopped}\n")
    if args.json:
        json.dump({"products": args.products, "variable": args.variable, "items": items, "queue": args.queue,
                   "runs": rows}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"{args.products} products ({args.variable} variable, {items} items), queue {args.queue}")
    head = f"{'rtt':>6} {'workers':>7} {'conc':>5} {'s':>7} {'items/s':>8} {'503/429':>8} {'failed':>7} {'auto':>10}"
    print(head)
    print("-" * len(head))
    for r in rows:
        auto = f"{r['ended_at']} (≤{r['peak']})" if r["concurrency"] == "auto" else ""
        failed = "STOPPED" if r["job_error"] else r["failed"]
        print(f"{r['rtt_ms']:>4}ms {r['workers']:>7} {r['concurrency']:>5} {r['seconds']:>7.2f} "
              f"{r['items_per_s']:>8} {r['refused_503']:>8} {failed:>7} {auto:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
