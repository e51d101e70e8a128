"""wsync against WooCommerce's own CSV importer, on the same real store, in one run.

    python benchmarks/bench_vs_woocommerce.py --store-dir ../realstore [--catalogues noimg,img]
                                              [--wsync-args "--concurrency 8"] [--json]

`--store-dir` is a store made by the realstore kit, with the bench catalogues its `bench/gen.py`
writes (`catalogue_noimg.csv`: 1,000 products, 700 simple + 300 variable x 5 variations;
`catalogue_img.csv`: the same with one image per product, 700 distinct files served by the kit's
image server). For each catalogue, on a store reset before each first import:

1. WooCommerce's importer (the kit's `bench/run_csv.py`: php-cli, in-process, no HTTP), then the
   same file again into the filled store (WooCommerce rewrites every product);
2. `wsync import FILE --preset woocommerce-csv` with its defaults (plus `--wsync-args`) from an
   empty ledger; then the unchanged file again; then the file with every tenth product's and
   variation's regular price raised by 10 %.

Each step is a whole process, timed by its wall clock; wsync's requests are the counts its
`--json` result reports. Each step's CPU is counted too: the machine's busy core-seconds from
/proc/stat (store, database and client together: they share the machine) and the step's own
process tree's (its children's rusage: the importer's php-cli, or wsync). A first import cannot
take less than its busy core-seconds over the machine's cores, so `ceiling_first`, WooCommerce's
first wall time over that bound, is the best speed-up wsync could reach on this machine doing the
same work per item with every core busy; `work_ratio` is wsync's busy core-seconds over the
importer's. This machine is shared and noisy: compare the ratios of one run, not
seconds across runs. Targets (issue: throughput near the store's limit): first import, with and
without images, >= 2.0x faster than WooCommerce's importer; unchanged re-run <= 1 s with 0
requests; a 10 % price change <= 10 % of the first import's time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_wc_import import credentials  # the realstore kit's credentials.env, read the same way


def machine_cpu() -> tuple[float, float]:
    """(total, idle) core-seconds since boot, from /proc/stat's first line (idle counts iowait)."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    return sum(values) / tick, (values[3] + values[4]) / tick


class CpuCount:
    """Busy core-seconds of the machine and of this process's finished children over a `with`."""

    def __enter__(self) -> CpuCount:
        self._machine = machine_cpu()
        self._children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return self

    def __exit__(self, *exc: object) -> None:
        total, idle = machine_cpu()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.busy_s = round((total - self._machine[0]) - (idle - self._machine[1]), 1)
        self.own_s = round((children.ru_utime - self._children.ru_utime)
                           + (children.ru_stime - self._children.ru_stime), 1)

    def report(self) -> dict[str, float]:
        return {"busy_core_s": self.busy_s, "own_core_s": self.own_s}


def reset(store_dir: Path) -> None:
    subprocess.run([str(store_dir / "reset-store.sh")], check=True, capture_output=True)


def woocommerce(kit: Path, store_dir: Path, csv_path: Path, label: str) -> dict[str, Any]:
    """One run of WooCommerce's importer; its own JSON line (wall_s, imported, failed...)."""
    with CpuCount() as cpu:
        proc = subprocess.run([sys.executable, str(kit / "bench" / "run_csv.py"), "--dir", str(store_dir),
                               str(csv_path), "--label", label], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"run_csv.py failed: {proc.stderr[-2000:]}")
    doc: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    fields = ("wall_s", "import_s", "imported", "updated", "failed", "skipped")
    out: dict[str, Any] = {k: doc.get(k) for k in fields if k in doc}
    return {**out, "cpu": cpu.report()}


def wsync_import(env: dict[str, str], csv_path: Path, workdir: Path, extra: list[str]) -> dict[str, Any]:
    run_env = {**os.environ, "WSYNC_STORE_URL": env["HTTPS_URL"], "WSYNC_CONSUMER_KEY": env["CK"],
               "WSYNC_CONSUMER_SECRET": env["CS"], "REQUESTS_CA_BUNDLE": env["CA_BUNDLE"]}
    started = time.monotonic()
    with CpuCount() as cpu:
        proc = subprocess.run([sys.executable, "-m", "wsync", "import", str(csv_path), "--preset", "woocommerce-csv",
                               "--json", *extra], cwd=workdir, env=run_env, capture_output=True, text=True)
    wall = time.monotonic() - started
    if proc.returncode not in (0, 1) or not proc.stdout.strip().startswith("{"):
        raise SystemExit(f"wsync import failed ({proc.returncode}): {proc.stderr[-2000:]}")
    doc = json.loads(proc.stdout)
    result = doc.get("result") or doc
    requests = result.get("requests") or {}
    out = {"wall_s": round(wall, 1), "exit": proc.returncode,
           "requests": {"read": requests.get("read", 0), "write": requests.get("write", 0)},
           "products": {k: result.get(k) for k in ("created", "updated", "unchanged", "failed")},
           "variations": {k: (result.get("variations") or {}).get(k) for k in ("created", "updated", "failed")},
           "cpu": cpu.report()}
    for key in ("concurrency", "rate_per_s", "images", "images_scheduled", "images_missing"):
        if key in result:
            out[key] = result[key]
    return out


def raise_prices(source: Path, target: Path, every: int = 10, factor: str = "1.1") -> int:
    """The file with every `every`-th row's regular price times `factor`; how many rows changed."""
    with open(source, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    column = next(i for i, name in enumerate(header) if name.strip().lower() == "regular price")
    changed = 0
    for n, row in enumerate(body):
        if n % every or column >= len(row) or not row[column].strip():
            continue
        try:
            row[column] = str((Decimal(row[column]) * Decimal(factor)).quantize(Decimal("0.01")))
        except InvalidOperation:
            continue
        changed += 1
    with open(target, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *body])
    return changed


def bench(catalogue: str, store_dir: Path, kit: Path, env: dict[str, str], extra: list[str]) -> dict[str, Any]:
    csv_path = store_dir / "bench" / f"catalogue_{catalogue}.csv"
    if not csv_path.exists():
        raise SystemExit(f"{csv_path} is missing: run the kit's bench/gen.py --dir {store_dir} first")
    report: dict[str, Any] = {"catalogue": catalogue}
    reset(store_dir)
    report["woocommerce_first"] = woocommerce(kit, store_dir, csv_path, f"wc-{catalogue}-first")
    report["woocommerce_again"] = woocommerce(kit, store_dir, csv_path, f"wc-{catalogue}-again")
    reset(store_dir)
    with tempfile.TemporaryDirectory(prefix="wsync-vs-wc-") as tmp:
        work = Path(tmp)
        # One path for all three runs, as a cron job fetches its feed to the same file: the ledger
        # keeps an ad-hoc source's items under its path, so a file elsewhere would be a new feed,
        # whose products wsync reads from the store and sends whole once.
        feed = work / "feed.csv"
        shutil.copyfile(csv_path, feed)
        report["wsync_first"] = wsync_import(env, feed, work, extra)
        report["wsync_unchanged"] = wsync_import(env, feed, work, extra)
        report["price_rows_changed"] = raise_prices(csv_path, feed)
        report["wsync_price_change"] = wsync_import(env, feed, work, extra)
    first = report["wsync_first"]["wall_s"]
    report["speedup_first"] = round(report["woocommerce_first"]["wall_s"] / first, 2) if first else None
    report["price_change_share"] = round(report["wsync_price_change"]["wall_s"] / first, 3) if first else None
    theirs, ours = report["woocommerce_first"], report["wsync_first"]
    cores = os.cpu_count() or 1
    if ours["cpu"]["busy_core_s"] > 0 and theirs["cpu"]["busy_core_s"] > 0:
        report["work_ratio"] = round(ours["cpu"]["busy_core_s"] / theirs["cpu"]["busy_core_s"], 3)
        report["ceiling_first"] = round(theirs["wall_s"] * cores / ours["cpu"]["busy_core_s"], 2)
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store-dir", type=Path, required=True)
    ap.add_argument("--kit", type=Path, help="the realstore kit (default: ../shared/realstore beside the project)")
    ap.add_argument("--catalogues", default="noimg,img")
    ap.add_argument("--wsync-args", default="", help="extra options for every wsync import, e.g. '--concurrency 8'")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    store_dir = a.store_dir.resolve()
    kit = (a.kit or Path(__file__).resolve().parents[2] / "shared" / "realstore").resolve()
    env = credentials(store_dir)
    extra = shlex.split(a.wsync_args)
    reports = [bench(name, store_dir, kit, env, extra) for name in a.catalogues.split(",")]
    met = all((r["speedup_first"] or 0) >= 2.0 and r["wsync_unchanged"]["wall_s"] <= 1.0
              and sum(r["wsync_unchanged"]["requests"].values()) == 0 and (r["price_change_share"] or 1) <= 0.10
              for r in reports)
    if a.json:
        print(json.dumps({"wsync_args": extra, "results": reports, "targets_met": met}, indent=1))
    else:
        print("| catalogue | WooCommerce first | WooCommerce again | wsync first | speed-up | wsync unchanged "
              "(requests) | wsync 10 % prices (requests) | busy core-s WooCommerce / wsync | ceiling |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in reports:
            unchanged, prices = r["wsync_unchanged"], r["wsync_price_change"]
            print(f"| {r['catalogue']} | {r['woocommerce_first']['wall_s']} s | {r['woocommerce_again']['wall_s']} s "
                  f"| {r['wsync_first']['wall_s']} s | {r['speedup_first']}x | {unchanged['wall_s']} s "
                  f"({sum(unchanged['requests'].values())}) | {prices['wall_s']} s "
                  f"({sum(prices['requests'].values())}) | {r['woocommerce_first']['cpu']['busy_core_s']} / "
                  f"{r['wsync_first']['cpu']['busy_core_s']} | {r.get('ceiling_first')}x |")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
