"""What faults cost: the same import on the same store, clean and behind a fault-injecting proxy,
side by side in one run (these machines are noisy: compare the ratio, not the seconds).

    python benchmarks/bench_faults.py FEED [--preset woocommerce-csv | --format csv]
        [--reset-command CMD] [--rounds 1] [--concurrency 2] [--products-per-batch 50]
        [--error-rate 0.10] [--rate-limit-rate 0.03] [--drop-rate 0.03] [--cut-rate 0] [--hang-rate 0]
        [--seed 7] [--json]

The store is the one in WSYNC_STORE_URL / WSYNC_CONSUMER_KEY / WSYNC_CONSUMER_SECRET (with
REQUESTS_CA_BUNDLE for a self-signed https store); without them, a sandbox in this process with
the recorded store's latency (LatencyModel.realistic, --latency-factor). Before each import the
store is emptied: --reset-command on a live store (e.g. the test store's reset-store.sh), the
sandbox's own reset otherwise; each import starts with a new ledger. Rounds alternate the order
(clean first, then faulty first) so a store warming up does not favour one side. After each
import the store is counted by SKU: a duplicate is a failure whatever the times.
Images are not part of it (--no-process-images): a feed's image URLs must be reachable by the
store, which is a property of the store, not of wsync.
On the sandbox the ratio says little: its requests take milliseconds, so fixed waits (a 429's
one-second Retry-After) dominate; it is there to try the script. The claim is measured live.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from wsync.config import ImportDefaults, Settings
from wsync.ledger import Ledger
from wsync.ledger.jobs import JobStore
from wsync.sandbox import FaultProxy, LatencyModel, ProxyFaults, SandboxServer
from wsync.store import StoreClient, StoreSettings
from wsync.sync.engine import run_import
from wsync.sync.options import ImportOptions


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("feed", type=Path)
    ap.add_argument("--preset", default=None)
    ap.add_argument("--format", default=None)
    ap.add_argument("--reset-command", default=None, help="empties a live store before each import")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--products-per-batch", type=int, default=50)
    ap.add_argument("--latency-factor", type=float, default=0.1, help="sandbox only")
    ap.add_argument("--error-rate", type=float, default=0.10)
    ap.add_argument("--rate-limit-rate", type=float, default=0.03)
    ap.add_argument("--drop-rate", type=float, default=0.03)
    ap.add_argument("--cut-rate", type=float, default=0.0)
    ap.add_argument("--hang-rate", type=float, default=0.0)
    ap.add_argument("--hang-s", type=float, default=35.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    return ap.parse_args(argv)


class Store:
    """The store under test: live from the environment, or a sandbox in this process."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.sandbox: SandboxServer | None = None
        url = os.environ.get("WSYNC_STORE_URL")
        if url:
            self.url, self.key, self.secret = url, os.environ["WSYNC_CONSUMER_KEY"], os.environ["WSYNC_CONSUMER_SECRET"]
        else:
            self.sandbox = SandboxServer(latency=LatencyModel.realistic(args.latency_factor)).start()
            self.url, self.key, self.secret = self.sandbox.url, self.sandbox.consumer_key, self.sandbox.consumer_secret

    def settings(self, url: str | None = None) -> StoreSettings:
        return StoreSettings(url=url or self.url, consumer_key=self.key, consumer_secret=self.secret,
                             concurrency=max(2, self.args.concurrency), max_attempts=6, max_retry_wait_s=30.0,
                             backoff_base_s=0.2)

    def reset(self) -> None:
        if self.sandbox is not None:
            self.sandbox.reset()
        elif self.args.reset_command:
            subprocess.run(shlex.split(self.args.reset_command), check=True, capture_output=True)
        else:
            raise SystemExit("bench_faults: a live store needs --reset-command, so both imports start alike")

    def census(self) -> dict[str, int]:
        with StoreClient(self.settings()) as client:
            products = list(client.iter_pages("products", fields=["id", "sku", "type"]))
            skus = collections.Counter(p["sku"] for p in products)
            variations: collections.Counter = collections.Counter()
            for parent in products:
                if parent["type"] == "variable":
                    for v in client.iter_pages(f"products/{parent['id']}/variations", fields=["id", "sku"]):
                        variations[v["sku"]] += 1
        return {"products": len(products), "product_skus": len(skus),
                "variations": sum(variations.values()), "variation_skus": len(variations),
                "duplicates": sum(n - 1 for n in skus.values()) + sum(n - 1 for n in variations.values())}

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.stop()


def import_once(store: Store, args: argparse.Namespace, url: str, workdir: Path) -> dict[str, Any]:
    workdir.mkdir(parents=True)
    ledger = Ledger(workdir / "wsync.db")
    jobs = JobStore(ledger)
    settings = Settings(path=None, base_dir=workdir, store=store.settings(url), ledger_path=workdir / "wsync.db",
                        feeds={}, import_defaults=ImportDefaults())
    opts = ImportOptions(concurrency=args.concurrency, products_per_batch=args.products_per_batch,
                         process_images=False).validate()
    data = {"source": str(args.feed.resolve()), "preset": args.preset, "format": args.format,
            "feed_name": "bench", "options": opts.to_dict()}
    job_id = jobs.create(kind="import", feed="bench", job_data=data)
    started = time.monotonic()
    result = run_import(job_id, ledger=ledger, settings=settings, jobs=jobs)
    wall = time.monotonic() - started
    ledger.close()
    # Products in created / failed, the variations apart (wsync counts them on their own).
    return {"wall_s": round(wall, 1), "created": result["created"], "failed": result["failed"],
            "variations_created": result["variations"]["created"],
            "variations_failed": result["variations"]["failed"], "requests": result["requests"]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    faults = ProxyFaults(error_rate=args.error_rate, rate_limit_rate=args.rate_limit_rate, drop_rate=args.drop_rate,
                         cut_rate=args.cut_rate, hang_rate=args.hang_rate, hang_s=args.hang_s, seed=args.seed)
    store = Store(args)
    runs: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="wsync-bench-faults-") as tmp:
            for round_no in range(args.rounds):
                order = ["clean", "faulty"] if round_no % 2 == 0 else ["faulty", "clean"]
                for kind in order:
                    store.reset()
                    proxy = store_proxy = None
                    if kind == "faulty":
                        proxy = FaultProxy(store.url, store.key, store.secret, faults,
                                           verify=os.environ.get("REQUESTS_CA_BUNDLE") or True).start()
                        store_proxy = proxy.url
                    try:
                        run = import_once(store, args, store_proxy or store.url, Path(tmp) / f"{round_no}-{kind}")
                        if proxy is not None:
                            proxy.wait_idle(120)
                            run["faults"] = proxy.stats()["faults"]
                    finally:
                        if proxy is not None:
                            proxy.stop()
                    run.update(kind=kind, round=round_no, census=store.census())
                    runs.append(run)
                    print(f"round {round_no} {kind}: {run['wall_s']} s, census {run['census']}", file=sys.stderr)
    finally:
        store.close()
    clean = [r["wall_s"] for r in runs if r["kind"] == "clean"]
    faulty = [r["wall_s"] for r in runs if r["kind"] == "faulty"]
    doc = {"store": "sandbox" if store.sandbox is not None else "live", "faults": faults.to_dict(),
           "runs": runs, "clean_s": clean, "faulty_s": faulty,
           "ratio": round(sum(faulty) / sum(clean), 2) if clean and sum(clean) else None,
           "duplicates": sum(r["census"]["duplicates"] for r in runs)}
    if args.json:
        print(json.dumps(doc))
    else:
        print(f"clean {clean} s, faulty {faulty} s: faulty/clean = {doc['ratio']}; duplicates {doc['duplicates']}")
    return 0 if doc["duplicates"] == 0 and all(r["failed"] == r["variations_failed"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
