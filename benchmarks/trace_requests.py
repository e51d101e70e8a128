"""Where a store sits idle during an import: every request's span and the machine's CPU, on the real store.

    python benchmarks/trace_requests.py --store-dir ../realstore [--catalogue noimg]
                                        [--wsync-args "--concurrency 6"] [--runs 1] [--json]

`--store-dir` is a store made by the realstore kit with its bench catalogues (`bench/gen.py`).
Each run resets the store and imports the catalogue from an empty ledger in this process, with
an observer on the client (`StoreClient.observers`: every HTTP attempt, its seconds and items)
and the machine's CPU read from /proc/stat every 0.25 s. Client and store share the machine, so
the CPU is mostly the store's (php-fpm and MariaDB; wsync's own share is a few percent).

The report gives, per number of requests in flight, the seconds spent there and the mean CPU
busy share over them; the stretches with fewer than two in flight (half of two cores idle); and
per kind of request its count, first send, last answer and mean seconds. It is how the idle
store was found: categories made one at a time, the last batch of a window running alone, an
adaptive limit hovering at 3 (docs/benchmarks.md, bench_vs_woocommerce.py).
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import shlex
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_vs_woocommerce import machine_cpu, reset  # the machine's CPU counters; the store back to its fresh install
from compare_wc_import import credentials


class CpuSampler(threading.Thread):
    """The machine's busy share every `every` seconds: (seconds since `t0`, share)."""

    def __init__(self, t0: float, every: float = 0.25):
        super().__init__(daemon=True)
        self.t0, self.every = t0, every
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        prev = machine_cpu()
        while not self.stop.wait(self.every):
            cur = machine_cpu()
            total, idle = cur[0] - prev[0], cur[1] - prev[1]
            self.samples.append((time.monotonic() - self.t0, 1 - idle / total if total > 0 else 0.0))
            prev = cur


def _kind(endpoint: str, method: str) -> str:
    if "variations" in endpoint:
        return f"{method} variations"
    return f"{method} {endpoint}"


def trace_one(env: dict[str, str], feed: Path, extra: list[str]) -> dict[str, Any]:
    from wsync.cli import main
    from wsync.store import client as client_mod

    spans: list[tuple[float, float, str]] = []  # (sent, answered, kind), seconds since t0
    lock = threading.Lock()
    t0 = time.monotonic()
    original = client_mod.StoreClient.__init__

    def with_observer(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)

        def seen(attempt: Any) -> None:
            end = time.monotonic() - t0
            with lock:
                spans.append((end - attempt.elapsed_s, end, _kind(attempt.endpoint, attempt.method)))
        self.observers.append(seen)

    sampler = CpuSampler(t0)
    saved_env = dict(os.environ)
    os.environ.update({"WSYNC_STORE_URL": env["HTTPS_URL"], "WSYNC_CONSUMER_KEY": env["CK"],
                       "WSYNC_CONSUMER_SECRET": env["CS"], "REQUESTS_CA_BUNDLE": env["CA_BUNDLE"]})
    client_mod.StoreClient.__init__ = with_observer  # type: ignore[method-assign]
    sampler.start()
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="wsync-trace-") as tmp:
        os.chdir(tmp)
        try:
            out = Path(tmp) / "out.json"
            with open(out, "w") as fh:
                stdout, sys.stdout = sys.stdout, fh
                try:
                    main(["import", str(feed), "--preset", "woocommerce-csv", "--json", *extra])
                except SystemExit as exc:
                    if exc.code not in (0, 1, None):
                        raise
                finally:
                    sys.stdout = stdout
            result = json.loads(out.read_text())
        finally:
            os.chdir(cwd)
            sampler.stop.set()
            client_mod.StoreClient.__init__ = original  # type: ignore[method-assign]
            os.environ.clear()
            os.environ.update(saved_env)
    wall = time.monotonic() - t0
    return summarise(spans, sampler.samples, wall, result.get("result") or result)


def summarise(spans: list[tuple[float, float, str]], cpu: list[tuple[float, float]], wall: float,
              result: dict[str, Any]) -> dict[str, Any]:
    events = sorted([(s, 1) for s, _, _ in spans] + [(e, -1) for _, e, _ in spans])
    at_level: dict[int, float] = defaultdict(float)
    low: list[list[float]] = []
    level, prev = 0, events[0][0] if events else 0.0
    for t, step in events:
        at_level[level] += t - prev
        if level < 2 and t - prev > 0.3:
            low.append([round(prev, 1), round(t, 1), level])
        level += step
        prev = t
    starts, ends = sorted(s for s, _, _ in spans), sorted(e for _, e, _ in spans)
    busy: dict[int, list[float]] = defaultdict(list)
    for t, share in cpu:
        busy[bisect.bisect_right(starts, t) - bisect.bisect_right(ends, t)].append(share)
    kinds: dict[str, dict[str, float]] = {}
    for s, e, kind in spans:
        k = kinds.setdefault(kind, {"requests": 0, "first_sent_s": s, "last_answer_s": e, "seconds": 0.0})
        k["requests"] += 1
        k["first_sent_s"], k["last_answer_s"] = min(k["first_sent_s"], s), max(k["last_answer_s"], e)
        k["seconds"] += e - s
    in_span = [share for t, share in cpu if starts and starts[0] <= t <= ends[-1]]
    return {
        "wall_s": round(wall, 1),
        "requests": len(spans),
        "failed": (result.get("failed") or 0) + ((result.get("variations") or {}).get("failed") or 0),
        "concurrency": result.get("concurrency"),
        "cpu_busy_mean": round(sum(in_span) / len(in_span), 3) if in_span else None,
        "in_flight": {n: {"seconds": round(at_level[n], 1),
                          "cpu_busy": round(sum(busy[n]) / len(busy[n]), 3) if busy[n] else None}
                      for n in sorted(at_level)},
        "under_two_in_flight": low,
        "kinds": {kind: {"requests": int(v["requests"]), "first_sent_s": round(v["first_sent_s"], 1),
                         "last_answer_s": round(v["last_answer_s"], 1),
                         "mean_s": round(v["seconds"] / v["requests"], 2)} for kind, v in kinds.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store-dir", type=Path, required=True)
    ap.add_argument("--catalogue", default="noimg")
    ap.add_argument("--wsync-args", default="", help="more options for wsync import")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    env = credentials(args.store_dir)
    feed = args.store_dir / "bench" / f"catalogue_{args.catalogue}.csv"
    if not feed.exists():
        raise SystemExit(f"{feed} is missing: run the kit's bench/gen.py --dir {args.store_dir} first")
    runs = []
    for _ in range(args.runs):
        reset(args.store_dir)
        runs.append(trace_one(env, feed, shlex.split(args.wsync_args)))
    if args.json:
        print(json.dumps({"catalogue": args.catalogue, "wsync_args": args.wsync_args, "runs": runs}, indent=2))
        return
    for run in runs:
        print(f"{run['wall_s']} s, {run['requests']} requests, {run['failed']} failed, "
              f"CPU busy {run['cpu_busy_mean']} while requests ran; concurrency {run['concurrency']}")
        for n, row in run["in_flight"].items():
            print(f"  {n} in flight: {row['seconds']:6.1f} s, CPU busy {row['cpu_busy']}")
        print(f"  under two in flight (> 0.3 s): {run['under_two_in_flight']}")
        for kind, row in run["kinds"].items():
            print(f"  {kind:32s} {row['requests']:4d} requests, {row['first_sent_s']:6.1f} -> "
                  f"{row['last_answer_s']:6.1f} s, mean {row['mean_s']} s")


if __name__ == "__main__":
    main()
