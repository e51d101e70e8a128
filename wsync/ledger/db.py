"""The SQLite ledger: one file that remembers what wsync did to a store.

WAL mode and a busy timeout let a monitoring loop read while a worker writes without ever
seeing "database is locked". The file is created 0600 because it names the store and holds
job configurations. Schema changes are numbered migrations tracked in PRAGMA user_version;
a ledger written by a newer wsync is refused rather than damaged.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from wsync.errors import ConfigError

if TYPE_CHECKING:
    import sqlite_utils

BUSY_TIMEOUT_MS = 30_000


def now_iso() -> str:
    """ISO 8601 with offset, second precision: what every JSON output shows."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it would COMMIT the migration's transaction half way.
    for statement in script.split(";\n"):
        if statement.strip():
            conn.execute(statement)


def _v1(conn: sqlite3.Connection) -> None:
    _run_script(
        conn,
        """
        CREATE TABLE background_jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL DEFAULT 'import',          -- import | images
            feed TEXT,
            job_data TEXT NOT NULL DEFAULT '{}',           -- the job's configuration (JSON, no secrets)
            status TEXT NOT NULL DEFAULT 'scheduled',      -- scheduled|running|processing_stuck|
                                                           --   completed|failed|cancelled
            progress REAL NOT NULL DEFAULT 0,              -- 0..100
            estimated_total INTEGER,
            total_processed INTEGER NOT NULL DEFAULT 0,
            total_created INTEGER NOT NULL DEFAULT 0,
            total_updated INTEGER NOT NULL DEFAULT 0,
            total_unchanged INTEGER NOT NULL DEFAULT 0,
            total_errors INTEGER NOT NULL DEFAULT 0,
            images_scheduled INTEGER NOT NULL DEFAULT 0,
            error_messages TEXT NOT NULL DEFAULT '[]',     -- JSON list of job-level messages
            result TEXT,                                   -- JSON: the final result document
            checkpoint TEXT,                               -- JSON: what is finished, for resume
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            worker_pid INTEGER,
            worker_host TEXT,
            heartbeat_at TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            started_at TEXT,
            completed_at TEXT,
            updated_at TEXT
        );
        CREATE INDEX background_jobs_status ON background_jobs(status);

        CREATE TABLE job_errors (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id INTEGER NOT NULL REFERENCES background_jobs(id),
            sku TEXT,
            stage TEXT NOT NULL,                           -- feed | product | variation | image | taxonomy | job
            code TEXT,
            message TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX job_errors_job ON job_errors(job_id);

        -- feed key -> store id, and what was last pushed (for field-level diffs)
        CREATE TABLE items (
            feed TEXT NOT NULL,
            kind TEXT NOT NULL,                            -- product | variation
            key TEXT NOT NULL,
            sku TEXT,
            store_id INTEGER,
            parent_key TEXT,
            parent_id INTEGER,
            pushed TEXT,                                   -- JSON of the last pushed payload fields
            hash TEXT,                                     -- content hash of `pushed`
            images TEXT,                                   -- JSON: attachment ids last attached, in order
            images_hash TEXT,                              -- hash of the wanted image URLs last attached
            missing_action TEXT,                           -- what --missing last did to it, if anything
            last_job_id INTEGER,                           -- the job that last wrote it, and what it did:
            last_action TEXT,                              -- lets a resumed job count its own earlier work
            updated_at TEXT,
            PRIMARY KEY (feed, kind, key)
        );
        CREATE INDEX items_sku ON items(sku);
        CREATE INDEX items_store_id ON items(store_id);

        -- normalised source URL -> attachment on the store (dedupe: never download twice)
        CREATE TABLE images (
            url TEXT PRIMARY KEY,
            attachment_id INTEGER NOT NULL,
            store_src TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE image_failures (
            url TEXT PRIMARY KEY,
            code TEXT,
            message TEXT,
            attempts INTEGER NOT NULL DEFAULT 1,
            failed_at TEXT NOT NULL
        );

        -- categories, tags, global attributes and their terms, by normalised name/path
        CREATE TABLE terms (
            kind TEXT NOT NULL,                            -- category | tag | attribute | attribute_term
            key TEXT NOT NULL,
            store_id INTEGER NOT NULL,
            PRIMARY KEY (kind, key)
        );

        -- conditional fetch and the "feed shrank" guard
        CREATE TABLE feed_state (
            feed TEXT PRIMARY KEY,
            source TEXT,
            etag TEXT,
            last_modified TEXT,
            last_count INTEGER,
            last_success_at TEXT
        );
        """
    )


def _v2(conn: sqlite3.Connection) -> None:
    # A job is given up after MAX_ATTEMPTS attempts in a row that made no progress, not after
    # MAX_ATTEMPTS attempts in all: a long job whose workers are killed (deploys, OOM killer,
    # reboots) but which advances every time must be allowed to finish.
    #   claim_mark:       total_processed and checkpoint as they were when the last attempt began
    #   progress_attempt: the last attempt number that moved them
    conn.execute("ALTER TABLE background_jobs ADD COLUMN claim_mark TEXT")
    conn.execute("ALTER TABLE background_jobs ADD COLUMN progress_attempt INTEGER NOT NULL DEFAULT 0")


def _v3(conn: sqlite3.Connection) -> None:
    # Writes whose outcome is not known yet. A row is written (and committed) before a batch that
    # could make something twice is sent, and removed once the store has answered it; a row left
    # behind by a dead worker names a request that may still be running on the store, and the
    # next worker settles it (waits, looks up what landed, adopts it) before planning creates.
    _run_script(
        conn,
        """
        CREATE TABLE pending_writes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            job_id INTEGER,
            feed TEXT NOT NULL,
            kind TEXT NOT NULL,                            -- product | variation | image
            endpoint TEXT NOT NULL,                        -- e.g. products/batch, products/12/variations/batch
            parent_id INTEGER,                             -- variations: the parent product
            items TEXT NOT NULL,                           -- JSON list: what could land twice (key, sku, urls)
            worker_pid INTEGER,
            worker_host TEXT,
            sent_at TEXT NOT NULL,                         -- ISO, for people
            sent_epoch REAL NOT NULL                       -- seconds since the epoch, for the settle deadline
        );
        CREATE INDEX pending_writes_feed ON pending_writes(feed);
        CREATE INDEX pending_writes_job ON pending_writes(job_id);
        """
    )


def _v4(conn: sqlite3.Connection) -> None:
    # An image failure is permanent (the URL is dead, not an image, refused by the store: it waits
    # for its back-off or --retry-failed-images) or transient (the store or the server had a
    # moment: it is tried again on the next run). Failures recorded before were all parked.
    conn.execute("ALTER TABLE image_failures ADD COLUMN permanent INTEGER NOT NULL DEFAULT 1")
    # The source URLs an item wants, in order: what `wsync images status` compares the store with.
    conn.execute("ALTER TABLE items ADD COLUMN image_urls TEXT")


def _v5(conn: sqlite3.Connection) -> None:
    # What each job changed, so it can be undone: for an item it updated, the fields it changed as
    # they were before (`before`) and as it wrote them (`after`: a store value that is neither has
    # changed since, a conflict); what it created (products, variations, terms, attachments).
    # `undone_by` marks a change an undo has dealt with: a resumed undo never restores it twice.
    _run_script(
        conn,
        """
        CREATE TABLE job_changes (
            job_id INTEGER NOT NULL,
            kind TEXT NOT NULL,                            -- product | variation | category | attribute |
                                                           --   shipping_class | attachment
            store_id INTEGER NOT NULL,
            action TEXT NOT NULL,                          -- created | updated
            parent_id INTEGER,                             -- variations: the parent product
            feed TEXT,
            key TEXT,                                      -- the feed key (items), the URL (attachments),
                                                           --   the name (terms)
            sku TEXT,
            before TEXT,                                   -- JSON: the changed fields before the job (updated)
            after TEXT,                                    -- JSON: the same fields as the job wrote them
            undone_by INTEGER,                             -- the undo job that restored or deleted it
            outcome TEXT,                                  -- what that undo did: restored | deleted | trashed |
                                                           --   conflict | kept | gone
            created_at TEXT NOT NULL,
            PRIMARY KEY (job_id, kind, store_id)
        );
        CREATE INDEX job_changes_store ON job_changes(kind, store_id);
        ALTER TABLE background_jobs ADD COLUMN undone_by INTEGER;
        CREATE TABLE ledger_meta (
            name TEXT PRIMARY KEY,
            value TEXT
        );
        """
    )


def _v6(conn: sqlite3.Connection) -> None:
    # A job reads the ledger a window of products at a time, with the variations filed under them.
    conn.execute("CREATE INDEX items_parent ON items(feed, parent_key)")


def _v7(conn: sqlite3.Connection) -> None:
    # "Nothing to do" without reading the feed: the digest of the feed file as the last complete
    # run read it, and the fingerprint of the settings it ran with. Both are written only by a run
    # that left nothing undone, so a re-run after a failure always reads and plans everything.
    conn.execute("ALTER TABLE feed_state ADD COLUMN digest TEXT")
    conn.execute("ALTER TABLE feed_state ADD COLUMN fingerprint TEXT")
    # JSON: the products and variations that run wrote or found unchanged ({"unchanged": N,
    # "variations_unchanged": M}), which a run that finds the feed unchanged reports as unchanged.
    conn.execute("ALTER TABLE feed_state ADD COLUMN last_counts TEXT")


# Append only: a migration, once released, never changes.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7]
SCHEMA_VERSION = len(MIGRATIONS)


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite opens it; SQLite gives -wal/-shm the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)


class Ledger:
    """A handle on the ledger file. One sqlite3 connection per thread, all in WAL mode."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._local = threading.local()
        if str(self.path) != ":memory:" and not self.path.exists():
            _create_private(self.path)
        self._migrate()

    # -- connections -------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"cannot open the ledger: {exc}", path=str(self.path),
                              hint="point `ledger` in wsync.toml at a writable file") from exc
        conn.row_factory = sqlite3.Row
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            import sqlite_utils  # only for inspection (`ledger` commands, tests): a job starts without it

            db = sqlite_utils.Database(self.conn)
            self._local.db = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock up front, so a claim or a checkpoint is atomic."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            self._local.db = None

    # -- schema ------------------------------------------------------------------------
    def _migrate(self) -> None:
        conn = self.conn
        with self.transaction():
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"the ledger has schema version {version}, newer than this wsync knows ({SCHEMA_VERSION})",
                    path=str(self.path), hint="upgrade wsync, or use another ledger file")
            for number in range(version, SCHEMA_VERSION):
                MIGRATIONS[number](conn)
                conn.execute(f"PRAGMA user_version={number + 1}")

    def backup(self, target: str | os.PathLike[str]) -> int:
        """A consistent copy of the live ledger in `target` (0600), through SQLite's online backup
        API: safe while a worker writes (the copy is one committed state). Returns its page count."""
        target = Path(target)
        if target.resolve() == self.path.resolve():
            raise ConfigError("the backup would overwrite the ledger itself", path=str(target))
        tmp = target.with_name(target.name + ".part")
        if tmp.exists():
            tmp.unlink()
        _create_private(tmp)
        dest = sqlite3.connect(str(tmp))
        try:
            self.conn.backup(dest, pages=256, sleep=0.005)
            pages = int(dest.execute("PRAGMA page_count").fetchone()[0])
            ok = dest.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dest.close()
        if ok != "ok":
            tmp.unlink()
            raise ConfigError(f"the backup failed its integrity check: {ok}", path=str(target))
        os.replace(tmp, target)
        return pages

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])
