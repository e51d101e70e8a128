"""The product phase: plan the feed's products, push them in batches, record each answer.

Planning loads the ledger's records of the feed, looks up on the store the SKUs the ledger has no
id for (a first run against a filled store adopts them instead of creating duplicates), and
resolves categories, attributes and shipping classes (`run.taxonomy`, which the variations
reuse). Pushing sends creates and updates through `products/batch`; every answered batch is
recorded (`record_products`) before the next is looked at. A create refused because another
product already holds its SKU names that product: it is adopted and updated in place, once
every batch is in (`adoptable`).
"""

from __future__ import annotations

from typing import Any

from wsync.catalogue import Product
from wsync.ledger.items import ItemRecord, TermCache
from wsync.store.errors import StoreError
from wsync.sync import before_images
from wsync.sync.adopt import find_existing, read_products
from wsync.sync.journal import describe_create
from wsync.sync.links import keep_links
from wsync.sync.payload import content_hash, merge_pushed
from wsync.sync.plan import ItemPlan, plan_products
from wsync.sync.push import BatchPusher, Op, OpResult
from wsync.sync.rebuild import learned_state, pushed_from_store
from wsync.sync.run import ImportRun, describe_failure
from wsync.sync.taxonomy import Taxonomy

# What `record_products` reads from a saved product's answer: the store builds nothing else
# (recordings/33). A new reader of the answer adds its field here.
ANSWER_FIELDS = ("id", "sku")


def plan(run: ImportRun, products: list[Product]) -> list[ItemPlan]:
    """What to send for each product of a window (`run.records` loaded for it); the first
    window sets `run.taxonomy`, which every later one and the variations reuse."""
    unknown = [p.sku or p.key for p in products
               if not (run.records.get(("product", p.key)) and run.records[("product", p.key)].store_id)]
    # A plan writes nothing: the store's catalogue size, once learned, holds for every window.
    adopted = find_existing(run.client, unknown, run.catalogue_size if run.dry_run else None) if unknown else {}
    if run.taxonomy is None:
        run.taxonomy = Taxonomy(run.client, TermCache(run.ledger), dry_run=run.dry_run or bool(run.opts.only))
        before_images.watch_terms(run, run.taxonomy)
    run.taxonomy.prepare_categories((path for p in products for path in p.categories), run.limit.allowed())
    # Adopted products are read whole once (100 per request), so only what differs is sent.
    ids = [int(o["id"]) for o in adopted.values() if o.get("type") != "variation" and o.get("id")]
    states = read_products(run.client, ids) if ids and not run.opts.force else {}
    return plan_products(products, run.records, adopted, run.feed, run.taxonomy, run.opts, run.ctx.job_id,
                         store_states=states, store_pushed=_pushed)


def _pushed(obj: dict[str, Any]) -> dict[str, Any]:
    return pushed_from_store(obj, "product")


def push(run: ImportRun, plans: list[ItemPlan]) -> None:
    """Send the planned creates and updates; count the products nothing is sent for."""
    by_key = {p.key: p for p in plans}
    ops = []
    for item in plans:
        if item.action == "create":
            ops.append(Op("create", item.send, ref=item.key, sku=item.sku))
        elif item.action == "update":
            ops.append(Op("update", {**item.send, "id": item.store_id}, ref=item.key, sku=item.sku))
        else:
            run.count_quiet(item)
    learn_adopted(run, plans)
    run.report("products")
    pusher = BatchPusher(run.client, "products/batch", size=run.opts.products_per_batch,
                         concurrency=run.limit, reconcile=lambda creates: reconcile(run, creates),
                         should_stop=run.ctx.should_stop, max_request_s=run.max_request_s,
                         journal=run.journal("product", describe_create), on_wait=run.waiting,
                         fields=ANSWER_FIELDS, taper=True)
    retry: list[Op] = []
    before_images.note_before(run, "product", plans)
    for results in pusher.run(ops):
        retry += record_products(run, results, by_key)
    if retry and not run.ctx.should_stop():
        # A duplicate-SKU answer named the product that holds the SKU: adopt it and update.
        for results in pusher.run(retry):
            record_products(run, results, by_key, adopting=True)


def learn_adopted(run: ImportRun, plans: list[ItemPlan]) -> None:
    """Adopted products the store already holds as the feed says: nothing is sent, and the ledger
    learns them (ids for the variations, links and images that follow; `learned_state`), with
    the links they show on the store, so the links phase sends only those that differ."""
    if run.dry_run:
        return
    records = []
    for item in plans:
        if not (item.adopted and item.action == "unchanged" and item.store_id and item.store_state is not None):
            continue
        pushed = learned_state(item, run.opts.only)
        digest = content_hash(pushed)  # of the payload alone, as a pushed product's (links apart)
        rec = ItemRecord("product", item.key, sku=item.sku, store_id=int(item.store_id),
                         pushed=keep_links(pushed, _pushed(item.store_state)), hash=digest)
        run.records[("product", item.key)] = rec
        records.append(rec)
    run.items.save(records)


def reconcile(run: ImportRun, creates: list[Op]) -> dict[int, dict[str, Any]]:
    """Which creates of a request that failed as a whole the store saved anyway (by SKU)."""
    found = {}
    by_sku = {o["sku"]: o for o in run.client.find_by_skus([op.sku for op in creates if op.sku],
                                                           fields=["id", "sku", "type", "parent_id"])
              if o.get("type") != "variation"}
    for index, op in enumerate(creates):
        if op.sku in by_sku:
            found[index] = by_sku[op.sku]
    return found


def record_products(run: ImportRun, results: list[OpResult], by_key: dict[str, ItemPlan],
                    adopting: bool = False) -> list[Op]:
    """One answered batch into the ledger and the counts. Returns the updates that adopt the
    products holding the SKUs of refused creates, to be sent once every batch is in."""
    retry: list[Op] = []
    records = []
    conflicts: list[tuple[ItemPlan, StoreError]] = []
    for result in results:
        item = by_key[result.op.ref]
        if result.ok and result.data:
            created = result.op.action == "create" or result.op.origin == "create"
            rec = run.records.get(("product", item.key)) or ItemRecord("product", item.key)
            rec.sku = item.sku
            rec.store_id = int(result.data["id"])
            if run.opts.only:
                rec.pushed = merge_pushed(rec.pushed, item.send)
            else:
                rec.pushed, rec.hash = keep_links(dict(item.desired), rec.pushed), content_hash(item.desired)
            rec.missing_action = None
            rec.last_job_id, rec.last_action = run.ctx.job_id, "created" if created and not adopting else "updated"
            run.records[("product", item.key)] = rec
            records.append(rec)
            if created and not adopting:
                run.counts.created += 1
                run.created_now.add(("product", item.key))
            else:
                run.counts.updated += 1
            run.counts.processed += 1
            continue
        error = result.error
        resource = error.resource_id if error is not None else None
        if (error is not None and error.code == "product_invalid_sku" and resource and not adopting
                and result.op.action == "create"):
            conflicts.append((item, error))
            continue
        fail(run, item, error)
    if conflicts:
        retry = adoptable(run, conflicts)
    run.items.save(records)
    run.report("products")
    return retry


def fail(run: ImportRun, item: ItemPlan, error: StoreError | None, note: str = "") -> None:
    """A product the store refused, or could not be sent: failed, and its error recorded."""
    run.counts.failed += 1
    run.counts.processed += 1
    run.ctx.error("product", item.sku, describe_failure(error) + note, error.code if error else None)


def adoptable(run: ImportRun, conflicts: list[tuple[ItemPlan, StoreError]]) -> list[Op]:
    """A create refused for a duplicate SKU names who holds it. A product is adopted (updated
    in place); a variation elsewhere is a real conflict the merchant must resolve."""
    holders = {o["sku"]: o for o in run.client.find_by_skus([p.sku for p, _ in conflicts if p.sku],
                                                            fields=["id", "sku", "type", "parent_id"])}
    retry = []
    for item, error in conflicts:
        holder = holders.get(item.sku)
        if holder is None or holder.get("type") == "variation" or int(holder["id"]) != error.resource_id:
            where = (f"a variation (#{holder['id']} of product #{holder.get('parent_id')})"
                     if holder and holder.get("type") == "variation" else f"#{error.resource_id}")
            fail(run, item, error, f"; the SKU is held by {where}")
            continue
        item.store_id = int(holder["id"])
        retry.append(Op("update", {**item.desired, "id": item.store_id}, ref=item.key, sku=item.sku))
    return retry
