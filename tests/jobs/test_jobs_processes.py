"""Workers as real processes: kill -9 and recover, cron pick-up, two workers racing, a reader
polling during a job, cancel, SIGTERM, and the detached start."""

import contextlib
import json
import os
import signal
import stat
import threading
from collections import Counter

from jobs_helpers import ran_batches, spawn, wait_for

from wsync.jobs import schedule_import, start_detached_worker
from wsync.jobs.report import list_doc, status_doc
from wsync.ledger import Ledger
from wsync.ledger.jobs import TERMINAL, JobStore


def _finish(proc, timeout=20):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def test_kill_9_mid_job_then_recover_resumes_from_the_checkpoint(ledger_path, store, tmp_path):
    record = tmp_path / "ran.txt"
    job_id = store.create(feed="acme", job_data={"batches": 30, "delay": 0.03, "record": str(record)})
    worker = spawn("worker", "--once", "--ledger", ledger_path)
    wait_for(lambda: len(ran_batches(record)) >= 4)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    killed = store.get(job_id)
    assert killed["status"] == "running" and killed["worker_pid"] == worker.pid
    finished_before = set(killed["checkpoint"]["done"])
    assert finished_before
    # status shows the job as running, and that nobody runs it any more
    assert status_doc(store, job_id)["job"]["worker_alive"] is False

    code, out, err = _finish(spawn("recover", "--foreground", "--json", "--ledger", ledger_path))
    doc = json.loads(out)
    assert code == 0, err
    assert doc["success"] is True and doc["message"] == "Stuck jobs check triggered" and doc["recovered"] == [job_id]
    final = store.get(job_id)
    assert final["status"] == "completed" and final["attempts"] == 2 and final["total_processed"] == 300
    assert any("no longer running" in m for m in final["error_messages"])
    runs = ran_batches(record)
    resumed = [batch for pid, batch in runs if pid != worker.pid]
    # The resumed run did exactly what the checkpoint did not hold: nothing finished ran twice.
    assert sorted(resumed) == sorted(set(range(30)) - finished_before)
    assert {batch for pid, batch in runs if pid == worker.pid} >= finished_before


def test_a_job_whose_worker_never_started_is_run_by_worker_once(ledger_path, tmp_path):
    ledger = Ledger(ledger_path)
    job_id = schedule_import(ledger, "acme", {"batches": 3}, estimated_total=30)
    code, out, err = _finish(spawn("worker", "--once", "--json", "--ledger", ledger_path))
    doc = json.loads(out)
    assert code == 0, err
    assert doc["success"] is True and doc["ran"] == 1 and doc["jobs"][0]["id"] == job_id
    assert JobStore(ledger).get(job_id)["status"] == "completed"
    log = tmp_path / "wsync-worker.log"
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert f"job {job_id} completed" in log.read_text()
    # Nothing left: the next cron run has nothing to do.
    code, out, _ = _finish(spawn("worker", "--once", "--json", "--ledger", ledger_path))
    assert code == 0 and json.loads(out)["ran"] == 0


def test_two_workers_started_together_run_each_job_once(ledger_path, store, tmp_path):
    records = {store.create(feed=f"f{i}", job_data={"batches": 4, "delay": 0.02,
                                                     "record": str(tmp_path / f"ran{i}.txt")}): tmp_path / f"ran{i}.txt"
               for i in range(4)}
    workers = [spawn("worker", "--once", "--json", "--ledger", ledger_path) for _ in range(2)]
    results = [_finish(w) for w in workers]
    assert all(code == 0 for code, _, _ in results), results
    ran_by_workers = sorted(j["id"] for _, out, _ in results for j in json.loads(out)["jobs"])
    assert ran_by_workers == sorted(records)
    for job_id, record in records.items():
        job = store.get(job_id)
        assert job["status"] == "completed" and job["attempts"] == 1
        assert Counter(b for _, b in ran_batches(record)) == Counter(range(4))
        assert len({pid for pid, _ in ran_batches(record)}) == 1


def test_a_reader_polling_20_times_a_second_never_sees_a_locked_database(ledger_path, store, tmp_path):
    job_id = store.create(feed="acme", job_data={"batches": 60, "delay": 0.005, "errors_at": list(range(0, 60, 3))})
    failures, polls = [], []
    done = threading.Event()

    def reader():
        ledger = Ledger(ledger_path)
        jobs = JobStore(ledger)
        try:
            while not done.is_set():
                try:
                    doc = status_doc(jobs, job_id)
                    list_doc(jobs)
                    polls.append(doc["job"]["status"])
                    if doc["job"]["status"] in TERMINAL:
                        return
                except Exception as exc:  # any error at all fails the test
                    failures.append(repr(exc))
                done.wait(0.05)
        finally:
            ledger.close()

    thread = threading.Thread(target=reader)
    thread.start()
    code, _, err = _finish(spawn("worker", "--once", "--ledger", ledger_path))
    thread.join(10)
    done.set()
    assert failures == []
    assert code == 1, err  # it completed, with item errors
    assert store.get(job_id)["status"] == "completed" and len(store.errors(job_id)) == 20
    assert len(polls) >= 2


def test_cancel_stops_a_worker_process_after_its_batch(ledger_path, store, tmp_path, cli_json):
    record = tmp_path / "ran.txt"
    job_id = store.create(feed="acme", job_data={"batches": 300, "delay": 0.02, "record": str(record)})
    worker = spawn("worker", "--once", "--json", "--ledger", ledger_path)
    wait_for(lambda: len(ran_batches(record)) >= 2)
    code, doc = cli_json("jobs", "cancel", job_id, "--ledger", ledger_path)
    assert code == 0 and doc["status"] == "running"
    code, out, _ = _finish(worker)
    assert code == 1 and json.loads(out)["jobs"][0]["status"] == "cancelled"
    job = store.get(job_id)
    assert job["status"] == "cancelled" and len(job["checkpoint"]["done"]) == len(ran_batches(record)) < 300


def test_sigterm_pauses_the_job_and_the_next_worker_resumes_it(ledger_path, store, tmp_path):
    record = tmp_path / "ran.txt"
    job_id = store.create(feed="acme", job_data={"batches": 25, "delay": 0.02, "record": str(record)})
    worker = spawn("worker", "--loop", "--ledger", ledger_path)
    wait_for(lambda: len(ran_batches(record)) >= 3)
    worker.terminate()
    _finish(worker)
    paused = store.get(job_id)
    assert paused["status"] == "processing_stuck"
    code, _out, err = _finish(spawn("worker", "--once", "--ledger", ledger_path))
    assert code == 0, err
    assert store.get(job_id)["status"] == "completed"
    assert Counter(b for _, b in ran_batches(record)) == Counter(range(25))


def test_detached_worker_runs_in_its_own_session_and_logs_privately(ledger_path, store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # An unknown kind fails in the real worker whatever the engine can do: a deterministic end.
    job_id = store.create(kind="reindex", feed="acme", job_data={})
    pid = start_detached_worker(None, ledger_path, job_id)
    with contextlib.suppress(ProcessLookupError):  # already finished and reaped
        assert os.getsid(pid) == pid
    wait_for(lambda: store.get(job_id)["status"] in TERMINAL, timeout=20)
    job = store.get(job_id)
    assert job["status"] == "failed" and job["worker_pid"] == pid
    assert "unknown job kind 'reindex'" in job["error_messages"][-1]
    log = tmp_path / "wsync-worker.log"
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600 and f"job {job_id}" in log.read_text()

    # recover (detached by default) starts one worker per stuck job and says which.
    stuck = store.create(kind="reindex", feed="acme", job_data={})
    store.claim(stuck, worker_pid=2**22 + 12345, worker_host=job["worker_host"])
    code, out, _err = _finish(spawn("recover", "--json", "--ledger", ledger_path))
    doc = json.loads(out)
    assert code == 0 and doc["recovered"] == [stuck] and set(doc["workers"]) == {str(stuck)}
    wait_for(lambda: store.get(stuck)["status"] in TERMINAL, timeout=20)
    assert store.get(stuck)["worker_pid"] == doc["workers"][str(stuck)]
