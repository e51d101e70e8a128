"""One client run for bench_sync.py, in its own process, so its CPU time and peak memory are the
client's alone (the sandbox store and the image host run in the parent process).

    python benchmarks/bench_client_run.py wsync|naive --url URL --key CK --feed F --workdir D [--only stock]
    (the consumer secret is read from $WSYNC_BENCH_SECRET)

Prints one JSON line: wall_s and cpu_s are measured around the sync itself (interpreter start and
imports excluded); peak_rss_mb is the process's high-water mark (ru_maxrss), imports included.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any


def run_wsync(url: str, key: str, secret: str, feed: Path, workdir: Path, only: str | None) -> dict[str, Any]:
    from wsync.config import ImportDefaults, Settings
    from wsync.ledger import Ledger
    from wsync.ledger.jobs import JobStore
    from wsync.redact import register_secret
    from wsync.store import StoreClient, StoreSettings
    from wsync.sync.engine import run_import
    from wsync.sync.options import ImportOptions

    register_secret(secret)
    ledger_path = workdir / "wsync.db"
    ledger = Ledger(ledger_path)
    try:
        jobs = JobStore(ledger)
        store = StoreSettings(url=url, consumer_key=key, consumer_secret=secret)
        settings = Settings(path=None, base_dir=workdir, store=store, ledger_path=ledger_path, feeds={},
                            import_defaults=ImportDefaults())
        opts = ImportOptions(only=[only] if only else []).validate()
        data = {"source": str(feed), "format": "csv", "feed_name": "bench", "options": opts.to_dict()}
        job_id = jobs.create(kind="import", feed="bench", job_data=data)
        client = StoreClient(store)
        try:
            return run_import(job_id, ledger=ledger, settings=settings, jobs=jobs, client=client)
        finally:
            client.close()
    finally:
        ledger.close()


def run_naive(url: str, key: str, secret: str, feed: Path, only: str | None) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from naive_client import NaiveClient, read_feed

    return NaiveClient(url, key, secret).run(read_feed(feed), only).to_dict()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("client", choices=["wsync", "naive"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--feed", required=True, type=Path)
    parser.add_argument("--workdir", required=True, type=Path)
    parser.add_argument("--only", choices=["stock"])
    args = parser.parse_args(argv)
    secret = os.environ.get("WSYNC_BENCH_SECRET")
    if not secret:
        print("bench_client_run: set WSYNC_BENCH_SECRET to the consumer secret", file=sys.stderr)
        return 2
    # Import the client's code before the clock starts: the run, not interpreter start-up, is measured.
    if args.client == "wsync":
        import wsync.sync.engine  # noqa: F401
    else:
        import woocommerce  # noqa: F401
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if args.client == "wsync":
        result = run_wsync(args.url, args.key, secret, args.feed, args.workdir, args.only)
    else:
        result = run_naive(args.url, args.key, secret, args.feed, args.only)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"client": args.client, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                      "cpu_user_s": round(usage.ru_utime - usage0.ru_utime, 3),
                      "cpu_sys_s": round(usage.ru_stime - usage0.ru_stime, 3),
                      "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "result": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
