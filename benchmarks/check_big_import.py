"""A big feed imported in windows does what one window does: the 100,000-row check.

    python benchmarks/check_big_import.py [--rows 100000] [--json]

The feed is bench_big_feed.py's distributor CSV (`--rows` / 5 variable parents x 5 colours,
every row in a random place of the file). It is imported into two fresh sandbox stores, in this
process: once as wsync does by default (windows of 500 products, the ledger read per window,
rows assembled on disk), once in a single window holding the whole catalogue (the pipeline as it
was before windows). The results, the two stores' contents and the two ledgers must agree; then
the windowed import runs again and must write nothing. The tests run the same comparison on a
small feed (tests/sync/test_windows_e2e.py); this is the size the issue names, too slow for CI.
Exit code 0 when everything agrees.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_big_feed import generate, write_config

from wsync.config import load_settings
from wsync.ledger import Ledger
from wsync.ledger.jobs import JobStore
from wsync.sandbox import SandboxServer
from wsync.store import StoreClient, StoreSettings
from wsync.sync.engine import run_import
from wsync.sync.options import ImportOptions

KEEP = ("success", "created", "updated", "unchanged", "failed", "skipped", "removed", "variations", "feed_errors",
        "links")


class Store:
    def __init__(self, tmp: Path, feed: Path):
        tmp.mkdir()
        self.server = SandboxServer().start()
        config = write_config(tmp, feed, 0)
        self.settings = load_settings(config, require_store=False)
        self.ledger = Ledger(tmp / "ledger.db")
        self.jobs = JobStore(self.ledger)
        self.store = StoreSettings(url=self.server.url, consumer_key=self.server.consumer_key,
                                   consumer_secret=self.server.consumer_secret, read_timeout=60.0)

    def run(self, **options: Any) -> tuple[dict[str, Any], float]:
        opts = ImportOptions(process_images=False, **options).validate()
        job_id = self.jobs.create(kind="import", feed="big", job_data={"feed": "big", "options": opts.to_dict()})
        started = time.perf_counter()
        with StoreClient(self.store) as client:
            result = run_import(job_id, ledger=self.ledger, settings=self.settings, jobs=self.jobs, client=client)
        return result, time.perf_counter() - started

    def contents(self) -> dict[str, Any]:
        """Every product and variation the sandbox holds, by SKU, as stored, with what differs by
        creation order alone (ids, dates) taken out and term ids given as names; read from the
        sandbox's own database (20,000 variations requests would take longer than the imports)."""
        db = self.server.db
        with db.lock:
            posts = db.conn.execute("SELECT id, kind, parent_id, sku, type, status, slug, name, doc FROM posts "
                                    "WHERE kind IN ('product', 'variation')").fetchall()
            term = {row[0]: row[1] for row in db.conn.execute("SELECT id, name FROM terms")}
        sku_of = {row[0]: row[3] for row in posts}
        out = {}
        for _id, kind, parent_id, sku, ptype, status, slug, name, doc_text in posts:
            doc = {k: v for k, v in json.loads(doc_text).items() if "date" not in k and k not in ("id", "parent_id")}
            doc["meta_data"] = sorted((m["key"], str(m["value"])) for m in doc.get("meta_data") or [])
            doc["categories"] = sorted(term.get(i, i) for i in doc.get("categories") or [])
            doc["tags"] = sorted(term.get(i, i) for i in doc.get("tags") or [])
            out[sku] = {"kind": kind, "parent": sku_of.get(parent_id), "type": ptype, "status": status, "slug": slug,
                        "name": name, "doc": doc}
        return out

    def ledger_items(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.ledger.conn.execute(
            "SELECT kind, key, sku, hash, parent_key FROM items ORDER BY kind, key")]

    def close(self) -> None:
        self.ledger.close()
        self.server.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="wsync-bigimport-") as tmp_name:
        tmp = Path(tmp_name)
        feed = tmp / "distributor.csv"
        generate(feed, a.rows)
        windows, whole = Store(tmp / "windows", feed), Store(tmp / "whole", feed)
        try:
            first, first_s = windows.run()
            one, one_s = whole.run(window=10**9)
            again, again_s = windows.run()
            checks = {
                "results_agree": {k: first.get(k) for k in KEEP} == {k: one.get(k) for k in KEEP},
                "stores_agree": windows.contents() == whole.contents(),
                "ledgers_agree": windows.ledger_items() == whole.ledger_items(),
                "rerun_writes": again["requests"]["write"],
            }
        finally:
            windows.close()
            whole.close()
    ok = checks["results_agree"] and checks["stores_agree"] and checks["ledgers_agree"] and not checks["rerun_writes"]
    report = {"rows": a.rows, "ok": ok, "checks": checks,
              "windowed": {"seconds": round(first_s, 1), "created": first["created"],
                           "variations": first["variations"], "feed_errors": first.get("feed_errors")},
              "one_window": {"seconds": round(one_s, 1), "created": one["created"], "variations": one["variations"]},
              "rerun": {"seconds": round(again_s, 1), "unchanged": again["unchanged"], "requests": again["requests"]}}
    print(json.dumps(report, indent=1) if a.json else
          f"{a.rows:,} rows: windows {first_s:.0f} s, one window {one_s:.0f} s, re-run {again_s:.0f} s "
          f"({again['requests']['write']} writes); {checks}; {'OK' if ok else 'DIFFERENT'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
