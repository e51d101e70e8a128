"""The variation phase: each saved variable product's variations, one parent at a time.

WooCommerce's variations endpoint is per parent (`products/{id}/variations/batch`), so each
parent is planned, pushed and recorded on its own (as many parents in flight as the job's limit
allows, asked again before each is sent: wsync.store.limiter). A parent
that failed fails its variations (they cannot exist yet); one skipped on purpose
(`--no-create-new`, `--only`) skips them. The store's variations of a parent are read only when
the ledger knows none of them, so a second run reads nothing. Stale variations (on the store or
in the ledger, not in the feed) are deleted under `--stale-variations delete`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

from wsync.catalogue import Product
from wsync.ledger.items import ItemRecord
from wsync.sync import before_images
from wsync.sync.adopt import read_variations
from wsync.sync.payload import content_hash, merge_pushed
from wsync.sync.phases import across_parents
from wsync.sync.phases.variation_requests import ParentWork, send_alone
from wsync.sync.plan import ItemPlan, plan_variations, variations_by_parent
from wsync.sync.push import Op, OpResult
from wsync.sync.rebuild import learned_state, pushed_from_store
from wsync.sync.run import ImportRun, describe_failure
from wsync.sync.taxonomy import Taxonomy

# What one parent's push gives back to be recorded: the parent, its id, its plans and the answers.
ParentDone = tuple[Product, int, list[ItemPlan], list[OpResult]]
T = TypeVar("T")


def plan(run: ImportRun, products: list[Product], product_plans: list[ItemPlan]) -> list[ItemPlan]:
    """Every variable product's variations, as `wsync plan` shows them (reads only)."""
    plans: list[ItemPlan] = []
    # By key once: looking each parent's plan up by scanning the list made planning quadratic.
    plan_by_key = {p.key: p for p in product_plans}
    for product in products:
        if product.type != "variable":
            continue
        rec = run.records.get(("product", product.key))
        parent_plan = plan_by_key.get(product.key)
        parent_id = rec.store_id if rec and rec.store_id else (parent_plan.store_id if parent_plan else None)
        known = any(True for _ in _known_records(run, product))
        store_vars = read_variations(run.client, parent_id, whole=True) if (parent_id and not known) else None
        plans += plan_variations(product, parent_id, run.records, store_vars, CachedResolver(run.taxonomy),
                                 run.opts, None, by_parent=by_parent(run), store_pushed=_pushed)
    return plans


def push(run: ImportRun, products: list[Product]) -> None:
    """Push the variations of every variable product the product phase saved."""
    # Index the ledger's variations by parent now, before worker threads read it.
    run.parent_index = variations_by_parent(run.records)
    parents = []
    for product in products:
        if product.type != "variable":
            continue
        rec = run.records.get(("product", product.key))
        if rec is None or not rec.store_id:
            if product.key in run.skipped_now:
                # The parent was skipped on purpose (--no-create-new, --only): so are they.
                run.counts.add("variation", "skipped", len(product.variations))
                continue
            # The parent failed: its variations cannot exist yet.
            run.counts.add("variation", "failed", len(product.variations))
            for v in product.variations:
                run.ctx.error("variation", v.sku or v.key, f"parent {product.sku or product.key} was not saved",
                              "wsync_parent_missing")
            continue
        parents.append((product, rec.store_id))
    if not parents:
        return
    if run.opts.variations_across_parents and run.across_parents is not False:
        across_parents.push(run, [prepare(run, p) for p in _in_flight(run, _plan_parent, parents)],
                            record=record_variations)
        return
    for done in _in_flight(run, push_parent, parents):
        record_variations(run, *done)


def _in_flight(run: ImportRun, work: Callable[[ImportRun, Product, int], T],
               parents: list[tuple[Product, int]]) -> Iterator[T]:
    """`work` for each parent, as many at a time as the job's limit allows (asked again before
    each is started); results in the caller's thread, as they complete."""
    with ThreadPoolExecutor(max_workers=run.limit.ceiling, thread_name_prefix="wsync-var") as pool:
        pending: set[Future[T]] = set()
        it = iter(parents)
        while True:
            while len(pending) < run.limit.allowed() and not run.ctx.should_stop():
                nxt = next(it, None)
                if nxt is None:
                    break
                pending.add(pool.submit(work, run, *nxt))
            if not pending:
                break
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()


def push_parent(run: ImportRun, product: Product, parent_id: int) -> ParentDone:
    """Plan one parent's variations and send them (in a worker thread; recorded by the caller)."""
    done = prepare(run, _plan_parent(run, product, parent_id))
    return product, parent_id, done.plans, send_alone(run, done, done.ops)


def _plan_parent(run: ImportRun, product: Product, parent_id: int) -> tuple[Product, int, list[ItemPlan]]:
    """One parent's variations planned (the store read only when the ledger knows none of them
    and the parent was not created just now)."""
    known = any(r.parent_key == product.key and r.kind == "variation" and r.store_id
                for r in _known_records(run, product))
    fresh = ("product", product.key) in run.created_now
    store_vars = None if (fresh or known) else read_variations(run.client, parent_id, whole=True)
    plans = plan_variations(product, parent_id, run.records, store_vars, CachedResolver(run.taxonomy), run.opts,
                            run.ctx.job_id, by_parent=by_parent(run), store_pushed=_pushed)
    return product, parent_id, plans


def prepare(run: ImportRun, planned: tuple[Product, int, list[ItemPlan]]) -> ParentWork:
    """A planned parent's requests: each create and update names its product_id, so it can travel
    in a request of several parents' variations (recordings/34); under its own parent's URL the
    two agree."""
    product, parent_id, plans = planned
    ops = []
    for item in plans:
        if item.action == "create":
            ops.append(Op("create", {**item.send, "product_id": parent_id}, ref=item, sku=item.sku))
        elif item.action == "update":
            ops.append(Op("update", {**item.send, "id": item.store_id, "product_id": parent_id}, ref=item,
                          sku=item.sku))
        elif item.action == "remove":
            ops.append(Op("delete", {"id": item.store_id}, ref=item, sku=item.sku))
    if ops:
        before_images.note_before(run, "variation", plans, parent_id)
    return ParentWork(product, parent_id, plans, ops)


def _pushed(obj: dict[str, Any]) -> dict[str, Any]:
    return pushed_from_store(obj, "variation")


def by_parent(run: ImportRun) -> dict[str, list[ItemRecord]]:
    """The ledger's variations by parent key. Built once, before variations are pushed; later
    writes only add the feed's own variations, which are matched by key, so the stale-variation
    lookup stays right."""
    with run.lock:
        if run.parent_index is None:
            run.parent_index = variations_by_parent(run.records)
        return run.parent_index


def _known_records(run: ImportRun, product: Product) -> list[ItemRecord]:
    """The ledger's records of the product's variations in the feed."""
    return [run.records[("variation", v.key)] for v in product.variations if ("variation", v.key) in run.records]


def record_variations(run: ImportRun, product: Product, parent_id: int, plans: list[ItemPlan],
                      results: list[OpResult]) -> None:
    """One parent's answers into the ledger and the counts; deleted variations leave the ledger."""
    sent = {id(r.op.ref) for r in results}
    records, deleted = [], []
    for item in plans:
        if id(item) not in sent and item.action != "remove":
            run.count_quiet(item)
            if item.adopted and item.action == "unchanged" and item.store_id:
                # Adopted as the store already has it: nothing sent, and the ledger learns it.
                pushed = learned_state(item, run.opts.only)
                rec = ItemRecord("variation", item.key, sku=item.sku, store_id=int(item.store_id),
                                 parent_key=product.key, parent_id=parent_id, pushed=pushed,
                                 hash=content_hash(pushed))
                with run.lock:
                    run.records[("variation", item.key)] = rec
                records.append(rec)
    for result in results:
        item = result.op.ref
        if result.op.action == "delete":
            if result.ok or (result.error and result.error.status == 404):
                run.counts.variations_deleted += 1
                if not item.key.startswith("store:"):
                    deleted.append(item.key)
            else:
                run.ctx.error("variation", item.sku, describe_failure(result.error),
                              result.error.code if result.error else None)
            continue
        if result.ok and result.data:
            created = result.op.action == "create" or result.op.origin == "create"
            rec = run.records.get(("variation", item.key)) or ItemRecord("variation", item.key)
            rec.sku, rec.store_id = item.sku, int(result.data["id"])
            rec.parent_key, rec.parent_id = product.key, parent_id
            if run.opts.only:
                rec.pushed = merge_pushed(rec.pushed, item.send)
            else:
                rec.pushed, rec.hash = dict(item.desired), content_hash(item.desired)
            rec.last_job_id, rec.last_action = run.ctx.job_id, "created" if created else "updated"
            with run.lock:
                run.records[("variation", item.key)] = rec
            records.append(rec)
            run.counts.add("variation", "created" if created else "updated")
        else:
            run.counts.add("variation", "failed")
            run.ctx.error("variation", item.sku, describe_failure(result.error),
                          result.error.code if result.error else None)
    run.items.save(records)
    run.items.delete("variation", deleted)
    for key in deleted:
        run.records.pop(("variation", key), None)
    run.report("variations")


class CachedResolver:
    """Variation payloads need the global attribute ids the product phase already resolved:
    they are read from its taxonomy, never looked up again (none in a run without one)."""

    def __init__(self, taxonomy: Taxonomy | None):
        self._taxonomy = taxonomy

    def category_ids(self, paths: list[list[str]]) -> list[int | str]:
        return self._taxonomy.category_ids(paths) if self._taxonomy else []

    def attribute_id(self, name: str) -> int | None:
        return self._taxonomy.attribute_id(name) if self._taxonomy else None

    def shipping_class_slug(self, name: str) -> str:
        return self._taxonomy.shipping_class_slug(name) if self._taxonomy else ""
