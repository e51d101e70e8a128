"""`wsync images status` and `wsync images process`."""

from __future__ import annotations

from typing import Any, Optional

import typer

from wsync.cli import common
from wsync.errors import EXIT_ITEM_ERRORS, EXIT_OK, UsageError


def register(app: typer.Typer) -> None:
    images = typer.Typer(help="Product images: what the store has, and attaching the ones still pending.",
                         no_args_is_help=True)
    app.add_typer(images, name="images")

    @images.command("status")
    def status_cmd(
        product_id: Optional[int] = typer.Argument(None, help="The store's product id."),
        sku: Optional[str] = typer.Option(None, "--sku", help="Find the product by SKU instead."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """A product's images as the store has them, with the source URLs the ledger knows."""
        from wsync.cli.sync_cmd import _open_ledger, load_settings
        from wsync.store import StoreClient

        if (product_id is None) == (sku is None):
            raise UsageError("give a PRODUCT_ID or --sku SKU (one of them)")
        settings = load_settings()
        with StoreClient(settings.store) as client:
            if sku is not None:
                found = [p for p in client.find_by_skus([sku], fields=["id", "sku", "type", "parent_id"])]
                if not found:
                    raise UsageError(f"no product or variation with SKU {sku!r} on the store")
                product_id = int(found[0]["id"])
                if found[0].get("type") == "variation":
                    obj = client.get(f"products/{found[0]['parent_id']}/variations/{product_id}").data
                    images = [obj["image"]] if obj.get("image") else []
                else:
                    images = client.get(f"products/{product_id}").data.get("images") or []
            else:
                images = client.get(f"products/{product_id}").data.get("images") or []
        ledger = _open_ledger(settings)
        ids = [int(i["id"]) for i in images if i.get("id")]
        sources: dict[int, str] = {}
        if ids:
            marks = ",".join("?" * len(ids))
            for row in ledger.conn.execute(f"SELECT url, attachment_id FROM images WHERE attachment_id IN ({marks})", ids):
                sources.setdefault(row["attachment_id"], row["url"])
        doc: dict[str, Any] = {
            "success": True,
            "product_id": product_id,
            "featured_image": ids[0] if ids else None,
            "gallery_images": ids[1:],
            "total_images": len(ids),
            "featured_image_url": images[0].get("src") if images else None,
            "images": [{"id": int(i["id"]), "src": i.get("src"), "source_url": sources.get(int(i["id"]))}
                       for i in images if i.get("id")],
            "failed_sources": [dict(r) for r in ledger.conn.execute(
                "SELECT url, code, message, attempts, failed_at FROM image_failures ORDER BY failed_at DESC LIMIT 20")],
        }
        if as_json:
            common.emit_json(doc)
            return
        common.out.print(f"product {product_id}: {len(ids)} images", markup=False)
        for n, img in enumerate(doc["images"]):
            role = "featured" if n == 0 else "gallery"
            common.out.print(f"  {role:8} #{img['id']} {img['src']}"
                             + (f"\n           from {img['source_url']}" if img["source_url"] else ""), markup=False)

    @images.command("process")
    def process_cmd(
        job: Optional[int] = typer.Option(None, "--job", help="Attach the images of this import job's feed "
                                                              "(default: the latest import job)."),
        background: bool = typer.Option(False, "--background", help="Run in a detached worker."),
        retry_failed: bool = typer.Option(False, "--retry-failed-images", help="Try URLs that failed recently too."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Attach the images an import scheduled but did not process (--no-process-images)."""
        from wsync.cli.sync_cmd import _open_ledger, load_settings
        from wsync.jobs.detached import start_detached_worker
        from wsync.jobs.runner import run_claimed, worker_identity
        from wsync.ledger.jobs import JobStore

        settings = load_settings()
        jobs = JobStore(_open_ledger(settings))
        if job is None:
            latest = [j for j in jobs.list(limit=50) if (j.get("kind") or "import") == "import"]
            if not latest:
                raise UsageError("no import job in the ledger yet", hint="run `wsync import FEED` first")
            source = latest[0]
        else:
            source = jobs.get(job)
            if source is None:
                raise UsageError(f"no job {job} in the ledger {settings.ledger_path}")
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
        pid, host = worker_identity()
        claimed = jobs.claim(job_id, worker_pid=pid, worker_host=host)
        row = run_claimed(jobs, claimed, settings)
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
