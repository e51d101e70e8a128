"""An import job from start to end: feed -> plan -> products -> variations -> links -> missing -> images.

Both the foreground `wsync import` and the background worker run jobs through `run_import`, so
a job behaves the same either way. The engine conducts; each phase is a module of its own in
wsync.sync.phases (products, variations, links, missing, images) that plans its items, pushes
them and records every answer through the run they share (wsync.sync.run.ImportRun). Every
finished batch is written to the ledger before the next one starts (item ids, pushed state,
counts, a checkpoint), which is what lets a job whose worker died be resumed without redoing
finished work: re-planning a resumed job finds those items already pushed and counts them as the
earlier attempt did.
"""

from __future__ import annotations

import gc
import logging
import tempfile
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsync.errors import FeedRefused, UsageError
from wsync.ledger import Ledger
from wsync.ledger.items import FeedStateStore
from wsync.mapping.spill import SpilledProducts
from wsync.store.limiter import FixedLimit
from wsync.sync import plan_helper
from wsync.sync.options import ImportOptions
from wsync.sync.phases import images as image_phase
from wsync.sync.phases import links as link_phase
from wsync.sync.phases import missing as missing_phase
from wsync.sync.phases import products as product_phase
from wsync.sync.phases import variations as variation_phase
from wsync.sync.plan import add_counts, counts_for
from wsync.sync.plan_items import PlanItems
from wsync.sync.push import Unsettled
from wsync.sync.run import (
    Counts,
    EngineSettings,
    ImportRun,
    JobContext,
    Progress,
    make_client,
    max_request_s,
    windows,
)
from wsync.sync.settle import settle_orphaned_writes
from wsync.sync.unchanged import counts_unchanged, feed_fingerprint, left_nothing_undone, validators

if TYPE_CHECKING:
    from wsync.catalogue import Product
    from wsync.feeds import FeedSpec, LoadResult
    from wsync.ledger.jobs import JobStore
    from wsync.store import StoreClient
    from wsync.sync.images import ImageReport

log = logging.getLogger("wsync.sync.engine")


def feed_spec_for(job_data: dict[str, Any], settings: EngineSettings | None) -> FeedSpec:
    """The FeedSpec a job names: a feed from wsync.toml, or an ad-hoc source with preset/format."""
    from wsync.feeds import FeedSpec

    name = job_data.get("feed")
    feeds = (settings.feeds if settings is not None else None) or {}
    if name and name in feeds and not job_data.get("source"):
        assert settings is not None
        return FeedSpec.from_config(name, feeds[name], settings.base_dir)
    source = job_data.get("source") or name
    if not source:
        raise UsageError("the job names no feed", hint="give a feed name from wsync.toml, or a path/URL")
    return FeedSpec.adhoc(source, preset=job_data.get("preset"), format=job_data.get("format"),
                          name=job_data.get("feed_name"))


def load_feed(spec: FeedSpec, ledger: Ledger, opts: ImportOptions, *, use_conditional: bool = True,
              spill_dir: Path | None = None, fingerprint: str | None = None) -> LoadResult:
    """Read the feed; conditionally (ETag, Last-Modified, digest of its last complete run, when
    that run had the same `fingerprint`: wsync.sync.unchanged) unless forced. With `spill_dir`
    its products are assembled on disk there (wsync.mapping.spill)."""
    from wsync.feeds import load_catalogue

    state = FeedStateStore(ledger).get(spec.name) or {}
    fetch_state = None
    if use_conditional and not opts.force and fingerprint and state.get("fingerprint") == fingerprint:
        fetch_state = {"etag": state.get("etag"), "last_modified": state.get("last_modified"),
                       "digest": state.get("digest")}
    return load_catalogue(spec, fetch_state=fetch_state, force=opts.force, previous_count=state.get("last_count"),
                          max_errors=opts.max_errors, spill_dir=spill_dir)


def settle_before_planning(run: ImportRun) -> dict[str, Any] | None:
    """Settle the feed's writes an earlier worker left running (wsync.sync.settle) before
    anything is looked up or planned; None when there were none."""
    ctx = run.ctx

    def status(doc: dict[str, Any]) -> None:
        ctx.checkpoint({"phase": "settling", "counts": run.counts.as_dict(), "settling": doc})

    report = settle_orphaned_writes(run.client, run.ledger, run.feed, max_request_s=run.max_request_s,
                                    status=status, should_stop=ctx.should_stop)
    if not report.writes:
        return None
    ctx.message(f"settled {report.writes} request(s) an earlier worker left running: "
                f"{report.adopted_items} item(s) and {report.adopted_images} image(s) "
                f"adopted after {report.waited_s:.1f} s")
    return report.to_dict()


def run_import(job_id: int, *, ledger: Ledger, settings: EngineSettings | None, jobs: JobStore,
               should_stop: Callable[[], bool] = lambda: False, progress: Progress | None = None,
               client: StoreClient | None = None) -> dict[str, Any]:
    """Run import job `job_id` (its `job_data` says what) and return the result document."""
    with tempfile.TemporaryDirectory(prefix="wsync-job-") as spill:
        return _run_import(job_id, ledger=ledger, settings=settings, jobs=jobs, should_stop=should_stop,
                           progress=progress, client=client, spill_dir=Path(spill))


def _run_import(job_id: int, *, ledger: Ledger, settings: EngineSettings | None, jobs: JobStore,
                should_stop: Callable[[], bool], progress: Progress | None, client: StoreClient | None,
                spill_dir: Path) -> dict[str, Any]:
    job = jobs.get(job_id)
    if job is None:
        raise UsageError(f"no job {job_id} in the ledger")
    data = job.get("job_data") or {}
    opts = ImportOptions.from_dict(data.get("options") or {}).validate()
    spec = feed_spec_for(data, settings)
    started = time.monotonic()
    ctx = JobContext(job_id, jobs, should_stop=should_stop, progress=progress)
    limited = opts.total_batches is not None
    fingerprint = feed_fingerprint(data, (settings.feeds or {}).get(spec.name) if settings is not None else None)
    result = load_feed(spec, ledger, opts, use_conditional=not limited, spill_dir=spill_dir,
                       fingerprint=fingerprint)
    if result.not_modified:
        why = "HTTP 304" if result.unchanged_by == "http" else "the same file"
        counts = counts_unchanged(FeedStateStore(ledger).get(spec.name))
        jobs.update_progress(job_id, progress=100.0, processed=counts.processed, created=0, updated=0,
                             unchanged=counts.unchanged, errors=0)
        jobs.save_checkpoint(job_id, {"phase": "done", "counts": counts.as_dict()})
        return _result(job_id, counts, 0, started, client, message=(
            f"Feed unchanged since the last complete run ({why}, the same settings): nothing to do. "
            "Use --force to sync anyway."), extra={"feed_unchanged": True})
    for err in result.errors:
        ctx.error("feed", err.sku, str(err), "feed_record")
    for warning in getattr(result, "warnings", None) or []:
        jobs.add_message(job_id, f"feed: {warning}")
    if getattr(result, "updates", None) is not None:  # a partial feed: wsync/sync/partial.py
        from wsync.sync.partial import run_partial
        return run_partial(job_id, spec, result, ledger=ledger, settings=settings, jobs=jobs, client=client,
                           opts=opts, ctx=ctx, started=started, fingerprint=fingerprint)
    products: list[Product] | SpilledProducts = result.products
    if limited:
        assert opts.total_batches is not None
        products = list(islice(products, opts.total_batches * opts.products_per_batch))
    own_client = client is None
    client = client or make_client(settings, pool_size=opts.pool_size())
    run: ImportRun | None = None
    try:
        run = ImportRun(ledger=ledger, client=client, feed=spec.name, options=opts, ctx=ctx,
                        max_request_s=max_request_s(opts, settings), measured=opts.settle_s is None)
        run.total = len(products) + variation_count(products)
        run.counts.feed_errors = len(result.errors)  # apart from failed: no product was refused
        settled = settle_before_planning(run)
        if should_stop():
            return _result(job_id, run.counts, 0, started, client, extra={"cancelled": True}, limit=run.limit)
        window_size = opts.window_size()
        missing = missing_phase.plan(run, products)
        images: ImageReport | None = None
        images_scheduled = 0
        phase = None
        links = None
        involved = link_phase.Involved()
        try:
            # A window of products at a time: planned, pushed, its variations pushed, recorded.
            for window in windows(products, window_size):
                run.load_window(window)
                product_phase.push(run, product_phase.plan(run, window))
                if should_stop():
                    break
                variation_phase.push(run, window)
                involved.note(run, window)
                if should_stop():
                    break
            if not should_stop() and not opts.only:
                links = link_phase.push(run, products, involved)
            if not should_stop() and not limited:
                missing_phase.push(run, missing)
            if not opts.only and not should_stop():
                phase = image_phase.start(run)
                for window in windows(products, window_size):
                    run.load_window(window)
                    image_plan = image_phase.plan(run, window, phase)
                    images_scheduled += image_plan.scheduled
                    jobs.update_progress(job_id, images_scheduled=images_scheduled)
                    if opts.process_images and image_plan.tasks:
                        run.report("images")
                        images = image_phase.push(run, image_plan)
                    if should_stop():
                        break
        except Unsettled as exc:
            # Stopping (cancel, SIGTERM) while a request may still be saving: its creates are left
            # in the ledger's pending writes for the next worker to settle, never sent again here.
            log.warning("job %s stopping: %s", job_id, exc)
            return _result(job_id, run.counts, images_scheduled, started, client,
                           extra={"cancelled": True, "unsettled": str(exc)}, limit=run.limit)
        run.report("done")
        extra: dict[str, Any] = {"variations": run.counts.variations(),
                                 "removed": run.counts.removed, "skipped": run.counts.skipped,
                                 **({"links": links} if links and any(links.values()) else {}),
                                 "feed_errors": len(result.errors),
                                 "categories_created": run.taxonomy.created if run.taxonomy else 0}
        if images is not None:
            extra["images"] = images.to_dict()
        if settled:
            extra["settled"] = settled
        if should_stop():
            extra["cancelled"] = True
        doc = _result(job_id, run.counts, images_scheduled, started, client, extra=extra, limit=run.limit)
        if links and (links["unresolved"] or links["failed"]):
            # A link left out is work not done: the job says so, and the next run tries again.
            doc["success"] = False
            doc["message"] += f", Links not set: {links['unresolved'] + links['failed']}"
        if phase is not None:
            image_phase.report_missing(doc, phase, run, counting=opts.process_images)
        if not limited and not should_stop():
            FeedStateStore(ledger).record_success(
                spec.name, source=getattr(spec, "source", None), count=len(products),
                validators=validators(result.fetch_state, fingerprint, run.counts) if left_nothing_undone(doc, opts)
                else None)
        return doc
    finally:
        if run is not None:
            run.close()
        if own_client and hasattr(client, "close"):
            client.close()


def _result(job_id: int | None, counts: Counts, images_scheduled: int, started: float,
            client: StoreClient | None, *, message: str | None = None,
            extra: dict[str, Any] | None = None, limit: FixedLimit | None = None) -> dict[str, Any]:
    requests = (client.counters.as_dict() if client is not None and hasattr(client, "counters")
                else {"read": 0, "write": 0})
    # Products in the unprefixed counts, variations in their own; a feed record error fails
    # the job (exit 1) without counting as a failed product.
    doc = {
        "success": counts.errors == 0,
        "message": message or _message(counts, images_scheduled),
        "job_id": job_id,
        "created": counts.created,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
        "failed": counts.failed,
        "skipped": counts.skipped,
        "removed": counts.removed,
        "variations": counts.variations(),
        "feed_errors": counts.feed_errors,
        "images_scheduled": images_scheduled,
        "total_processed": counts.processed,
        "duration_s": round(time.monotonic() - started, 3),
        "requests": {"read": int(requests.get("read", 0)), "write": int(requests.get("write", 0))},
    }
    if limit is not None:
        # The requests in flight at the end ("auto": as found), the most, and the items per second.
        doc["concurrency"] = limit.snapshot()
    doc.update(extra or {})
    return doc


def _message(counts: Counts, images_scheduled: int) -> str:
    text = (f"Batch import completed. Created: {counts.created}, Updated: {counts.updated}, "
            f"Images scheduled: {images_scheduled}" + (f", Failed: {counts.failed}" if counts.failed else ""))
    if counts.variations_processed or counts.variations_deleted:
        text += (f". Variations created: {counts.variations_created}, updated: {counts.variations_updated}"
                 + (f", failed: {counts.variations_failed}" if counts.variations_failed else ""))
    if counts.feed_errors:
        text += f". Feed errors: {counts.feed_errors}"
    return text


def run_images(job_id: int, *, ledger: Ledger, settings: EngineSettings | None, jobs: JobStore,
               should_stop: Callable[[], bool] = lambda: False, progress: Progress | None = None,
               client: StoreClient | None = None) -> dict[str, Any]:
    """An images-only job: attach the images of the feed's products that the store lacks."""
    with tempfile.TemporaryDirectory(prefix="wsync-job-") as spill:
        return _run_images(job_id, ledger=ledger, settings=settings, jobs=jobs, should_stop=should_stop,
                           progress=progress, client=client, spill_dir=Path(spill))


def _run_images(job_id: int, *, ledger: Ledger, settings: EngineSettings | None, jobs: JobStore,
                should_stop: Callable[[], bool], progress: Progress | None, client: StoreClient | None,
                spill_dir: Path) -> dict[str, Any]:
    job = jobs.get(job_id)
    if job is None:
        raise UsageError(f"no job {job_id} in the ledger")
    data = job.get("job_data") or {}
    opts = ImportOptions.from_dict(data.get("options") or {}).validate()
    spec = feed_spec_for(data, settings)
    started = time.monotonic()
    result = load_feed(spec, ledger, opts, use_conditional=False, spill_dir=spill_dir)
    own_client = client is None
    client = client or make_client(settings, pool_size=opts.pool_size())
    ctx = JobContext(job_id, jobs, should_stop=should_stop, progress=progress)
    run: ImportRun | None = None
    try:
        run = ImportRun(ledger=ledger, client=client, feed=spec.name, options=opts, ctx=ctx,
                        max_request_s=max_request_s(opts, settings), measured=opts.settle_s is None)
        settled = settle_before_planning(run)
        phase = image_phase.start(run)
        try:
            for window in windows(result.products, opts.window_size()):
                run.load_window(window)
                image_phase.push(run, image_phase.plan(run, window, phase))
                if should_stop():
                    break
            report = phase.report
        except Unsettled as exc:
            log.warning("job %s stopping: %s", job_id, exc)
            return {"success": False, "job_id": job_id, "cancelled": True, "unsettled": str(exc),
                    "message": "stopped while an image request may still be saving; the next run settles it"}
        failed = report.failed_items + len(report.failed_urls)
        doc = {"success": failed == 0, "job_id": job_id,
               "message": f"Images processed: {report.attached} attached ({report.sent_src} downloaded, "
                          f"{report.reused} reused), {len(report.failed_urls)} URLs failed",
               "images": report.to_dict(), "images_scheduled": report.scheduled,
               **({"settled": settled} if settled else {}),
               "concurrency": run.limit.snapshot(),
               "duration_s": round(time.monotonic() - started, 3),
               "requests": client.counters.as_dict() if hasattr(client, "counters") else {}}
        jobs.update_progress(job_id, progress=100.0, processed=report.items, images_scheduled=report.scheduled,
                             errors=failed)
        return doc
    finally:
        if run is not None:
            run.close()
        if own_client and hasattr(client, "close"):
            client.close()


def plan_only(spec: FeedSpec, *, ledger: Ledger, settings: EngineSettings | None, options: ImportOptions,
              client: StoreClient | None = None) -> dict[str, Any]:
    """`wsync plan` / `import --dry-run`: the changeset, with reads only (zero writes). A window
    of products at a time, like an import: `items` lists the changes in bounded memory
    (wsync.sync.plan_items)."""
    with tempfile.TemporaryDirectory(prefix="wsync-plan-") as spill:
        return _plan_only(spec, ledger=ledger, settings=settings, options=options, client=client,
                          spill_dir=Path(spill))


def _plan_only(spec: FeedSpec, *, ledger: Ledger, settings: EngineSettings | None, options: ImportOptions,
               client: StoreClient | None, spill_dir: Path) -> dict[str, Any]:
    result = load_feed(spec, ledger, options, use_conditional=False, spill_dir=spill_dir)
    if getattr(result, "updates", None) is not None:  # a partial feed: wsync/sync/partial.py
        from wsync.sync.partial import plan_partial
        return plan_partial(spec, result, ledger=ledger, settings=settings, client=client, options=options)
    products = result.products
    own_client = client is None
    client = client or make_client(settings, pool_size=options.pool_size())
    run: ImportRun | None = None
    helper: plan_helper.Helper | None = None
    try:
        run = ImportRun(ledger=ledger, client=client, feed=spec.name, options=options, ctx=JobContext(None, None),
                        dry_run=True)
        missing = missing_phase.plan(run, products)
        size = options.window_size()
        store = settings.store if settings is not None else None
        if isinstance(products, SpilledProducts) and store is not None and plan_helper.wanted(
                products, own_client=own_client, ledger=ledger.path):
            # Only now: the missing phase may index the products' file, a write the helper's
            # reading would hold up. Its start-up runs beside this process's first windows.
            helper = plan_helper.start(products, window=size, ledger=ledger.path, store=store,
                                       options=options, feed=spec.name, work_dir=spill_dir)
        product_counts = counts_for(missing)
        variation_counts = counts_for([])
        items = PlanItems()

        def plan_windows(start: int | None = None, stop: int | None = None) -> None:
            chosen = products.windows(size, start, stop) if isinstance(products, SpilledProducts) \
                else windows(products, size)
            for window in chosen:
                plans, variation_plans = plan_helper.plan_window(run, window)
                add_counts(product_counts, plans)
                add_counts(variation_counts, variation_plans)
                for p in plans + variation_plans:
                    if p.action != "unchanged":
                        items.append_plan(p)

        new_terms: set[str] = set()
        requests: dict[str, int] = {}
        # Planning, like loading, makes millions of short-lived payloads and no cycles: the
        # collector's thresholds as in the load (and in the plan's helper), ~7 % of the planning.
        thresholds = gc.get_threshold()
        gc.set_threshold(200_000, 50, 1000)
        try:
            _plan_all(plan_windows, helper, product_counts, variation_counts, items, new_terms, requests)
        finally:
            gc.set_threshold(*thresholds)
        for p in missing:
            items.append(p.to_dict())
        counts = dict(product_counts)
        add_counts(counts, [], variation_counts)
        new_terms.update(run.taxonomy.planned if run.taxonomy else ())
        ours = client.counters.as_dict() if hasattr(client, "counters") else {}
        doc = {
            "success": True,
            "feed": spec.name,
            "counts": counts,
            "products": product_counts,
            "variations": variation_counts,
            "feed_errors": [e.to_dict() for e in result.errors],
            "new_terms": sorted(new_terms),
            # Counted as the feed was loaded, by the URLs the image phase tells apart.
            "images": {"distinct": result.counts.get("distinct_images", 0)},
            "items": items,
            "requests": {k: v + requests.get(k, 0) for k, v in ours.items()},
        }
        return doc
    finally:
        if helper is not None:
            helper.stop()  # at once, if this process failed or was interrupted before collecting
        if run is not None:
            run.close()
        if own_client and hasattr(client, "close"):
            client.close()


def _plan_all(plan_windows: Callable[..., None], helper: plan_helper.Helper | None, product_counts: dict[str, int],
              variation_counts: dict[str, int], items: PlanItems, new_terms: set[str],
              requests: dict[str, int]) -> None:
    """Every window planned: here, or the first half here and the rest by the plan's helper
    (whose counts, items, terms and requests join this process's)."""
    if helper is None:
        plan_windows()
        return
    plan_windows(stop=helper.job.start)
    share = helper.collect()
    if share is None:
        plan_windows(start=helper.job.start)
        return
    add_counts(product_counts, [], share.products)
    add_counts(variation_counts, [], share.variations)
    items.extend_json_lines(helper.job.items)
    new_terms.update(share.new_terms)
    requests.update(share.requests)


def variation_count(products: list[Product] | SpilledProducts) -> int:
    if isinstance(products, SpilledProducts):
        return products.variations
    return sum(len(p.variations) for p in products)


__all__ = [
    "Counts",
    "EngineSettings",
    "FeedRefused",
    "ImportRun",
    "feed_spec_for",
    "make_client",
    "plan_only",
    "run_images",
    "run_import",
]
