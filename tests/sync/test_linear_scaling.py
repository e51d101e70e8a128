"""No step of a plan or an import grows faster than the feed: twice the items, twice the work.

Work is counted as Python function calls (a profile hook in every thread), not seconds: a count
does not change with the machine's load, and a step that scans a list per item (the planner once
looked each parent's plan up that way) shows up as calls. Each command runs on feeds of N, 2N
and 4N products against a sandbox; the work added from 2N to 4N must be at most 2.2 times the
work added from N to 2N (the same items twice more; what does not depend on the feed, start-up
and configuration, drops out of the differences). A quadratic step makes that ratio tend to 4.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tests.sync.conftest import catalogue_rows, write_feed
from wsync.cli import app
from wsync.config import ImportDefaults, Settings
from wsync.feeds import FeedSpec
from wsync.ledger import Ledger
from wsync.ledger.jobs import JobStore
from wsync.sandbox import SandboxServer
from wsync.store import StoreClient, StoreSettings
from wsync.sync.engine import plan_only, run_import
from wsync.sync.options import ImportOptions

SIZES = (80, 160, 320)  # products: half simple, half variable with 4 variations each


class CallCounter:
    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def hook(self, frame: Any, event: str, arg: Any) -> None:
        if event in ("call", "c_call"):
            self.calls += 1  # a lost increment between threads is noise far below the bound

    def count(self, work: Callable[[], Any]) -> int:
        self.calls = 0
        threading.setprofile(self.hook)
        sys.setprofile(self.hook)
        try:
            work()
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
        return self.calls


def feed(tmp: Path, products: int) -> Path:
    rows = catalogue_rows(products // 2, products // 2, per_parent=4)
    return write_feed(tmp / f"feed-{products}.csv", rows)


def measure(tmp: Path, run: Callable[[Path, Path, SandboxServer], Any]) -> list[int]:
    """Calls for each size; a first run of the smallest, not counted, imports what the command
    imports lazily (imports are calls, once)."""
    counts = []
    for index, n in enumerate((SIZES[0], *SIZES)):
        work = tmp / f"run{index}-n{n}"
        work.mkdir()
        source = feed(work, n)
        server = SandboxServer().start()
        try:
            counts.append(CallCounter().count(lambda: run(work, source, server)))  # noqa: B023 (called at once)
        finally:
            server.stop()
    return counts[1:]


def assert_linear(counts: list[int]) -> None:
    first, second = counts[1] - counts[0], counts[2] - counts[1]
    assert first > 0
    assert second / first <= 2.2, f"work grows faster than the feed: {counts} calls for {SIZES} products"


def settings_for(work: Path, server: SandboxServer) -> Settings:
    store = StoreSettings(url=server.url, consumer_key=server.consumer_key, consumer_secret=server.consumer_secret,
                          read_timeout=20.0)
    return Settings(path=None, base_dir=work, store=store, ledger_path=work / "wsync.db", feeds={},
                    import_defaults=ImportDefaults())


def test_plan_work_grows_with_the_feed(tmp_path: Path):
    def run(work: Path, source: Path, server: SandboxServer) -> None:
        settings = settings_for(work, server)
        ledger = Ledger(work / "wsync.db")
        try:
            doc = plan_only(FeedSpec.adhoc(str(source), format="csv"), ledger=ledger, settings=settings,
                            options=ImportOptions(window=25))
            assert doc["counts"]["create"] > 0
        finally:
            ledger.close()

    assert_linear(measure(tmp_path, run))


def test_import_dry_run_work_grows_with_the_feed(tmp_path: Path, monkeypatch):
    def run(work: Path, source: Path, server: SandboxServer) -> None:
        config = work / "wsync.toml"
        config.write_text(f'ledger = "{work / "wsync.db"}"\n[store]\nurl = "{server.url}"\n'
                          f'consumer_key = "{server.consumer_key}"\nconsumer_secret = "{server.consumer_secret}"\n',
                          encoding="utf-8")
        config.chmod(0o600)
        result = CliRunner().invoke(app, ["--config", str(config), "import", str(source), "--dry-run", "--json"])
        assert result.exit_code == 0, result.output

    assert_linear(measure(tmp_path, run))


def test_import_work_grows_with_the_feed(tmp_path: Path):
    def run(work: Path, source: Path, server: SandboxServer) -> None:
        settings = settings_for(work, server)
        ledger = Ledger(work / "wsync.db")
        jobs = JobStore(ledger)
        opts = ImportOptions(window=25, concurrency=1)
        data = {"source": str(source), "format": "csv", "feed_name": "f", "options": opts.to_dict()}
        try:
            with StoreClient(settings.store) as client:  # type: ignore[arg-type]
                result = run_import(jobs.create(kind="import", feed="f", job_data=data), ledger=ledger,
                                    settings=settings, jobs=jobs, client=client)
            assert result["success"] and result["created"] > 0
        finally:
            ledger.close()

    assert_linear(measure(tmp_path, run))
