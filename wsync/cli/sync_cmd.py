"""`wsync plan`, `wsync import` and `wsync demo`: options in, results out; the work is in wsync.sync."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from wsync.cli import common
from wsync.errors import EXIT_FEED, EXIT_ITEM_ERRORS, EXIT_OK, EXIT_STORE, EXIT_USAGE
from wsync.sync.options import ImportOptions

if TYPE_CHECKING:
    from wsync.config import Settings
    from wsync.ledger import Ledger

FEED_HELP = "A feed name from wsync.toml, or a path / URL (with --preset or --format, or detected)."
PRESET_HELP = "woocommerce-csv, google-merchant, shopify-json"
FORMAT_HELP = "csv, tsv, json, jsonl, xml"
# The flags default to [import] in wsync.toml, then to yes: the help says what each side does.
UPDATE_HELP = "Update products the store already has (--no-update-existing: create only)."
CREATE_HELP = "Create products the store lacks (--no-create-new: update only)."
MASS_CHANGE_HELP = "Let --missing touch more than 20 % of the feed."
CONCURRENCY_HELP = common.CONCURRENCY_HELP
MAX_MEMORY_HELP = "MB the job may use: products are planned and pushed in windows sized to fit (default 500)."

# Exit codes for a job that ended "failed", by the kind of error that ended it.
_FAILED_EXIT = {
    "StoreAuthError": EXIT_STORE, "StoreConnectionError": EXIT_STORE, "StoreUnavailable": EXIT_STORE,
    "StoreServerError": EXIT_STORE, "OutcomeUnknown": EXIT_STORE, "NotWooCommerce": EXIT_STORE,
    "PlainHttpRefused": EXIT_USAGE, "FeedRefused": EXIT_FEED, "UsageError": EXIT_USAGE, "ConfigError": EXIT_USAGE,
}


def load_settings(require_store: bool = True) -> Settings:
    from wsync.config import load_settings as _load

    return _load(common.STATE.config, require_store=require_store)


def job_data_for(feed: str, settings: Settings, preset: str | None, fmt: str | None,
                 opts: ImportOptions) -> dict[str, Any]:
    """What a job needs to run again anywhere: the feed's name or source, never a secret."""
    data: dict[str, Any] = {"options": opts.to_dict()}
    if feed in (settings.feeds or {}) and not (preset or fmt):
        data["feed"] = feed
    else:
        # A local file is named by its absolute path: the worker may run from another directory,
        # and the ledger keeps each source's items apart.
        source = feed
        if "://" not in feed and Path(feed).expanduser().exists():
            source = str(Path(feed).expanduser().resolve())
        data.update({"source": source, "preset": preset, "format": fmt, "feed_name": source})
    return data


def build_options(settings: Settings, **given: Any) -> ImportOptions:
    """Command-line values over wsync.toml's [import] defaults over built-in defaults."""
    values: dict[str, Any] = dict(settings.import_defaults.__dict__)
    for name, value in given.items():
        if value is not None:
            values[name] = value
    if isinstance(values.get("only"), str):
        values["only"] = [v.strip() for v in values["only"].split(",") if v.strip()]
    return ImportOptions.from_dict(values).validate()


def _open_ledger(settings: Settings) -> Ledger:
    from wsync.ledger import Ledger

    return Ledger(settings.ledger_path)


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd(
        feed: str = typer.Argument(..., help=FEED_HELP),
        preset: str | None = typer.Option(None, "--preset", help=PRESET_HELP),
        fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
        only: str | None = typer.Option(None, "--only", help="price,stock: plan only these fields"),
        missing: str | None = typer.Option(None, "--missing", help="keep|outofstock|draft|trash"),
        force: bool = typer.Option(False, "--force", help="Plan every item as changed."),
        update_existing: bool | None = typer.Option(None, "--update-existing/--no-update-existing",
                                                       help=UPDATE_HELP),
        create_new: bool | None = typer.Option(None, "--create-new/--no-create-new", help=CREATE_HELP),
        allow_mass_change: bool = typer.Option(False, "--allow-mass-change", help=MASS_CHANGE_HELP),
        max_memory: int | None = typer.Option(None, "--max-memory", help=MAX_MEMORY_HELP),
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """Show what an import would change (create / update with fields / unchanged / remove): zero writes."""
        from wsync.sync.engine import feed_spec_for, plan_only

        settings = load_settings()
        opts = build_options(settings, only=only, missing=missing, force=force or None,
                             update_existing=update_existing, create_new=create_new,
                             allow_mass_change=allow_mass_change or None, max_memory_mb=max_memory)
        spec = feed_spec_for(job_data_for(feed, settings, preset, fmt, opts), settings)
        doc = plan_only(spec, ledger=_open_ledger(settings), settings=settings, options=opts)
        if as_json:
            common.emit_json(doc)
        else:
            _render_plan(doc)

    @app.command("import")
    def import_cmd(
        feed: str = typer.Argument(..., help=FEED_HELP),
        preset: str | None = typer.Option(None, "--preset", help=PRESET_HELP),
        fmt: str | None = typer.Option(None, "--format", help=FORMAT_HELP),
        dry_run: bool = typer.Option(False, "--dry-run", help="Plan only: print the changeset, write nothing."),
        background: bool = typer.Option(False, "--background", help="Run in a detached worker; print the job id."),
        products_per_batch: int | None = typer.Option(None, "--products-per-batch", help="1-100, default 50"),
        variations_per_batch: int | None = typer.Option(None, "--variations-per-batch", help="1-100, default 25"),
        images_per_batch: int | None = typer.Option(None, "--images-per-batch", help="default 5"),
        concurrency: str | None = typer.Option(None, "--concurrency", help=CONCURRENCY_HELP),
        total_batches: int | None = typer.Option(None, "--total-batches", help="only the first N product batches"),
        process_images: bool | None = typer.Option(
            None, "--process-images/--no-process-images",
            help="Attach images in this job (--no-process-images: leave them to `wsync images process`)."),
        update_existing: bool | None = typer.Option(None, "--update-existing/--no-update-existing",
                                                       help=UPDATE_HELP),
        create_new: bool | None = typer.Option(None, "--create-new/--no-create-new", help=CREATE_HELP),
        only: str | None = typer.Option(None, "--only", help="price,stock: the fast path for frequent syncs"),
        missing: str | None = typer.Option(None, "--missing", help="keep|outofstock|draft|trash"),
        allow_mass_change: bool = typer.Option(False, "--allow-mass-change", help=MASS_CHANGE_HELP),
        stale_variations: str | None = typer.Option(None, "--stale-variations", help="delete|keep"),
        force: bool = typer.Option(False, "--force", help="Re-send every field, and ignore an unchanged feed (304)."),
        max_errors: int | None = typer.Option(None, "--max-errors", help="refuse a feed with more record errors"),
        retry_failed_images: bool = typer.Option(False, "--retry-failed-images",
                                                 help="Try again image URLs that failed for good in an earlier job."),
        max_memory: int | None = typer.Option(None, "--max-memory", help=MAX_MEMORY_HELP),
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """Make the store match the feed, as a job recorded in the ledger."""
        settings = load_settings()
        opts = build_options(
            settings, products_per_batch=products_per_batch, variations_per_batch=variations_per_batch,
            images_per_batch=images_per_batch, concurrency=concurrency, total_batches=total_batches,
            process_images=process_images, update_existing=update_existing, create_new=create_new, only=only,
            missing=missing, allow_mass_change=allow_mass_change or None, stale_variations=stale_variations,
            force=force or None, max_errors=max_errors, retry_failed_images=retry_failed_images or None,
            max_memory_mb=max_memory)
        if dry_run:
            from wsync.sync.engine import feed_spec_for, plan_only

            spec = feed_spec_for(job_data_for(feed, settings, preset, fmt, opts), settings)
            doc = plan_only(spec, ledger=_open_ledger(settings), settings=settings, options=opts)
            doc["dry_run"] = True
            common.emit_json(doc) if as_json else _render_plan(doc)
            return
        data = job_data_for(feed, settings, preset, fmt, opts)
        if background:
            raise typer.Exit(_background(settings, data, opts, as_json))
        raise typer.Exit(run_foreground(settings, data, as_json=as_json))

    @app.command("demo")
    def demo_cmd(
        workdir: Path = typer.Option(Path("wsync-demo"), "--dir", help="Where the demo keeps its store and ledger."),
        reset: bool = typer.Option(False, "--reset", help="Start from an empty store and ledger."),
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """Import the example wholesaler feed into an embedded sandbox store (offline), and report."""
        from wsync.demo import run_demo

        progress_bar = _progress_bar() if not as_json and common.err.is_terminal else None
        try:
            report = run_demo(workdir, reset=reset, progress=progress_bar.update if progress_bar else None,
                              announce=None if as_json else lambda text: common.err.print(text, markup=False))
        finally:
            if progress_bar:
                progress_bar.close()
        if as_json:
            common.emit_json(report)
        else:
            _render_demo(report)
        raise typer.Exit(EXIT_OK if report["success"] else EXIT_ITEM_ERRORS)


def _background(settings: Settings, data: dict[str, Any], opts: ImportOptions, as_json: bool) -> int:
    from wsync.feeds import load_catalogue
    from wsync.jobs.detached import schedule_import, start_detached_worker
    from wsync.sync.engine import feed_spec_for

    ledger = _open_ledger(settings)
    spec = feed_spec_for(data, settings)
    # Read the feed once now: the estimate is honest, and a broken feed fails here, not at night
    # (assembled on disk: a big feed is counted without being held).
    with tempfile.TemporaryDirectory(prefix="wsync-count-") as spill:
        loaded = load_catalogue(spec, spill_dir=Path(spill))
        estimated = len(loaded.products)
        close = getattr(loaded.products, "close", None)
        if close is not None:
            close()
    if opts.total_batches:
        estimated = min(estimated, opts.total_batches * opts.products_per_batch)
    # Products, like the job's processed count it is shown beside ("processed 12 of ~30").
    job_id = schedule_import(ledger, spec.name, data, estimated_total=estimated)
    pid = start_detached_worker(common.STATE.config or settings.path, settings.ledger_path, job_id)
    batches = max(1, -(-estimated // opts.products_per_batch)) if estimated else 0
    doc = {"success": True,
           "message": f"Background import scheduled for {batches} batches with {opts.products_per_batch} products each",
           "job_id": job_id, "total_products_estimated": estimated, "process_images": opts.process_images,
           "update_existing": opts.update_existing, "scheduled": True, "fallbacks_enabled": True, "worker_pid": pid}
    if as_json:
        common.emit_json(doc)
    else:
        common.out.print(doc["message"])
        common.out.print(f"job {job_id}: follow it with `wsync status {job_id} --follow`")
    return EXIT_OK


def run_foreground(settings: Settings, data: dict[str, Any], *, as_json: bool) -> int:
    """Run an import job in this process, with a progress bar on a terminal; print its result."""
    from wsync.jobs.runner import run_in_process

    progress_bar = _progress_bar() if not as_json and common.err.is_terminal else None
    try:
        job_id, row, jobs = run_in_process(settings, data, progress=progress_bar.update if progress_bar else None)
    finally:
        if progress_bar:
            progress_bar.close()
    result = row.get("result") or {}
    if row.get("status") == "failed":
        error_type = result.get("error_type", "")
        message = result.get("error") or "the job failed"
        code = _FAILED_EXIT.get(error_type, EXIT_ITEM_ERRORS)
        if as_json:
            common.emit_json({"success": False, "message": message, "job_id": job_id, "error": error_type,
                              "exit_code": code})
        common.err.print(f"error: {message}", markup=False)
        return code
    result.setdefault("job_id", job_id)
    if as_json:
        common.emit_json(result)
    else:
        _render_result(result, jobs.errors(job_id, limit=10))
    return EXIT_OK if result.get("success") else EXIT_ITEM_ERRORS


class _progress_bar:
    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=common.err, transient=True)
        self.task = self.progress.add_task("reading feed", total=None)
        self.progress.start()

    def update(self, event: dict[str, Any]) -> None:
        # Products and variations: the bar's total counts both. Then the requests in flight now
        # (found as it goes under --concurrency auto) and the items written per second.
        description = str(event.get("phase", ""))
        limit = event.get("concurrency")
        if isinstance(limit, dict):
            description += f"  {limit.get('current')} in flight, {limit.get('rate', 0):.1f} items/s"
        self.progress.update(self.task, description=description,
                             completed=event.get("items_processed", 0), total=event.get("total") or None)

    def close(self) -> None:
        self.progress.stop()


def _render_result(result: dict[str, Any], errors: list[dict[str, Any]]) -> None:
    from rich.table import Table

    from wsync.jobs.render import result_table

    common.out.print(result.get("message", ""), markup=False)
    common.out.print(result_table(result))
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("job id", str(result.get("job_id")))
    if result.get("feed_errors"):
        table.add_row("feed errors", f"{result['feed_errors']} record(s) refused (not products: not in failed)")
    table.add_row("images scheduled", str(result.get("images_scheduled", 0)))
    if result.get("images_missing"):
        shown = ", ".join((result.get("images_missing_skus") or [])[:10])
        shown += " …" if result["images_missing"] > 10 else ""
        table.add_row("images missing", f"{result['images_missing']} ({shown}; `wsync images status --missing`)")
    requests = result.get("requests") or {}
    table.add_row("requests", f"{requests.get('read', 0)} read, {requests.get('write', 0)} write")
    table.add_row("duration", f"{result.get('duration_s', 0)} s")
    common.out.print(table)
    for err in errors:
        common.out.print(f"  {err.get('stage')} {err.get('sku') or ''}: {err.get('message')}", markup=False)


def _render_plan(doc: dict[str, Any]) -> None:
    # `counts` is over items (products + variations); the line names each on its own.
    def line(counts: dict[str, int]) -> str:
        return (f"create {counts['create']}, update {counts['update']}, unchanged {counts['unchanged']}, "
                f"remove {counts['remove']}, skip {counts['skip']}")

    common.out.print(f"plan for {doc['feed']}: products: {line(doc['products'])}; "
                     f"variations: {line(doc['variations'])}", markup=False)
    for item in doc["items"][:50]:
        fields = f" ({', '.join(item['fields'])})" if item.get("fields") else ""
        common.out.print(f"  {item['action']:7} {item['kind']:9} {item.get('sku') or item['key']}{fields}",
                         markup=False)
    if len(doc["items"]) > 50:
        common.out.print(f"  … and {len(doc['items']) - 50} more (use --json for all)")
    for term in doc.get("new_terms", [])[:20]:
        common.out.print(f"  create term: {term}", markup=False)
    for err in doc.get("feed_errors", [])[:10]:
        common.out.print(f"  feed error: {err.get('where')}: {err.get('reason')}", markup=False)


def _render_demo(report: dict[str, Any]) -> None:
    from rich.table import Table

    from wsync.jobs.render import result_table

    result = report["import"]
    out = common.out
    out.print(result.get("message") or result.get("error") or report["status"], markup=False)
    counts = result_table(result)
    counts.title = f"import job {report['job_id']} ({report['status']})"
    out.print(counts)
    table = Table(show_header=False, box=None, pad_edge=False)
    requests = result.get("requests") or {}
    table.add_row("requests", f"{requests.get('read', 0)} read, {requests.get('write', 0)} write")
    table.add_row("duration", f"{result.get('duration_s', 0)} s")
    out.print(table)
    store = report["store"]
    out.print(f"store now holds {store.get('products', 0)} products, {store.get('variations', 0)} variations, "
              f"{store.get('attachments', 0)} images ({store.get('image_downloads', 0)} downloads in this run)",
              markup=False)
    for err in report["errors"]:
        out.print(f"  {err.get('stage')} {err.get('sku') or ''}: {err.get('message')}", markup=False)
    out.print(f"run `wsync demo --dir {report['workdir']}` again: nothing changed, so nothing is sent.", markup=False)
