"""`--concurrency auto` against fixed settings on the real store, each from a freshly reset store.

    python benchmarks/bench_realstore_concurrency.py --store-dir ../realstore [--catalogue noimg]
                                                     [--settings auto,1,2,4,8] [--json]

`--store-dir` is a store made by the realstore kit with its bench catalogues (`bench/gen.py`).
Its php-fpm pool size is the host being modelled: the kit's `setup.sh --fpm-workers 2` (or
`pm.max_children` in its conf/php-fpm.conf, then stop.sh and start.sh) stands for a shared host;
the report says which size it ran on (ports.env's FPM_WORKERS as the pool was started).

For each setting: reset the store, then `wsync import FILE --preset woocommerce-csv --concurrency S`
from an empty ledger, timed as a whole process. The report gives the wall time, the requests,
the 429/503/504 answers and timeouts the client met (`overloaded`, `failures`: the limiter counts
every HTTP attempt, retries included), failed items, auto's level at the end and at its
highest, and the machine's busy core-seconds over the import (store, database and wsync: they
share the machine; bench_vs_woocommerce.py's count), per item written: the store's work per item
at each number in flight, which says what more requests in flight cost it. Targets (issue:
throughput near the store's limit): with 2 workers, auto causes no 503, timeout or failed item
and is within 10 % of the best fixed setting.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_vs_woocommerce import reset, wsync_import  # one import run, timed and read the same way
from compare_wc_import import credentials


def pool_size(store_dir: Path) -> str:
    for line in (store_dir / "ports.env").read_text().splitlines():
        if line.startswith("FPM_WORKERS="):
            return line.split("=", 1)[1].strip()
    return "?"


def _written(doc: dict[str, Any]) -> int:
    return sum((doc[k].get(n) or 0) for k in ("products", "variations") for n in ("created", "updated"))


def run(store_dir: Path, catalogue: str, settings: list[str]) -> dict[str, Any]:
    env = credentials(store_dir)
    source = store_dir / "bench" / f"catalogue_{catalogue}.csv"
    if not source.exists():
        raise SystemExit(f"{source} is missing: run the kit's bench/gen.py --dir {store_dir} first")
    rows = []
    for setting in settings:
        reset(store_dir)
        with tempfile.TemporaryDirectory(prefix="wsync-conc-") as tmp:
            work = Path(tmp)
            feed = work / "feed.csv"
            shutil.copyfile(source, feed)
            doc = wsync_import(env, feed, work, ["--concurrency", setting])
        level = doc.get("concurrency") or {}
        failed = (doc["products"].get("failed") or 0) + (doc["variations"].get("failed") or 0)
        rows.append({"setting": setting, "wall_s": doc["wall_s"], "exit": doc["exit"], "requests": doc["requests"],
                     "overloaded": level.get("overloaded", 0), "failures": level.get("failures", 0),
                     "failed_items": failed, "ended_at": level.get("current"), "peak": level.get("peak"),
                     "busy_core_s": doc["cpu"]["busy_core_s"],
                     "core_ms_per_item": round(1000 * doc["cpu"]["busy_core_s"] / max(1, _written(doc)), 1)})
    fixed = [r for r in rows if r["setting"] != "auto"]
    best = min(fixed, key=lambda r: r["wall_s"]) if fixed else None
    auto = next((r for r in rows if r["setting"] == "auto"), None)
    out: dict[str, Any] = {"catalogue": catalogue, "fpm_workers": pool_size(store_dir), "runs": rows}
    if best and auto:
        out["best_fixed"] = best["setting"]
        out["auto_vs_best"] = round(auto["wall_s"] / best["wall_s"], 3)
        out["targets_met"] = (out["auto_vs_best"] <= 1.10 and auto["overloaded"] == 0 and auto["failures"] == 0
                              and auto["failed_items"] == 0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store-dir", type=Path, required=True)
    ap.add_argument("--catalogue", default="noimg")
    ap.add_argument("--settings", default="auto,1,2,4,8")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    report = run(a.store_dir.resolve(), a.catalogue, [s.strip() for s in a.settings.split(",") if s.strip()])
    if a.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"catalogue {report['catalogue']}, php-fpm workers {report['fpm_workers']}")
        print("| concurrency | wall | requests (read/write) | 429/503/504 | timeouts | failed items | auto level "
              "| busy core-s (ms per item) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in report["runs"]:
            level = f"{r['ended_at']} (peak {r['peak']})" if r["setting"] == "auto" else ""
            print(f"| {r['setting']} | {r['wall_s']} s | {r['requests']['read']}/{r['requests']['write']} "
                  f"| {r['overloaded']} | {r['failures']} | {r['failed_items']} | {level} "
                  f"| {r['busy_core_s']} ({r['core_ms_per_item']}) |")
        if "auto_vs_best" in report:
            print(f"auto / best fixed ({report['best_fixed']}): {report['auto_vs_best']}")
    return 0 if report.get("targets_met", True) else 1


if __name__ == "__main__":
    sys.exit(main())
