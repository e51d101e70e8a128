"""The image phase, as a run takes part in it: once products and variations have landed.

How images are deduplicated, adopted, probed, sent and recorded is wsync.sync.images
(`ImagePhase`); here it is wired to the run (its client, ledger, options, error list, checkpoint
and journal), planned (which items need an image request), pushed, and the job's result told
which items still lack an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wsync.catalogue import Product
from wsync.ledger.items import ImageMap
from wsync.sync.images import ImagePhase, ImageReport, ImageTask
from wsync.sync.journal import describe_image_update
from wsync.sync.run import ImportRun

# SKUs of items still lacking an image, listed in a job's result (the count is always whole).
MISSING_SKUS_SHOWN = 100


@dataclass
class ImagePlan:
    phase: ImagePhase
    tasks: list[ImageTask]  # the items that need an image request

    @property
    def scheduled(self) -> int:
        """Image slots in the items that need a request."""
        return sum(len(t.urls) for t in self.tasks)


def start(run: ImportRun) -> ImagePhase:
    """The image phase for this run: its errors into the job's, its checkpoint after each batch."""
    ctx = run.ctx

    def on_error(stage: str, sku: str | None, message: str, code: str | None, key: str | None) -> None:
        ctx.error(stage, sku, message, code)

    def on_saved(report: ImageReport) -> None:
        ctx.checkpoint({"phase": "images", "counts": run.counts.as_dict(), "images": report.to_dict()})

    return ImagePhase(run.client, run.items, ImageMap(run.ledger), run.opts,
                      on_error=on_error, should_stop=ctx.should_stop, max_request_s=run.max_request_s,
                      on_saved=on_saved, journal=run.journal("image", describe_image_update),
                      on_wait=run.waiting, limit=run.limit)


def plan(run: ImportRun, products: list[Product], phase: ImagePhase | None = None) -> ImagePlan:
    """Which saved items of these products (`run.records` loaded for them) need an image request
    (items created in this run have none yet). A job plans and pushes a window at a time
    through one phase, whose report adds up."""
    phase = phase or start(run)
    return ImagePlan(phase, phase.tasks(products, run.records, run.created_now))


def push(run: ImportRun, planned: ImagePlan) -> ImageReport:
    """Send the planned image requests; the phase records each answer in the ledger."""
    return planned.phase.run(planned.tasks)


def report_missing(doc: dict[str, Any], phase: ImagePhase, run: ImportRun, *, counting: bool) -> None:
    """Every run says which items still lack an image, also a run that sent nothing. An image
    that failed is an image error on an item that was saved, not a failed item; the job is not a
    success while an item lacks an image, unless all it lacks failed permanently in an earlier
    job that reported it (then one line says so)."""
    missing = phase.missing(run.items.iter_records())
    image_errors = phase.report.failed_items
    doc["image_errors"] = image_errors
    doc["images_missing"] = len(missing)
    doc["images_missing_skus"] = [m.sku for m in missing][:MISSING_SKUS_SHOWN]
    if not counting:
        return  # --no-process-images: they wait for `wsync images process`
    new = [m for m in missing if not m.reported]
    if new or image_errors:
        doc["success"] = False
        doc["message"] += f", Images missing: {len(missing)}"
    elif missing:
        note = (f"{len(missing)} item(s) still lack images whose URLs failed permanently in an earlier job "
                "(`wsync images status --missing` lists them; --retry-failed-images tries them again)")
        doc["message"] += f". {note}"
        run.ctx.message(note)
