"""`wsync images status` and `wsync images process`."""

from __future__ import annotations

import typer

from wsync.cli import common, image_status
from wsync.errors import EXIT_ITEM_ERRORS, EXIT_OK, UsageError


def register(app: typer.Typer) -> None:
    images = typer.Typer(help="Product images: what the store has, and attaching the ones still pending.",
                         no_args_is_help=True)
    app.add_typer(images, name="images")

    @images.command("status")
    def status_cmd(
        product_id: int | None = typer.Argument(None, help="The store's product (or variation) id."),
        sku: str | None = typer.Option(None, "--sku", help="Find the product by SKU instead."),
        missing: bool = typer.Option(False, "--missing", help="List every item of the ledger still short of an "
                                                              "image, with what it lacks and why."),
        feed: str | None = typer.Option(None, "--feed", help="With --missing: only this feed's items."),
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """One product's images: what the store has, with the source URL of each, and the product's
        own pending and failed sources (attempts, next retry). --missing: every item short of one."""
        from wsync.cli.sync_cmd import _open_ledger, load_settings

        if missing:
            if product_id is not None or sku is not None:
                raise UsageError("--missing lists every item; give no PRODUCT_ID or --sku with it")
            settings = load_settings(require_store=False)
            doc = image_status.missing_doc(_open_ledger(settings), feed)
            if as_json:
                common.emit_json(doc)
            else:
                image_status.print_missing(common.out, doc)
            raise typer.Exit(EXIT_OK if not doc["count"] else EXIT_ITEM_ERRORS)
        if (product_id is None) == (sku is None):
            raise UsageError("give a PRODUCT_ID or --sku SKU (one of them), or --missing")
        settings = load_settings()
        doc = image_status.product_doc(settings, _open_ledger(settings), product_id=product_id, sku=sku)
        if as_json:
            common.emit_json(doc)
        else:
            image_status.print_product(common.out, doc)

    @images.command("process")
    def process_cmd(
        job: int | None = typer.Option(None, "--job", help="Attach the images of this import job's feed "
                                                              "(default: the latest import job)."),
        background: bool = typer.Option(False, "--background", help="Run in a detached worker."),
        retry_failed: bool = typer.Option(False, "--retry-failed-images", help="Try URLs that failed recently too."),
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """Attach the images an import scheduled but did not process (--no-process-images)."""
        from wsync.cli.sync_cmd import _open_ledger, load_settings
        from wsync.jobs.detached import start_detached_worker
        from wsync.jobs.runner import run_here
        from wsync.ledger.jobs import JobStore

        settings = load_settings()
        jobs = JobStore(_open_ledger(settings))
        if job is None:
            latest = [j for j in jobs.list(limit=50) if (j.get("kind") or "import") == "import"]
            if not latest:
                raise UsageError("no import job in the ledger yet", hint="run `wsync import FEED` first")
            source = latest[0]
        else:
            found = jobs.get(job)
            if found is None:
                raise UsageError(f"no job {job} in the ledger {settings.ledger_path}")
            source = found
        data = dict(source.get("job_data") or {})
        options = dict(data.get("options") or {})
        options["process_images"] = True
        if retry_failed:
            options["retry_failed_images"] = True
        data["options"] = options
        data["images_for_job"] = int(source["id"])
        job_id = jobs.create(kind="images", feed=source.get("feed"), job_data=data)
        if background:
            pid = start_detached_worker(common.STATE.config or settings.path, settings.ledger_path, job_id)
            doc = {"success": True, "message": f"Image job {job_id} scheduled", "job_id": job_id,
                   "scheduled": True, "worker_pid": pid}
            common.emit_json(doc) if as_json else common.out.print(doc["message"])
            raise typer.Exit(EXIT_OK)
        row = run_here(jobs, job_id, settings)
        result = row.get("result") or {}
        if row.get("status") == "failed":
            message = result.get("error") or "the image job failed"
            if as_json:
                common.emit_json({"success": False, "message": message, "job_id": job_id})
            common.err.print(f"error: {message}", markup=False)
            raise typer.Exit(EXIT_ITEM_ERRORS)
        result.setdefault("job_id", job_id)
        common.emit_json(result) if as_json else common.out.print(result.get("message", ""), markup=False)
        raise typer.Exit(EXIT_OK if result.get("success") else EXIT_ITEM_ERRORS)
