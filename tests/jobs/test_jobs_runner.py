import sys
import threading
import time
from datetime import datetime

import jobs_fake_engine
import pytest
from jobs_helpers import ran_batches, wait_for

from wsync.errors import ConfigError
from wsync.jobs import context as job_context
from wsync.jobs import run_job, schedule_import
from wsync.jobs.worker import work
from wsync.redact import register_secret


def _ctx(ledger_path):
    return job_context.JobContext(ledger_path=ledger_path)


def test_run_job_completes_and_records_the_result(ledger_path, store, tmp_path):
    record = tmp_path / "ran.txt"
    job_id = schedule_import(store.ledger, "acme", {"batches": 4, "record": str(record), "errors_at": [2]}, 40)
    final = run_job(ledger_path, job_id, settings=None, engine=jobs_fake_engine.run)
    assert final["status"] == "completed" and final["progress"] == 100
    assert final["total_processed"] == 40 and final["total_errors"] == 1
    assert final["result"] == {"batches": 4, "processed": 40}
    assert [b for _, b in ran_batches(record)] == [0, 1, 2, 3]
    assert store.errors(job_id)[0]["sku"] == "SKU-2"
    # Not claimable again: a second run is a no-op.
    assert run_job(ledger_path, job_id, settings=None, engine=jobs_fake_engine.run) is None


def test_job_level_failure_is_failed_with_a_redacted_message(ledger_path, store):
    register_secret("ck_abcdefghijklmnop")
    job_id = store.create(feed="a", job_data={"batches": 3, "fail_at": 1,
                                              "fail_message": "store refused key ck_abcdefghijklmnop"})
    final = run_job(ledger_path, job_id, None, engine=jobs_fake_engine.run)
    assert final["status"] == "failed" and final["completed_at"]
    assert "ck_abcdefghijklmnop" not in str(final)
    assert final["error_messages"][-1].startswith("store refused key")
    assert final["total_processed"] == 10  # the batch before the failure stays counted


def test_an_unexpected_exception_is_recorded_without_a_traceback(ledger_path, store):
    job_id = store.create(feed="a", job_data={"crash_at": 0, "fail_message": "division by zero"})
    final = run_job(ledger_path, job_id, None, engine=jobs_fake_engine.run)
    assert final["status"] == "failed"
    assert final["error_messages"] == ["internal error: RuntimeError: division by zero"]
    assert "Traceback" not in str(final)


def test_missing_engine_or_settings_fail_the_job_clearly(ledger_path, store, monkeypatch):
    import wsync.sync

    monkeypatch.setitem(sys.modules, "wsync.sync.engine", None)  # import of the engine fails
    monkeypatch.delattr(wsync.sync, "engine", raising=False)
    job_id = store.create(feed="a", job_data={})
    final = run_job(ledger_path, job_id, None)
    assert final["status"] == "failed" and "engine cannot be loaded" in final["error_messages"][0]
    bad_kind = store.create(kind="reindex", feed="a", job_data={})
    assert "unknown job kind 'reindex'" in run_job(ledger_path, bad_kind, None)["error_messages"][0]
    no_config = store.create(feed="a", job_data={})
    final = run_job(ledger_path, no_config, None, settings_error=ConfigError("no such file", path="wsync.toml"))
    assert final["status"] == "failed" and final["error_messages"] == ["wsync.toml: no such file"]


def test_cancel_stops_a_running_job_after_its_batch(ledger_path, store, tmp_path, monkeypatch):
    import wsync.jobs.runner as runner

    monkeypatch.setattr(runner, "HEARTBEAT_INTERVAL_S", 0.05)
    record = tmp_path / "ran.txt"
    job_id = store.create(feed="a", job_data={"batches": 200, "delay": 0.02, "record": str(record)})
    result = {}
    thread = threading.Thread(target=lambda: result.update(final=run_job(ledger_path, job_id, None,
                                                                          engine=jobs_fake_engine.run)))
    thread.start()
    wait_for(lambda: len(ran_batches(record)) >= 2)
    assert store.request_cancel(job_id)
    thread.join(10)
    final = result["final"]
    assert final["status"] == "cancelled"
    ran = len(ran_batches(record))
    assert 2 <= ran < 200 and len(final["checkpoint"]["done"]) == ran


def test_a_stopping_worker_leaves_the_job_to_be_resumed(ledger_path, store, tmp_path):
    record = tmp_path / "ran.txt"
    job_id = store.create(feed="a", job_data={"batches": 6, "record": str(record)})
    stop = threading.Event()
    calls = {"n": 0}

    def engine(job_id, **kw):
        # stop the worker (as SIGTERM does) once three batches are done
        def should_stop():
            calls["n"] += 1
            if calls["n"] > 3:
                stop.set()
            return kw["should_stop"]()
        return jobs_fake_engine.run(job_id, **{**kw, "should_stop": should_stop})

    report = work(_ctx(ledger_path), job_id=job_id, engine=engine, stop_event=stop)
    paused = report.jobs[0]
    assert paused["status"] == "processing_stuck" and "resumes from its checkpoint" in paused["error_messages"][-1]
    assert [b for _, b in ran_batches(record)] == [0, 1, 2]
    # The next worker picks it up and runs only the remaining batches.
    report = work(_ctx(ledger_path), engine=jobs_fake_engine.run)
    assert [j["status"] for j in report.jobs] == ["completed"]
    assert [b for _, b in ran_batches(record)] == [0, 1, 2, 3, 4, 5]
    assert store.get(job_id)["attempts"] == 2


def test_status_and_jobs_json_shapes(ledger_path, store, tmp_path, cli_json):
    job_id = store.create(feed="acme", job_data={"batches": 2, "errors_at": [1], "only": ["price"]},
                          estimated_total=20)
    code, doc = cli_json("worker", "--once", "--ledger", ledger_path)
    assert code == 1  # completed with an item error
    assert doc["ran"] == 1 and doc["jobs"][0]["id"] == job_id
    code, doc = cli_json("status", job_id, "--ledger", ledger_path)
    assert code == 0 and doc["success"] is True
    job = doc["job"]
    for key in ("id", "status", "progress", "total_processed", "total_created", "total_updated", "total_errors",
                "error_messages", "started_at", "completed_at", "estimated_total", "configuration", "errors",
                "kind", "feed"):
        assert key in job, key
    assert job["status"] == "completed" and job["progress"] == 100 and job["total_processed"] == 20
    assert job["configuration"] == {"batches": 2, "errors_at": [1], "only": ["price"]}
    assert job["errors"] == [{"sku": "SKU-1", "stage": "product", "code": "invalid_price",
                              "message": "price is not a number in batch 1",
                              "created_at": job["errors"][0]["created_at"]}]
    assert datetime.fromisoformat(job["started_at"]).utcoffset() is not None

    store.create(feed="other", job_data={})
    code, doc = cli_json("jobs", "--ledger", ledger_path)
    assert code == 0 and doc["success"] is True and len(doc["jobs"]) == 2
    done = next(j for j in doc["jobs"] if j["id"] == job_id)
    assert done["duration"] is not None and done["duration"] >= 0
    assert "rate_per_min" in done
    stats = doc["stats"]
    assert {k: stats[k] for k in ("total_jobs", "scheduled", "running", "completed", "failed",
                                  "total_products_processed", "total_products_created",
                                  "total_products_updated")} == {
        "total_jobs": 2, "scheduled": 1, "running": 0, "completed": 1, "failed": 0,
        "total_products_processed": 20, "total_products_created": 10, "total_products_updated": 10}
    code, doc = cli_json("jobs", "--status", "scheduled", "--limit", "5", "--ledger", ledger_path)
    assert [j["feed"] for j in doc["jobs"]] == ["other"]


def test_cli_errors_are_clear_and_exit_2(ledger_path, tmp_path, cli, cli_json):
    code, doc = cli_json("status", 99, "--ledger", ledger_path)
    assert code == 2 and doc["success"] is False and "job 99 does not exist" in doc["message"]
    code, doc = cli_json("status", 1, "--ledger", tmp_path / "nowhere.db")
    assert code == 2 and "no ledger at" in doc["message"]
    assert not (tmp_path / "nowhere.db").exists()
    code, doc = cli_json("recover", "--older-than", "soon", "--ledger", ledger_path)
    assert code == 2 and "--older-than" in doc["message"]
    code, doc = cli_json("jobs", "--status", "done", "--ledger", ledger_path)
    assert code == 2 and "unknown state" in doc["message"]
    code, _out, err = cli("worker", "--once", "--loop", "--ledger", ledger_path)
    assert code == 2 and "exclude each other" in err


def test_cancel_command(ledger_path, store, cli_json):
    waiting = store.create(feed="a", job_data={})
    code, doc = cli_json("jobs", "cancel", waiting, "--ledger", ledger_path)
    assert code == 0 and doc == {"success": True, "message": f"job {waiting} cancelled", "job_id": waiting,
                                 "status": "cancelled", "cancel_requested": True}
    code, doc = cli_json("jobs", "cancel", waiting, "--ledger", ledger_path)
    assert code == 2 and "already ended (cancelled)" in doc["message"]
    running = store.create(feed="b", job_data={})
    store.claim(running, worker_pid=1, worker_host="h")
    code, doc = cli_json("jobs", "cancel", running, "--ledger", ledger_path)
    assert code == 0 and doc["status"] == "running" and "after its current batch" in doc["message"]


def test_status_follow_exits_by_outcome(ledger_path, store, cli, monkeypatch):
    import wsync.jobs.render as render

    monkeypatch.setattr(render, "FOLLOW_INTERVAL_S", 0.01)
    clean = store.create(feed="a", job_data={"batches": 2})
    dirty = store.create(feed="a", job_data={"batches": 2, "errors_at": [0]})

    def run_soon():
        time.sleep(0.05)
        work(_ctx(ledger_path), engine=jobs_fake_engine.run)

    thread = threading.Thread(target=run_soon)
    thread.start()
    code, out, _err = cli("status", clean, "--follow", "--ledger", ledger_path)
    thread.join()
    assert code == 0 and "completed" in out
    code, out, _err = cli("status", dirty, "--follow", "--json", "--ledger", ledger_path)
    assert code == 1 and '"total_errors": 1' in out


def test_human_output_renders(ledger_path, store, cli):
    job_id = store.create(feed="acme", job_data={"batches": 1, "errors_at": [0]})
    work(_ctx(ledger_path), engine=jobs_fake_engine.run)
    code, out, _ = cli("status", job_id, "--ledger", ledger_path)
    assert code == 0 and f"job {job_id}" in out and "SKU-0" in out
    code, out, _ = cli("jobs", "--ledger", ledger_path)
    assert code == 0 and "acme" in out and "1 jobs" in out


def test_interrupts_cancel_a_foreground_job_but_pause_a_stopping_worker(ledger_path, store):
    def interrupted(job_id, **kw):
        raise KeyboardInterrupt

    foreground = store.create(feed="a", job_data={})
    with pytest.raises(KeyboardInterrupt):
        run_job(ledger_path, foreground, None, engine=interrupted)
    assert store.get(foreground)["status"] == "cancelled"
    worker_job = store.create(feed="a", job_data={})
    stopping = threading.Event()
    stopping.set()
    with pytest.raises(KeyboardInterrupt):
        run_job(ledger_path, worker_job, None, engine=interrupted, stop_event=stopping)
    assert store.get(worker_job)["status"] == "processing_stuck"
