"""The missing phase: products the ledger knows for this feed that the feed no longer lists.

`--missing keep` (the default) leaves them alone; `outofstock` and `draft` update them in
product batches; `trash` deletes each one on its own (a batch delete is permanent, a single
DELETE goes to the trash). Touching more than 20 % of the feed's size is refused without
`--allow-mass-change`: a feed that came in short should not empty the store.
"""

from __future__ import annotations

from collections.abc import Container, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from wsync.catalogue import Product
from wsync.errors import UsageError
from wsync.ledger.items import ItemRecord
from wsync.mapping.spill import SpilledProducts
from wsync.sync import before_images
from wsync.sync.payload import content_hash, merge_pushed
from wsync.sync.plan import ItemPlan, plan_missing
from wsync.sync.push import BatchPusher, Op, OpResult
from wsync.sync.run import ImportRun, describe_failure

# A trash that finds the product already trashed, or gone, has nothing left to do.
_ALREADY_GONE = ("woocommerce_rest_already_trashed", "woocommerce_rest_product_invalid_id")


def plan(run: ImportRun, products: list[Product] | SpilledProducts) -> list[ItemPlan]:
    """The products that left the feed, to be handled by `--missing`: the ledger's products of
    the feed read from a cursor, each looked up among the feed's keys (on disk for a spilled
    feed). Their records wait in `run.missing_records`. Raises UsageError over the mass-change
    limit, before anything is written."""
    if run.opts.missing == "keep" or run.opts.only:
        return []
    present: Container[str] = products if isinstance(products, SpilledProducts) else {p.key for p in products}
    records: dict[str, ItemRecord] = {}

    def ledger_products() -> Iterator[ItemRecord]:
        for rec in run.items.iter_records("product"):
            if rec.key not in present and rec.store_id:
                records[rec.key] = rec
            yield rec

    missing = plan_missing(present, ledger_products(), run.opts)
    run.missing_records = {p.key: records[p.key] for p in missing}
    if missing and not run.opts.allow_mass_change and len(missing) > 0.2 * max(len(products), 1):
        raise UsageError(
            f"--missing {run.opts.missing} would touch {len(missing)} products that left the feed, more than "
            f"20 % of the feed's {len(products)}", hint="check the feed; if it is right, add --allow-mass-change")
    return missing


def push(run: ImportRun, missing: list[ItemPlan]) -> None:
    """Trash, draft or mark out of stock each product that left the feed."""
    if not missing:
        return
    before_images.note_missing(run, missing)
    if run.opts.missing == "trash":
        records = _trash(run, missing)
    else:
        records = _update(run, missing)
    run.items.save(records)


def _trash(run: ImportRun, missing: list[ItemPlan]) -> list[ItemRecord]:
    # Batch delete is always permanent; trashing (recoverable) takes one DELETE each.
    def trash(item: ItemPlan) -> tuple[ItemPlan, Exception | None]:
        try:
            run.client.delete(f"products/{item.store_id}")
            return item, None
        except Exception as exc:  # recorded per item below
            return item, exc

    with ThreadPoolExecutor(max_workers=run.limit.allowed()) as pool:
        outcomes = list(pool.map(trash, missing))
    records = []
    for item, exc in outcomes:
        code = getattr(exc, "code", None)
        if exc is None or code in _ALREADY_GONE:
            records.append(record_missing(run, item))
        else:
            run.ctx.error("missing", item.sku, str(exc), code)
    return records


def _update(run: ImportRun, missing: list[ItemPlan]) -> list[ItemRecord]:
    action = run.opts.missing
    body = {"stock_status": "outofstock", "manage_stock": False} if action == "outofstock" else {"status": "draft"}
    ops = [Op("update", {**body, "id": p.store_id}, ref=p, sku=p.sku) for p in missing]
    pusher = BatchPusher(run.client, "products/batch", size=run.opts.products_per_batch,
                         concurrency=run.limit)
    records = []
    for results in pusher.run(ops):
        records += _record_updates(run, results, body)
    return records


def _record_updates(run: ImportRun, results: list[OpResult], body: dict[str, Any]) -> list[ItemRecord]:
    records = []
    for result in results:
        item: ItemPlan = result.op.ref
        if result.ok:
            rec = record_missing(run, item)
            rec.pushed = merge_pushed(rec.pushed, body)
            rec.hash = content_hash(rec.pushed)
            records.append(rec)
        else:
            run.ctx.error("missing", item.sku, describe_failure(result.error),
                          result.error.code if result.error else None)
    return records


def record_missing(run: ImportRun, item: ItemPlan) -> ItemRecord:
    """A product that left the feed was handled: the ledger says how, so it is not done again."""
    rec = run.missing_records[item.key]
    rec.missing_action = run.opts.missing
    run.counts.removed += 1
    return rec
