"""A big feed file's two passes on two cores: a helper process takes every other block of the work.

Mapping rows (prices, slugs, category paths, rules) into the spill, and building products from
the spilled rows, are most of a big feed's load, and each is one record (one group) at a time
with nothing carried from one to the next, so two processes can share them.

Pass 1: both read the whole file (parsing is a small part of the cost, and every record's place,
`line N`, comes out the same); the helper maps the odd blocks of `rows_pass.BLOCK` records into
a spill file of its own, this process the even ones into the job's spill, and the helper's rows
are then merged in. Each record's rows are numbered from its index in the feed
(`SpillAssembler.place`), so the merged file holds the rows in feed order. Between the passes
this process alone finds duplicates, parents and orphans (SQL over the merged file). Pass 2:
each process builds the groups whose first record is in one of its blocks, reading the spill
(the helper read-only) and writing products to a file of its own; the helper's products are
merged in, numbered by their places. Errors carry their record's or group's place and are merged
in that order, so the result is what one process makes (tests compare the two, errors' order
included).

A file replaced or rewritten while the two read it (a wholesaler's upload landing mid-job) is
refused rather than read half old, half new: both compare its identity (inode, size,
modification time) at the end with what it was when the load began.

Only where it pays and cannot change a result: a local file (a download is one) of at least
`MIN_BYTES`, spilled, no join, not a partial feed, and a second CPU to run on. A helper that fails
or dies costs only time: this process does its share afterwards.
"""

from __future__ import annotations

import gc
import heapq
import logging
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsync.catalogue import RecordError
from wsync.errors import FeedRefused
from wsync.feeds import rows_pass
from wsync.feeds.rows_pass import Share
from wsync.mapping.spill import Built, build_products, products_file
from wsync.redact import redact

if TYPE_CHECKING:
    from wsync.feeds.spec import FeedSpec

log = logging.getLogger(__name__)

# Below this a file is read in one process: starting the helper (a fresh interpreter importing
# wsync) costs about half a second, what mapping ~5 MB of CSV takes.
MIN_BYTES = 8 * 1024 * 1024
# WSYNC_FEED_PROCESSES=1 keeps the whole load in one process (a host that counts processes, a
# comparison); unset or 2, a second process is used where the rules above allow.
ENV = "WSYNC_FEED_PROCESSES"


def wanted(path: Path | None, *, spilled: bool, joined: bool, partial: bool) -> bool:
    if path is None or not spilled or joined or partial or os.environ.get(ENV, "2").strip() == "1":
        return False
    try:
        if path.stat().st_size < MIN_BYTES:
            return False
    except OSError:
        return False
    return two_cpus()


def two_cpus() -> bool:
    """Whether this process may run on a second CPU (its affinity, where the system tells it)."""
    return len(os.sched_getaffinity(0)) >= 2 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) >= 2


def identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns


def check_unchanged(path: Path, label: str, seen: tuple[int, int, int]) -> None:
    """Refuse a file that is no longer the one the load began with."""
    try:
        now = identity(path)
    except OSError:
        now = (-1, -1, -1)
    if now != seen:
        raise FeedRefused(f"{label}: the file changed while it was being read (replaced or rewritten)",
                          hint="run again once the new file is complete; upload to a temporary name and rename")


def merged(*shares: Share) -> tuple[list[RecordError], list[RecordError]]:
    """The shares' row errors and keyless-row errors, each in the feed's order."""
    def by_index(lists: Iterable[list[tuple[int, RecordError]]]) -> list[RecordError]:
        return [e for _, e in heapq.merge(*lists, key=lambda pair: pair[0])]

    return by_index(s.row_errors for s in shares), by_index(s.keyless for s in shares)


class Helper:
    """The helper process: started before this process reads the feed, its share collected after."""

    def __init__(self, spec: FeedSpec, path: Path, fmt: str, spill: Path):
        self.spill = spill
        self.block = rows_pass.BLOCK
        self.file = identity(path)
        ctx = multiprocessing.get_context("spawn")  # not fork: this process may run threads
        self._conn, child_end = ctx.Pipe()
        self._proc = ctx.Process(target=_helper_main, args=(spec, path, fmt, spill, self.block, self.file, child_end),
                                 daemon=True, name="wsync-feed-helper")
        self._proc.start()
        child_end.close()

    def _answer(self, what: str) -> tuple[str, Any]:
        try:
            status, payload = self._conn.recv()
        except (EOFError, OSError):
            self._proc.join(timeout=30)
            log.warning("the feed's helper process exited (%s) while %s; doing its share in this process",
                        self._proc.exitcode, what)
            return "died", None
        if status == "error":
            log.warning("the feed's helper process failed while %s (%s); doing its share in this process",
                        what, redact(payload))
        return status, payload

    def collect(self) -> Share | None:
        """The helper's share of pass 1 (its rows are in `self.spill`), or None if it failed: then
        the caller maps that share itself. A feed the helper refused is refused here too."""
        status, payload = self._answer("mapping its share")
        if status == "refused":
            message, hint = payload
            raise FeedRefused(message, hint=hint)
        if status != "ok":
            self.stop()
            return None
        share: Share = payload
        return share

    # -- pass 2 (wsync.mapping.spill.BuildHelper) ---------------------------------------
    def build(self, rows: Path, blobs: Path | None, holders: dict[str, str], out: Path) -> None:
        if self._proc.is_alive():
            self._conn.send(("build", (rows, blobs, holders, out)))

    def built(self) -> Built | None:
        status, payload = self._answer("building its share")
        if status != "built":
            self.stop()
            return None
        done: Built = payload
        return done

    def stop(self, now: bool = False) -> None:
        """Ask the helper to end (it is waiting for a command once its work is sent); `now`, as
        when this process's own load failed or was interrupted: ended at once."""
        if self._proc.is_alive() and not now:
            try:
                self._conn.send(("quit", None))
                self._proc.join(timeout=5)
            except OSError:
                pass
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=5)
        self._conn.close()


def _helper_main(spec: FeedSpec, path: Path, fmt: str, spill: Path, block: int, file: tuple[int, int, int],
                 conn: Connection) -> None:
    # The parent reports the feed's warnings; the helper's copies of them would only be noise.
    logging.disable(logging.CRITICAL)
    # Ctrl-C reaches the whole process group: the parent decides, and ends this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.set_threshold(200_000, 50, 1000)
    try:
        try:
            check_unchanged(path, spec.label, file)
            share = map_share(spec, path, fmt, spill, Share(mine=1, block=block))
            check_unchanged(path, spec.label, file)
        except FeedRefused as exc:
            conn.send(("refused", (exc.message, exc.hint)))
            return
        except Exception as exc:  # reported to the parent, which then maps this share itself
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            return
        conn.send(("ok", share))
        command, payload = conn.recv()
        if command != "build":
            return
        rows, blobs, holders, out = payload
        report(conn, "built", lambda: build_share(rows, blobs, holders, out, block))
    except (EOFError, OSError):
        return  # the parent has gone or stopped us: nothing to report to
    finally:
        conn.close()


def report(conn: Connection, status: str, work: Callable[[], Any]) -> bool:
    """A helper's share done and sent to its parent as (status, result); or ("error", what went
    wrong), and the parent does that share itself. False when the share failed."""
    try:
        result = work()
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return False
    conn.send((status, result))
    return True


def build_share(rows: Path, blobs: Path | None, holders: dict[str, str], out: Path, block: int) -> Built:
    """Pass 2 for the odd blocks of groups: the spill's rows read (never written: the parent reads
    them at the same time), and the odd blocks' blobs from `blobs` (this process's pass-1 file)
    when given; the products written to a file of their own."""
    reader = sqlite3.connect(f"{rows.resolve().as_uri()}?mode=ro", uri=True)
    reader.execute("PRAGMA cache_size=-32768")
    if blobs is not None:
        reader.execute("ATTACH DATABASE ? AS theirs", (f"{blobs.resolve().as_uri()}?mode=ro",))
    writer = products_file(out)
    try:
        return build_products(reader, writer, holders, (1, block), block if blobs is not None else None)
    finally:
        reader.close()
        writer.close()


def map_share(spec: FeedSpec, path: Path, fmt: str, spill: Path, share: Share) -> Share:
    """Read the whole file, map the records `share` takes into a spill file at `spill` (pass 1 only)."""
    from wsync.feeds.records import open_records
    from wsync.mapping.spill import SpillAssembler

    records, header = open_records(spec, path, fmt, [])
    map_one, _, _ = rows_pass.map_one_for(spec, header, None)
    assembler = SpillAssembler(spill)
    try:
        rows_pass.feed_rows(records, map_one, spec, assembler, [], share=share)
        assembler.flush()
    finally:
        assembler.close()
    return share


def start(spec: FeedSpec, path: Path, fmt: str, spill_dir: Path) -> Helper | None:
    try:
        return Helper(spec, path, fmt, spill_dir / "helper.sqlite")
    except (OSError, RuntimeError) as exc:  # no process to be had: one core's worth of work, as before
        log.warning("could not start the feed's helper process (%s); reading the feed in one process", exc)
        return None

