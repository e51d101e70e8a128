import os
import sqlite3
import stat

import pytest

from wsync.errors import ConfigError
from wsync.ledger import Ledger
from wsync.ledger.db import SCHEMA_VERSION


def test_new_ledger_is_private_wal_and_migrated(tmp_path):
    path = tmp_path / "sub" / "wsync.db"
    ledger = Ledger(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ledger.schema_version == SCHEMA_VERSION
    assert ledger.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"background_jobs", "job_errors", "items", "images", "terms", "feed_state"} <= set(ledger.db.table_names())
    ledger.close()
    # Re-opening does not migrate again or lose data.
    again = Ledger(path)
    again.db["terms"].insert({"kind": "tag", "key": "x", "store_id": 3})
    again.close()
    assert Ledger(path).db["terms"].count == 1


def ledger_at_version(path, version: int) -> sqlite3.Connection:
    """A ledger file as wsync left it at schema `version`, open for a test to fill."""
    from wsync.ledger.db import MIGRATIONS

    conn = sqlite3.connect(path, isolation_level=None)
    for number, migration in enumerate(MIGRATIONS[:version]):
        migration(conn)
        conn.execute(f"PRAGMA user_version={number + 1}")
    return conn


def test_ledger_from_newer_wsync_is_refused(tmp_path):
    path = tmp_path / "wsync.db"
    Ledger(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(ConfigError, match="newer than this wsync"):
        Ledger(path)


def test_a_ledger_of_the_previous_schema_gains_the_pending_writes_and_keeps_its_jobs(tmp_path):
    path = tmp_path / "wsync.db"
    conn = ledger_at_version(path, 2)
    conn.execute("INSERT INTO background_jobs (feed, created_at) VALUES ('f', '2026-01-01T00:00:00+00:00')")
    conn.close()
    ledger = Ledger(path)
    assert ledger.schema_version == SCHEMA_VERSION == 7
    assert "pending_writes" in ledger.db.table_names()
    assert ledger.db["background_jobs"].count == 1
    ledger.close()


def test_a_version_4_ledger_gains_the_job_changes_and_keeps_its_items_and_jobs(tmp_path):
    path = tmp_path / "wsync.db"
    conn = ledger_at_version(path, 4)
    conn.execute("INSERT INTO background_jobs (feed, created_at) VALUES ('f', '2026-01-01T00:00:00+00:00')")
    conn.execute("INSERT INTO items (feed, kind, key, sku, store_id) VALUES ('f', 'product', 'A', 'A', 7)")
    conn.close()
    ledger = Ledger(path)
    assert ledger.schema_version == 7
    assert "items_parent" in {i.name for i in ledger.db["items"].indexes}
    assert {"job_changes", "ledger_meta"} <= set(ledger.db.table_names())
    job = ledger.conn.execute("SELECT * FROM background_jobs").fetchone()
    assert job["feed"] == "f" and job["undone_by"] is None
    assert ledger.db["items"].count == 1
    ledger.close()


def test_a_version_6_ledger_keeps_its_feed_state_and_does_not_take_it_as_unchanged(tmp_path):
    from wsync.ledger.items import FeedStateStore

    path = tmp_path / "wsync.db"
    conn = ledger_at_version(path, 6)
    conn.execute("INSERT INTO feed_state (feed, etag, last_count) VALUES ('f', '\"v1\"', 40)")
    conn.close()
    ledger = Ledger(path)
    state = FeedStateStore(ledger).get("f")
    assert state is not None and state["last_count"] == 40 and state["etag"] == '"v1"'
    # No fingerprint: the next import reads the feed whole, whatever the server's validators say.
    assert state["fingerprint"] is None and state["digest"] is None and state["last_counts"] is None
    ledger.close()


def test_backup_is_a_consistent_private_copy_taken_while_another_connection_writes(tmp_path):
    import os
    import threading

    from wsync.ledger.jobs import JobStore

    ledger = Ledger(tmp_path / "wsync.db")
    jobs = JobStore(ledger)
    for _ in range(50):
        jobs.create(feed="f", job_data={"pad": "x" * 2000})
    stop = threading.Event()

    def writer():
        other = Ledger(tmp_path / "wsync.db")
        store = JobStore(other)
        while not stop.is_set():
            store.create(feed="g", job_data={"pad": "y" * 2000})
        other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        pages = ledger.backup(tmp_path / "copy.db")
    finally:
        stop.set()
        thread.join()
    assert pages > 0
    assert os.stat(tmp_path / "copy.db").st_mode & 0o777 == 0o600
    copy = Ledger(tmp_path / "copy.db")
    assert copy.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.conn.execute("SELECT COUNT(*) FROM background_jobs WHERE feed='f'").fetchone()[0] == 50
    with pytest.raises(ConfigError):
        ledger.backup(tmp_path / "wsync.db")
