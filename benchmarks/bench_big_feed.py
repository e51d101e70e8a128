"""A distributor's big feed, end to end through the CLI: peak memory and records/s of `wsync plan`.

    python benchmarks/bench_big_feed.py [--rows 100000,1000000,2000000] [--max-memory MB] [--ledger-items N]
                                        [--processes 1] [--json]

Generates a CSV of variable parents x 5 variations (`--rows` / 5 parents) with every row in a
random place of the file (a variation is seldom next to its parent), serves an empty sandbox
store in another process, and runs `wsync plan FEED --json` (stdout to /dev/null) as a child
process; its peak RSS is the child's own high-water mark (os.wait4), and the peak of it and its
feed helper process together is sampled from /proc, so neither the generator nor the sandbox is
counted. `--processes 1` keeps the feed's load in one process (WSYNC_FEED_PROCESSES=1).
`--ledger-items N` first fills the ledger with N items of the feed (as if an earlier run had
pushed them), so planning runs against a big ledger too.

Targets (issue: any feed size in bounded memory): 1,000,000 rows under 300 MB, 2,000,000 within
10 % of that, >= 20,000 records/s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLOURS = ("Red", "Blue", "Green", "Black", "White")


def generate(path: Path, rows: int, seed: int = 7) -> int:
    """`rows` rows (rows // 5 parents x 5 colours) in random order, written in one pass."""
    parents = rows // 5
    order = list(range(parents * 5))
    random.Random(seed).shuffle(order)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["item", "model", "title", "cost", "stock", "colour", "category", "image", "ean"])
        for n in order:
            p, c = divmod(n, 5)
            colour = COLOURS[c]
            w.writerow([f"M{p:07d}-{c}", f"M{p:07d}", f"Model {p} shirt", f"{(p % 90) + 5},{c}0", str((p + c) % 40),
                        colour, f"Clothing > Shirts > Line {p % 50}",
                        f"https://img.example/m{p:07d}/{colour.lower()}.jpg", f"40{p:08d}{c}"])
    return parents * 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp: Path, feed: Path, port: int) -> Path:
    config = tmp / "wsync.toml"
    config.write_text(f"""
ledger = "{tmp / 'ledger.db'}"

[store]
url = "http://127.0.0.1:{port}"
consumer_key = "ck_bench"
consumer_secret = "cs_bench"

[feeds.big]
source = "{feed}"
locale = "de"

[feeds.big.mapping]
sku = "item"
group = "model"
name = "title"
cost = "cost"
stock_quantity = "stock"
categories = "category"
images = "image"
attributes = {{ Color = "colour" }}
variation_attributes = ["Color"]
meta = {{ _ean = "ean" }}

[feeds.big.pricing]
multiply = "1.8"
ending = "0.99"
""", encoding="utf-8")
    config.chmod(0o600)  # it holds the (sandbox's) key
    return config


def fill_ledger(tmp: Path, config: Path, items: int) -> None:
    """The ledger as an earlier run of another feed's items would leave it: `items` rows, so the
    plan's look-ups run against an index of that size (the feed's own keys stay unknown)."""
    env = {**os.environ, "WSYNC_CONFIG": str(config)}
    subprocess.run([sys.executable, "-m", "wsync", "--config", str(config), "jobs", "--json"], env=env,
                   capture_output=True, check=False)  # creates the ledger with its schema
    conn = sqlite3.connect(tmp / "ledger.db")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO items (feed, kind, key, sku, store_id, parent_key, hash) VALUES (?,?,?,?,?,?,?)",
                     (("other", "variation" if i % 6 else "product", f"X{i}", f"X{i}", 10_000_000 + i,
                       f"X{i - i % 6}" if i % 6 else None, "h") for i in range(items)))
    conn.execute("COMMIT")
    conn.close()


def tree_rss_mb(pid: int) -> float:
    """The resident memory of a process and its children (wsync's feed helper), now, in MB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def run_plan(config: Path, max_memory: int | None, processes: int | None = None) -> tuple[float, float, float]:
    """Seconds, the plan process's own peak RSS (os.wait4), and the peak of its RSS and its
    helper's together (sampled every 20 ms from /proc)."""
    args = [sys.executable, "-m", "wsync", "--config", str(config), "plan", "big", "--json"]
    if max_memory:
        args += ["--max-memory", str(max_memory)]
    env = dict(os.environ)
    if processes:
        env["WSYNC_FEED_PROCESSES"] = str(processes)
    start = time.perf_counter()
    together = 0.0
    with open(os.devnull, "w") as sink:
        proc = subprocess.Popen(args, stdout=sink, stderr=subprocess.PIPE, env=env)
        while True:
            waited, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if waited:
                break
            together = max(together, tree_rss_mb(proc.pid))
            time.sleep(0.02)
    elapsed = time.perf_counter() - start
    if status != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"wsync plan failed ({status}): {err[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024, together


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="100000,1000000,2000000", help="comma list of feed sizes")
    ap.add_argument("--max-memory", type=int, default=None, help="MB, passed to wsync plan --max-memory")
    ap.add_argument("--ledger-items", type=int, default=0, help="fill the ledger with this many items first")
    ap.add_argument("--processes", type=int, default=None,
                    help="WSYNC_FEED_PROCESSES for the plan: 1 keeps the feed's load in one process")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = []
    for rows in (int(r) for r in args.rows.split(",")):
        with tempfile.TemporaryDirectory(prefix="wsync-bigfeed-") as tmp_name:
            tmp = Path(tmp_name)
            feed = tmp / "distributor.csv"
            generate(feed, rows)
            port = free_port()
            sandbox = subprocess.Popen([sys.executable, "-m", "wsync", "sandbox", "serve", "--port", str(port),
                                        "--consumer-key", "ck_bench", "--consumer-secret", "cs_bench"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(1.5)
                config = write_config(tmp, feed, port)
                if args.ledger_items:
                    fill_ledger(tmp, config, args.ledger_items)
                seconds, peak_mb, together_mb = run_plan(config, args.max_memory, args.processes)
            finally:
                sandbox.terminate()
                sandbox.wait()
            results.append({"rows": rows, "parents": rows // 5, "seconds": round(seconds, 1),
                            "records_per_second": round(rows / seconds), "peak_rss_mb": round(peak_mb, 1),
                            "peak_rss_with_helper_mb": round(together_mb, 1), "processes": args.processes,
                            "max_memory_mb": args.max_memory, "ledger_items": args.ledger_items,
                            "feed_mb": round(feed.stat().st_size / 1e6, 1) if feed.exists() else None})
            if not args.json:
                r = results[-1]
                print(f"{r['rows']:>9,} rows: {r['seconds']:7.1f} s, {r['records_per_second']:>7,} records/s, "
                      f"peak RSS {r['peak_rss_mb']:6.1f} MB, with the helper {r['peak_rss_with_helper_mb']:6.1f} MB",
                      flush=True)
    if args.json:
        print(json.dumps({"results": results, "targets": {"peak_rss_mb_at_1m": 300, "records_per_second": 20000}},
                         indent=2))


if __name__ == "__main__":
    main()
