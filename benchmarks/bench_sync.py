"""wsync against a naive per-item client, on the benchmark catalogue, against a sandbox store slowed
down like the recorded real store (LatencyModel.realistic), with a local image host.

    python benchmarks/bench_sync.py [--scale 1.0] [--latency-factor 1.0] [--clients wsync,naive] [--json]

Four scenarios run in order on one store per client: a first import, an unchanged re-run, a 10 %
price change, a stock-only update (wsync `--only stock`). The store and image host run in this
process; each client run is a child process (benchmarks/bench_client_run.py), so its CPU time and
peak RSS are the client's alone. Requests and image downloads are counted by the store.
--scale takes a fraction of the catalogue; --latency-factor multiplies every latency (0.1 = a
store ten times faster, same ratios between request, item and image costs).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_catalogue as cat

from wsync.sandbox import ImageHost, LatencyModel, SandboxServer
from wsync.store import StoreClient, StoreSettings

SCENARIOS = [
    ("first import", "first", None),
    ("unchanged re-run", "first", None),
    ("10 % price change", "price", None),
    ("stock-only update", "stock", "stock"),
]
CLIENT_RUN = Path(__file__).resolve().parent / "bench_client_run.py"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def scenario_rows(scale: float, image_base: str, shape: str = "mixed") -> dict[str, list[dict[str, Any]]]:
    first = cat.base_rows(scale, image_base, shape)
    price = cat.price_changed(first)
    return {"first": first, "price": price, "stock": cat.stock_changed(price)}


def run_client(client: str, store: SandboxServer, feed: Path, workdir: Path, only: str | None,
               timeout_s: float) -> dict[str, Any]:
    cmd = [sys.executable, str(CLIENT_RUN), client, "--url", store.url, "--key", store.consumer_key,
           "--feed", str(feed), "--workdir", str(workdir)] + (["--only", only] if only else [])
    env = {**os.environ, "WSYNC_BENCH_SECRET": store.consumer_secret}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise SystemExit(f"bench_sync: the {client} run failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def store_counts(stats: dict[str, Any]) -> dict[str, int]:
    by_method = stats["requests"]["by_method"]
    writes = sum(n for m, n in by_method.items() if m in WRITE_METHODS)
    return {"read": stats["requests"]["total"] - writes, "write": writes,
            "downloads": stats["downloads"]["attempted"]}


def verify(store: SandboxServer, rows: list[dict[str, Any]]) -> list[str]:
    """Read the whole store back (latency off) and compare every SKU's price and stock with the feed."""
    latency = store.latency
    store.set_latency(LatencyModel.none())
    problems: list[str] = []
    try:
        # The read-only key: its OAuth nonces are remembered apart from the clients' (8-digit nonces
        # from the woocommerce package collide within the store's 15-minute window after ~10^4 requests).
        settings = StoreSettings(url=store.url, consumer_key=store.readonly_key, consumer_secret=store.readonly_secret)
        seen: dict[str, dict[str, Any]] = {}
        with StoreClient(settings) as client:
            fields = ["id", "sku", "type", "regular_price", "stock_quantity", "images"]
            for product in client.iter_pages("products", fields=fields):
                seen[product["sku"]] = product
                if product["type"] == "variable":
                    for v in client.iter_pages(f"products/{product['id']}/variations", fields=fields):
                        seen[v["sku"]] = v
        for row in rows:
            item = seen.get(row["sku"])
            if item is None:
                problems.append(f"{row['sku']}: not in the store")
                continue
            if row.get("price") and item.get("regular_price") != row["price"]:
                problems.append(f"{row['sku']}: price {item.get('regular_price')!r}, feed {row['price']!r}")
            if row.get("stock") not in (None, "") and item.get("stock_quantity") != int(row["stock"]):
                problems.append(f"{row['sku']}: stock {item.get('stock_quantity')!r}, feed {row['stock']!r}")
            if row.get("images") and len(item.get("images") or []) != 1:
                problems.append(f"{row['sku']}: {len(item.get('images') or [])} images, feed 1")
        extra = len(seen) - len(rows)
        if extra:
            problems.append(f"{extra} items in the store that the feed does not hold")
    finally:
        store.set_latency(latency)
    return problems


def run_benchmark(scale: float, factor: float, clients: list[str], timeout_s: float,
                  log=lambda msg: print(msg, file=sys.stderr), shape: str = "mixed") -> dict[str, Any]:
    latency = LatencyModel.realistic(factor)
    results: list[dict[str, Any]] = []
    with ImageHost() as cdn, SandboxServer(latency=latency) as store, tempfile.TemporaryDirectory() as tmp:
        feeds = scenario_rows(scale, cdn.url, shape)
        paths = {name: cat.write_feed(Path(tmp) / f"{name}.csv", rows) for name, rows in feeds.items()}
        for client in clients:
            store.reset()
            workdir = Path(tmp) / client
            workdir.mkdir()
            for label, feed, only in SCENARIOS:
                store.counters.reset()
                store.media.stats.reset()
                cdn_before = cdn.total
                started = time.perf_counter()
                run = run_client(client, store, paths[feed], workdir, only, timeout_s)
                elapsed = time.perf_counter() - started
                stats = store.stats()
                counted = store_counts(stats)
                row = {"client": client, "scenario": label, "requests": {"read": counted["read"],
                                                                         "write": counted["write"]},
                       "image_downloads": counted["downloads"], "cdn_requests": cdn.total - cdn_before,
                       "wall_s": run["wall_s"], "process_wall_s": round(elapsed, 2), "cpu_s": run["cpu_s"],
                       "peak_rss_mb": run["peak_rss_mb"], "failed": int(run["result"].get("failed") or 0),
                       "store_counts": stats["counts"],
                       "client_result": _summary(run["result"])}
                results.append(row)
                log(f"{client:5s} {label:18s} {row['requests']['read'] + row['requests']['write']:6d} requests "
                    f"{row['image_downloads']:5d} downloads {row['wall_s']:8.1f} s wall {row['cpu_s']:6.1f} s cpu")
            try:
                problems = verify(store, feeds["stock"])
            except Exception as exc:  # a failed read-back is reported, the measurements are kept
                problems = [f"could not read the store back: {exc}"]
            results[-1]["verified"] = not problems
            results[-1]["verify_problems"] = problems[:10]
            log(f"{client}: store matches the last feed" if not problems
                else f"{client}: {len(problems)} differences, e.g. {problems[:3]}")
    return {"scale": scale, "latency_factor": factor, "latency": latency.to_dict(),
            "catalogue": cat.counts(feeds["first"]), "cpus": os.cpu_count(),
            "python": sys.version.split()[0], "runs": results, "targets": targets(results)}


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("created", "updated", "unchanged", "failed", "variations", "images", "errors")
    return {k: result[k] for k in keep if k in result}


def targets(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def find(client: str, scenario: str) -> dict[str, Any] | None:
        return next((r for r in runs if r["client"] == client and r["scenario"] == scenario), None)

    out = []
    ws, nv = find("wsync", "first import"), find("naive", "first import")
    if ws and nv:
        ws_req = ws["requests"]["read"] + ws["requests"]["write"]
        nv_req = nv["requests"]["read"] + nv["requests"]["write"]
        out.append({"target": "first import: <= 1/10 of the naive client's requests",
                    "measured": f"{ws_req} vs {nv_req} ({ws_req / nv_req:.3f})", "pass": ws_req * 10 <= nv_req})
        out.append({"target": "first import: faster wall time than the naive client",
                    "measured": f"{ws['wall_s']:.1f} s vs {nv['wall_s']:.1f} s", "pass": ws["wall_s"] < nv["wall_s"]})
    rerun = find("wsync", "unchanged re-run")
    if rerun:
        out.append({"target": "unchanged re-run: zero writes and zero downloads",
                    "measured": f"{rerun['requests']['write']} writes, {rerun['image_downloads']} downloads",
                    "pass": rerun["requests"]["write"] == 0 and rerun["image_downloads"] == 0})
    return out


def markdown(doc: dict[str, Any]) -> str:
    c = doc["catalogue"]
    lines = [f"Catalogue: {c['products']} products, {c['variations']} variations, {c['distinct_images']} distinct "
             f"images (scale {doc['scale']}); latency: realistic x {doc['latency_factor']}; "
             f"{doc['cpus']} CPUs, Python {doc['python']}.", "",
             "| scenario | client | requests (read / write) | image downloads | wall | client CPU | peak RSS "
             "| failed items |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in doc["runs"]:
        req = r["requests"]
        lines.append(f"| {r['scenario']} | {r['client']} | {req['read'] + req['write']:,} ({req['read']:,} / "
                     f"{req['write']:,}) | {r['image_downloads']:,} | {r['wall_s']:.1f} s | {r['cpu_s']:.1f} s | "
                     f"{r['peak_rss_mb']:.0f} MB | {r['failed']} |")
    if doc["targets"]:
        lines += ["", "| target | measured | result |", "|---|---|---|"]
        lines += [f"| {t['target']} | {t['measured']} | {'pass' if t['pass'] else 'FAIL'} |" for t in doc["targets"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the 2,000-product catalogue (default 1.0)")
    parser.add_argument("--latency-factor", type=float, default=1.0,
                        help="multiply the realistic latency (0.1 = ten times faster store; default 1.0)")
    parser.add_argument("--catalogue", choices=sorted(cat.SHAPES), default="mixed",
                        help="mixed: 500 variable x 4 + 1,500 simple (default); variable: 2,000 variable x 4")
    parser.add_argument("--clients", default="wsync,naive", help="comma-separated: wsync, naive (default both)")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds one client run may take")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    args = parser.parse_args(argv)
    clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    if not clients or any(c not in ("wsync", "naive") for c in clients):
        parser.error(f"--clients takes wsync and/or naive, got {args.clients!r}")
    if args.latency_factor < 0:
        parser.error("--latency-factor must not be negative")
    try:
        cat.sizes_for(args.scale)
    except ValueError as exc:
        parser.error(str(exc))
    doc = run_benchmark(args.scale, args.latency_factor, clients, args.timeout, shape=args.catalogue)
    print(json.dumps(doc, indent=2) if args.json else markdown(doc))
    return 0 if all(t["pass"] for t in doc["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
