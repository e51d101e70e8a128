"""`--concurrency auto` against a store with few PHP workers (the sandbox's worker model).

The same catalogue goes into two such stores, one with the adaptive limit and one pinned at 2:
no item may fail with auto, and the two stores must end with the same contents. Then a store
that answers 503 to any request beyond its one worker: auto must back off to one in flight, and
still save everything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.sync.conftest import SyncRig, sandbox_only
from wsync.sandbox import LatencyModel, SandboxServer, WorkerModel


def contents(rig: SyncRig) -> dict[str, Any]:
    """SKU -> (type, price, its variations' SKUs and prices): what the store holds, ids left out."""
    out: dict[str, Any] = {}
    for product in rig.all_products():
        variations = sorted((v["sku"], v["regular_price"]) for v in rig.all_variations(product["id"])) \
            if product["type"] == "variable" else []
        out[product["sku"]] = (product["type"], product["regular_price"], variations)
    return out


def limited_store(workers: int, queue: int) -> SandboxServer:
    return SandboxServer(latency=LatencyModel(per_request_s=0.01, per_item_write_s=0.001),
                         workers=WorkerModel(workers=workers, queue=queue)).start()


@sandbox_only
def test_auto_on_a_store_of_two_workers_fails_nothing_and_matches_a_fixed_run(tmp_path: Path) -> None:
    stores = [limited_store(2, 2), limited_store(2, 2)]
    try:
        rigs = []
        for name, store in zip(("auto", "fixed"), stores, strict=True):
            (tmp_path / name).mkdir()
            rigs.append(SyncRig(store, tmp_path / name))
        auto_rig, fixed_rig = rigs
        rows = auto_rig.rows(60, 30, per_parent=3)
        auto, _ = auto_rig.run(auto_rig.feed(rows), products_per_batch=10, variations_per_batch=3,
                               concurrency="auto", concurrency_max=8)
        fixed, _ = fixed_rig.run(fixed_rig.feed(rows), products_per_batch=10, variations_per_batch=3, concurrency=2)
        for result in (auto, fixed):
            assert result["failed"] == 0 and result["variations"]["failed"] == 0, result
            assert result["created"] == 90 and result["variations"]["created"] == 90
        assert auto["concurrency"]["mode"] == "auto" and fixed["concurrency"]["mode"] == "fixed"
        assert fixed["concurrency"]["current"] == 2 and fixed["concurrency"]["peak"] == 2
        # It looked above the fixed 2 and never ran away to its ceiling of 8 on a store that takes
        # 4 at once (2 workers, 2 queued); any 503 it met on the way was retried, nothing failed.
        assert 2 < auto["concurrency"]["peak"] < 8 and auto["concurrency"]["current"] < 8
        assert auto["concurrency"]["rate"] >= 0
        assert contents(auto_rig) == contents(fixed_rig)
        assert len(contents(auto_rig)) == 90
        # The job row says it too, as `wsync status` shows it.
        from wsync.jobs.report import status_doc
        job = status_doc(auto_rig.jobs, auto["job_id"])["job"]
        assert job["concurrency"]["mode"] == "auto" and job["configuration"]["options"]["concurrency"] == "auto"
        for rig in rigs:
            rig.ledger.close()
    finally:
        for store in stores:
            store.stop()


@sandbox_only
def test_auto_backs_off_on_503(tmp_path: Path) -> None:
    store = limited_store(1, 0)  # one worker, no queue: a second request at a time is answered 503
    try:
        rig = SyncRig(store, tmp_path)
        rig.store = rig.store.with_changes(backoff_base_s=0.01)
        result, _ = rig.run(rig.feed(rig.rows(40, 12, per_parent=2)), products_per_batch=5, variations_per_batch=2,
                            concurrency="auto", concurrency_max=8, process_images=False)
        limit = result["concurrency"]
        assert result["failed"] == 0 and result["variations"]["failed"] == 0, result
        assert result["created"] == 52 and result["variations"]["created"] == 24
        assert store.stats()["workers"]["refused"] >= 1   # the store did refuse some
        assert limit["overloaded"] >= 1 and limit["backoffs"] >= 1
        assert limit["current"] == 1                       # and the job ended at what the store takes
        rig.ledger.close()
    finally:
        store.stop()


@sandbox_only
def test_worker_model_queues_then_refuses(tmp_path: Path) -> None:
    import threading

    import requests

    store = SandboxServer(latency=LatencyModel(per_request_s=0.2), workers=WorkerModel(workers=1, queue=1)).start()
    try:
        statuses: list[int] = []

        def get() -> None:
            statuses.append(requests.get(f"{store.url}/wp-json/wc/v3/products", timeout=10).status_code)

        threads = [threading.Thread(target=get) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = store.stats()["workers"]
        # One runs, one waits for it, the third finds the queue full: 503 before PHP runs.
        assert sorted(statuses).count(503) == 1 and stats["refused"] == 1 and stats["queued"] >= 1
        assert stats["peak_busy"] == 1
        store.set_workers(workers=0)
        assert requests.get(f"{store.url}/_sandbox/workers", timeout=5).json()["workers"] == 0
    finally:
        store.stop()


@sandbox_only
def test_cli_takes_auto_or_a_number_and_a_recovered_job_keeps_its_setting(sandbox, tmp_path, monkeypatch,
                                                                           capsys) -> None:
    import socket

    from tests.sync.conftest import catalogue_rows, write_feed
    from tests.sync.test_cli_sync import run_cli
    from wsync.ledger import Ledger
    from wsync.ledger.jobs import JobStore

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WSYNC_CONFIG", raising=False)
    for name, value in (("WSYNC_STORE_URL", sandbox.url), ("WSYNC_CONSUMER_KEY", sandbox.consumer_key),
                        ("WSYNC_CONSUMER_SECRET", sandbox.consumer_secret),
                        ("WSYNC_LEDGER", str(tmp_path / "wsync.db"))):
        monkeypatch.setenv(name, value)
    feed = write_feed(tmp_path / "feed.csv", catalogue_rows(simple=6, variable=2, per_parent=2))
    code, _, err = run_cli(["import", str(feed), "--format", "csv", "--concurrency", "fast", "--json"], capsys)
    assert code == 2 and "--concurrency must be auto or a number" in err
    code, result, _ = run_cli(["import", str(feed), "--format", "csv", "--no-process-images", "--json"], capsys)
    assert code == 0 and result["concurrency"]["mode"] == "auto" and result["concurrency"]["ceiling"] == 8
    code, result, _ = run_cli(["import", str(feed), "--format", "csv", "--concurrency", "3", "--force", "--json"],
                              capsys)
    assert code == 0 and result["concurrency"] == {**result["concurrency"], "mode": "fixed", "current": 3}

    # A job whose worker died: one stored with auto, one stored before auto existed (a number,
    # no concurrency_max). `wsync recover` runs both with what they were asked for.
    ledger = Ledger(tmp_path / "wsync.db")
    jobs = JobStore(ledger)
    ids = {}
    for label, options in (("auto", {"concurrency": "auto", "process_images": False}),
                           ("old", {"concurrency": 3, "process_images": False, "force": True})):
        ids[label] = jobs.create(kind="import", feed="test-feed", job_data={
            "source": str(feed), "format": "csv", "feed_name": "test-feed", "options": options})
        ledger.conn.execute("UPDATE background_jobs SET status='running', worker_pid=?, worker_host=?, "
                            "heartbeat_at='2000-01-01T00:00:00+00:00', started_at='2000-01-01T00:00:00+00:00' "
                            "WHERE id=?", (2 ** 22 + 12345, socket.gethostname(), ids[label]))
    ledger.conn.commit()
    code, doc, err = run_cli(["recover", "--foreground", "--json"], capsys)
    assert code == 0, err
    assert sorted(doc["recovered"]) == sorted(ids.values())
    for label, mode in (("auto", "auto"), ("old", "fixed")):
        code, status, _ = run_cli(["status", str(ids[label]), "--json"], capsys)
        job = status["job"]
        assert job["status"] == "completed" and job["total_errors"] == 0, job
        assert job["concurrency"]["mode"] == mode
    ledger.close()
