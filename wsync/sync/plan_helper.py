"""`wsync plan` of a big feed on two cores: a helper process plans the later half of the windows.

Planning a window (the ledger's records for it, payloads, content hashes, the items' JSON) is a
third of a big feed's plan, one window at a time with nothing carried from one window to the
next but caches (the store's categories, its catalogue size), so two processes can share it. Once
the feed is loaded (its products on disk, wsync.mapping.spill), the helper opens the products'
file read-only and plans every window from the middle product on, with its own store client
(reads only) and its own handle on the ledger, writing its items as JSON lines to a file of its
own, while this process plans the first half. The helper's items then follow this process's, so
the plan is what one process makes, item for item (tests compare the two); its counts, new terms
and requests are added in.

Only where it pays and cannot change a result: a plan (nothing written anywhere), a spilled feed
of at least `MIN_PRODUCTS` products (starting the helper, a fresh interpreter importing wsync,
costs about half a second), the store client made here from the settings, and a second CPU. A
helper that fails or dies costs only time: this process plans its half afterwards.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import sqlite3
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

from wsync.catalogue import Product
from wsync.feeds import second_core
from wsync.mapping.spill import SpilledProducts
from wsync.redact import redact
from wsync.store.settings import StoreSettings
from wsync.sync.options import ImportOptions
from wsync.sync.phases import products as product_phase
from wsync.sync.phases import variations as variation_phase
from wsync.sync.plan import ItemPlan, add_counts, counts_for
from wsync.sync.run import ImportRun, JobContext

log = logging.getLogger(__name__)

# Below this many products one process plans them all: the helper's start-up would eat the gain.
MIN_PRODUCTS = 10_000


@dataclass
class Share:
    """What the helper's half of the plan came to (its items are in the file it was given)."""

    products: dict[str, int] = field(default_factory=dict)
    variations: dict[str, int] = field(default_factory=dict)
    new_terms: list[str] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)


@dataclass
class Job:
    """Everything the helper needs, sent to it once (a spawned process shares no memory)."""

    products: Path
    start: int  # the place of the first product of the helper's half
    window: int
    ledger: Path
    store: StoreSettings
    options: ImportOptions
    feed: str
    items: Path


def wanted(products: SpilledProducts, *, own_client: bool, ledger: Path) -> bool:
    if len(products) < MIN_PRODUCTS or not own_client or str(ledger) == ":memory:":
        return False
    return os.environ.get(second_core.ENV, "2").strip() != "1" and second_core.two_cpus()


class Helper:
    """The helper process: started once the feed is loaded, its half collected at the end."""

    def __init__(self, job: Job):
        self.job = job
        ctx = multiprocessing.get_context("spawn")  # not fork: this process may run threads
        self._conn, child_end = ctx.Pipe()
        try:
            self._proc = ctx.Process(target=_helper_main, args=(job, child_end, os.getpid()), daemon=True,
                                     name="wsync-plan-helper")
            self._proc.start()
        except BaseException:
            self._conn.close()
            raise
        finally:
            child_end.close()

    def collect(self) -> Share | None:
        """The helper's half (its items in `job.items`), or None if it failed:
        then the caller plans that half itself."""
        try:
            status, payload = self._conn.recv()
        except (EOFError, OSError):
            self._proc.join(timeout=30)
            log.warning("the plan's helper process exited (%s); planning its half in this process",
                        self._proc.exitcode)
            status, payload = "died", None
        if status == "error":
            log.warning("the plan's helper process failed (%s); planning its half in this process", redact(payload))
        self._conn.close()  # it has answered: it ends on its own
        self.stop()
        if status != "done":
            self.job.items.unlink(missing_ok=True)  # whatever it wrote before it failed
            return None
        share: Share = payload
        return share

    def stop(self) -> None:
        """End the helper: at once unless it has answered (then it is ending on its own)."""
        if self._proc.is_alive() and not self._conn.closed:
            self._proc.terminate()
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=5)
        self._conn.close()


def start(products: SpilledProducts, *, window: int, ledger: Path, store: StoreSettings, options: ImportOptions,
          feed: str, work_dir: Path) -> Helper | None:
    """The helper for the windows from the middle one on; None when there is no helper to be had."""
    windows = -(-len(products) // window)
    start_at = products.place_of((windows // 2) * window) if windows >= 2 else None
    if start_at is None:
        return None
    job = Job(products=products.path, start=start_at, window=window, ledger=ledger, store=store, options=options,
              feed=feed, items=work_dir / "plan-helper-items.jsonl")
    try:
        return Helper(job)
    except Exception as exc:  # no process to be had: one core's worth of work, as before
        log.warning("could not start the plan's helper process (%s); planning in one process", exc)
        return None


def plan_window(run: ImportRun, window: list[Product]) -> tuple[list[ItemPlan], list[ItemPlan]]:
    """A window's product and variation plans (reads only): what `wsync plan` lists for it."""
    run.load_window(window)
    plans = product_phase.plan(run, window)
    return plans, variation_phase.plan(run, window, plans)


def _helper_main(job: Job, conn: Connection, parent: int) -> None:
    # The parent reports what a plan has to say; the helper's copies would only be noise.
    logging.disable(logging.CRITICAL)
    # Ctrl-C reaches the whole process group: the parent decides, and ends this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.set_threshold(200_000, 50, 1000)
    try:
        second_core.report(conn, "done", lambda: plan_share(job, parent))
    except (EOFError, OSError):
        return  # the parent has gone or stopped us: nothing to report to
    finally:
        conn.close()


class ParentGone(Exception):
    """The process that started the helper is gone (killed): its plan is nobody's to finish."""


def plan_share(job: Job, parent: int | None = None) -> Share:
    """Plan the windows from `job.start` on, as the parent plans its own (wsync.sync.engine).
    With `parent`, stops between windows once that process is gone (a SIGKILL runs no cleanup)."""
    from wsync.ledger import Ledger
    from wsync.store import StoreClient

    reader = sqlite3.connect(job.products.resolve().as_uri() + "?mode=ro", uri=True)
    ledger = Ledger(job.ledger)
    client = StoreClient(job.store)
    run = ImportRun(ledger=ledger, client=client, feed=job.feed, options=job.options, ctx=JobContext(None, None),
                    dry_run=True)
    share = Share(products=counts_for([]), variations=counts_for([]))
    try:
        with open(job.items, "w", encoding="utf-8") as out:
            for window in SpilledProducts(reader, 0, 0).windows(job.window, start=job.start):
                if parent is not None and os.getppid() != parent:
                    raise ParentGone(f"the plan's process {parent} is gone")
                plans, variation_plans = plan_window(run, window)
                add_counts(share.products, plans)
                add_counts(share.variations, variation_plans)
                for p in plans + variation_plans:
                    if p.action != "unchanged":
                        out.write(p.to_json() + "\n")
        share.new_terms = sorted(run.taxonomy.planned) if run.taxonomy else []
        share.requests = client.counters.as_dict()
        return share
    finally:
        run.close()
        client.close()
        ledger.close()
        reader.close()
