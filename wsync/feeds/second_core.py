"""The first pass over a big feed file on two cores: a helper process maps every other block of records.

Mapping rows (prices, slugs, category paths, rules) and writing them to the spill are most of a big
feed's load, and all of it is one record at a time with nothing carried from one record to the
next, so two processes can share it. Both read the whole file (parsing is a small part of the
cost and every record's place, `line N`, comes out the same); the helper maps the odd blocks of
`BLOCK` records into a spill file of its own, this process the even ones into the job's spill, and
the helper's rows are then merged in. Each record's rows are numbered from its index in the feed
(`SpillAssembler.place`), so the merged file holds the rows in feed order, and what comes out of
it, the errors in their order included, is what one process would have made (a test compares the
two).

Only where it pays and cannot change a result: a local file (a download is one) of at least
`MIN_BYTES`, spilled, no join, not a partial feed, and a second CPU to run on. A helper that fails
or dies costs nothing but time: its share is mapped here afterwards.
"""

from __future__ import annotations

import gc
import heapq
import logging
import multiprocessing
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING

from wsync.catalogue import RecordError
from wsync.errors import FeedRefused

if TYPE_CHECKING:
    from wsync.feeds.spec import FeedSpec

log = logging.getLogger(__name__)

# Records per block. Long runs keep the merge cheap (the helper's rows go into the spill's table
# as runs, not one between every two of ours); short enough that both processes have work to the end.
BLOCK = 4096
# Below this a file is read in one process: starting the helper (a fresh interpreter importing
# wsync) costs about half a second, what mapping ~5 MB of CSV takes.
MIN_BYTES = 8 * 1024 * 1024
# WSYNC_FEED_PROCESSES=1 keeps the whole load in one process (a host that counts processes, a
# comparison); unset or 2, a second process is used where the rules above allow.
ENV = "WSYNC_FEED_PROCESSES"


@dataclass
class Share:
    """The records one process maps (block index % 2 == mine), and the errors it met, each with
    its record's index so both processes' errors merge into the feed's order."""

    mine: int
    block: int = BLOCK
    row_errors: list[tuple[int, RecordError]] = field(default_factory=list)
    keyless: list[tuple[int, RecordError]] = field(default_factory=list)

    def takes(self, index: int) -> bool:
        return (index // self.block) % 2 == self.mine


def wanted(path: Path | None, *, spilled: bool, joined: bool, partial: bool) -> bool:
    if path is None or not spilled or joined or partial or os.environ.get(ENV, "2").strip() == "1":
        return False
    try:
        if path.stat().st_size < MIN_BYTES:
            return False
    except OSError:
        return False
    return len(os.sched_getaffinity(0)) >= 2 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) >= 2


def merged(*shares: Share) -> tuple[list[RecordError], list[RecordError]]:
    """The shares' row errors and keyless-row errors, each in the feed's order."""
    def by_index(lists: Iterable[list[tuple[int, RecordError]]]) -> list[RecordError]:
        return [e for _, e in heapq.merge(*lists, key=lambda pair: pair[0])]

    return by_index(s.row_errors for s in shares), by_index(s.keyless for s in shares)


class Helper:
    """The helper process: started before this process reads the feed, its share collected after."""

    def __init__(self, spec: FeedSpec, path: Path, fmt: str, spill: Path):
        self.spill = spill
        self.block = BLOCK
        ctx = multiprocessing.get_context("spawn")  # not fork: this process may run threads
        self._conn, child_end = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_helper_main, args=(spec, path, fmt, spill, self.block, child_end), daemon=True,
                                 name="wsync-feed-helper")
        self._proc.start()
        child_end.close()

    def collect(self) -> Share | None:
        """The helper's share (its rows are in `self.spill`), or None if it failed: then the caller
        maps that share itself. A feed the helper refused is refused here too."""
        try:
            status, payload = self._conn.recv()
        except (EOFError, OSError):
            status, payload = "died", None
        finally:
            self._conn.close()
            self._proc.join(timeout=30)
        if status == "ok":
            share: Share = payload
            return share
        if status == "refused":
            message, hint = payload
            raise FeedRefused(message, hint=hint)
        log.warning("the feed's helper process %s; mapping its share in this process",
                    f"failed ({payload})" if status == "error" else f"exited ({self._proc.exitcode})")
        return None

    def stop(self) -> None:
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(timeout=5)
        self._conn.close()


def _helper_main(spec: FeedSpec, path: Path, fmt: str, spill: Path, block: int, conn: Connection) -> None:
    # The parent reports the feed's warnings; the helper's copies of them would only be noise.
    logging.disable(logging.CRITICAL)
    gc.set_threshold(200_000, 50, 1000)
    try:
        share = map_share(spec, path, fmt, spill, Share(mine=1, block=block))
    except FeedRefused as exc:
        conn.send(("refused", (exc.message, exc.hint)))
    except Exception as exc:  # reported to the parent, which then maps this share itself
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    else:
        conn.send(("ok", share))
    finally:
        conn.close()


def map_share(spec: FeedSpec, path: Path, fmt: str, spill: Path, share: Share) -> Share:
    """Read the whole file, map the records `share` takes into a spill file at `spill` (pass 1 only)."""
    from wsync.feeds.loader import _feed_rows, map_one_for
    from wsync.feeds.records import open_records
    from wsync.mapping.spill import SpillAssembler

    records, header = open_records(spec, path, fmt, [])
    map_one, _, _ = map_one_for(spec, header, None)
    assembler = SpillAssembler(spill)
    try:
        _feed_rows(records, map_one, spec, assembler, [], share=share)
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

