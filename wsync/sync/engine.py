"""An import job from start to end: feed -> plan -> products -> variations -> missing -> images.

Both the foreground `wsync import` and the background worker run jobs through `run_import`, so
a job behaves the same either way. Every finished batch is written to the ledger before the
next one starts (item ids, pushed state, counts, a checkpoint), which is what lets a job whose
worker died be resumed without redoing finished work: re-planning a resumed job finds those
items already pushed and counts them as the earlier attempt did.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable

from wsync.catalogue import Product
from wsync.errors import FeedRefused, UsageError
from wsync.ledger import Ledger
from wsync.ledger.items import FeedStateStore, ImageMap, ItemMap, ItemRecord, TermCache
from wsync.ledger.pending import PendingWrites
from wsync.sync.adopt import find_existing, read_variations
from wsync.sync.images import ImagePhase, count_distinct

# SKUs of items still lacking an image, listed in a job's result (the count is always whole).
MISSING_SKUS_SHOWN = 100
from wsync.sync.journal import Describe, WriteJournal, describe_create, describe_image_update
from wsync.sync.links import keep_links, plan_links
from wsync.sync.options import ImportOptions
from wsync.sync.payload import content_hash, merge_pushed
from wsync.sync.plan import ItemPlan, plan_missing, plan_products, plan_variations, variations_by_parent
from wsync.sync.push import BatchPusher, Op, OpResult, Unsettled
from wsync.sync.settle import DEFAULT_MAX_REQUEST_S, MAX_REQUEST_CEILING_S, settle_orphaned_writes
from wsync.sync.taxonomy import Taxonomy
from wsync.sync import undo

log = logging.getLogger("wsync.sync.engine")

Progress = Callable[[dict[str, Any]], None]


@dataclass
class Counts:
    """What a job did, each item counted once, in one place. The unprefixed counts are PRODUCTS
    of the feed: created + updated + unchanged + skipped + failed == processed (removed counts
    products that left the feed). `variations_*` count the feed's variations the same way
    (variations_deleted: stale ones the store no longer needs). `feed_errors` are feed records
    refused before planning: neither a product nor a variation, and never in `failed`."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    removed: int = 0
    failed: int = 0
    processed: int = 0
    variations_created: int = 0
    variations_updated: int = 0
    variations_deleted: int = 0
    variations_unchanged: int = 0
    variations_skipped: int = 0
    variations_failed: int = 0
    variations_processed: int = 0
    feed_errors: int = 0

    def add(self, kind: str, outcome: str, n: int = 1) -> None:
        """n items of `kind` (product | variation) ended as `outcome` (created, updated,
        unchanged, skipped or failed): counted there and as processed."""
        prefix = "variations_" if kind == "variation" else ""
        setattr(self, prefix + outcome, getattr(self, prefix + outcome) + n)
        setattr(self, prefix + "processed", getattr(self, prefix + "processed") + n)

    @property
    def items_processed(self) -> int:
        """Products and variations processed: what progress is measured in."""
        return self.processed + self.variations_processed

    @property
    def errors(self) -> int:
        """Items in error: failed products, failed variations and refused feed records."""
        return self.failed + self.variations_failed + self.feed_errors

    def variations(self) -> dict[str, int]:
        return {"created": self.variations_created, "updated": self.variations_updated,
                "unchanged": self.variations_unchanged, "skipped": self.variations_skipped,
                "failed": self.variations_failed, "processed": self.variations_processed,
                "deleted": self.variations_deleted}

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class JobContext:
    """What a running job reports to: the ledger's job row, and an optional progress callback."""

    job_id: int | None
    jobs: Any | None  # JobStore, or None for a plan (no job)
    should_stop: Callable[[], bool] = lambda: False
    progress: Progress | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, stage: str, sku: str | None, message: str, code: str | None = None) -> None:
        self.errors.append({"stage": stage, "sku": sku, "code": code, "message": message})
        if self.jobs is not None and self.job_id is not None:
            self.jobs.add_error(self.job_id, sku=sku, stage=stage, code=code, message=message)


def feed_spec_for(job_data: dict[str, Any], settings: Any) -> Any:
    """The FeedSpec a job names: a feed from wsync.toml, or an ad-hoc source with preset/format."""
    from wsync.feeds import FeedSpec

    name = job_data.get("feed")
    feeds = getattr(settings, "feeds", {}) or {}
    if name and name in feeds and not job_data.get("source"):
        return FeedSpec.from_config(name, feeds[name], getattr(settings, "base_dir", None))
    source = job_data.get("source") or name
    if not source:
        raise UsageError("the job names no feed", hint="give a feed name from wsync.toml, or a path/URL")
    return FeedSpec.adhoc(source, preset=job_data.get("preset"), format=job_data.get("format"),
                          name=job_data.get("feed_name"))


def make_client(settings: Any) -> Any:
    from wsync.errors import ConfigError
    from wsync.store import StoreClient

    if getattr(settings, "store", None) is None:
        raise ConfigError("no store is configured", key="store.url",
                          hint="set [store] url in wsync.toml, or WSYNC_STORE_URL and the key variables")
    return StoreClient(settings.store)


class Importer:
    def __init__(self, *, ledger: Ledger, client: Any, feed: str, options: ImportOptions, ctx: JobContext,
                 dry_run: bool = False, max_request_s: float = 0.0, measured: bool = False):
        self.ledger = ledger
        self.client = client
        self.feed = feed
        self.opts = options
        self.ctx = ctx
        self.dry_run = dry_run
        self._max_request_s = max_request_s
        self._measured = measured
        self.pending = PendingWrites(ledger)
        self.items = ItemMap(ledger, feed)
        self.records: dict[tuple[str, str], ItemRecord] = {}
        self.counts = Counts()
        self.total = 0
        self.created_now: set[tuple[str, str]] = set()
        self.skipped_now: set[str] = set()  # keys of products skipped on purpose (their variations too)
        self.started = time.monotonic()
        self._lock = threading.Lock()

    # -- reporting ---------------------------------------------------------------------
    def _report(self, phase: str) -> None:
        ctx = self.ctx
        # Progress is over products and variations (self.total counts both); the ledger's
        # processed/created/updated/unchanged are products, its errors are Counts.errors.
        items = self.counts.items_processed
        progress = round(100.0 * items / self.total, 1) if self.total else 100.0
        if ctx.jobs is not None and ctx.job_id is not None:
            ctx.jobs.update_progress(ctx.job_id, progress=min(progress, 99.0 if phase != "done" else 100.0),
                                     processed=self.counts.processed, created=self.counts.created,
                                     updated=self.counts.updated, unchanged=self.counts.unchanged,
                                     errors=self.counts.errors)
            ctx.jobs.save_checkpoint(ctx.job_id, {"phase": phase, "counts": self.counts.as_dict()})
        if ctx.progress is not None:
            ctx.progress({"phase": phase, **self.counts.as_dict(), "items_processed": items, "total": self.total})

    @property
    def max_request_s(self) -> float:
        """The longest a store request may run. With `measured`, never less than twice the longest
        request this job has seen answered (a store that took 200 s to answer may take longer
        unanswered), at most an hour."""
        if not self._measured:
            return self._max_request_s
        seen = float(getattr(getattr(self.client, "counters", None), "longest_s", 0.0) or 0.0)
        return min(max(self._max_request_s, 2 * seen), MAX_REQUEST_CEILING_S)

    def journal(self, kind: str, describe: Describe, parent_id: int | None = None) -> WriteJournal | None:
        """Where this job notes the writes that could land twice (none for a plan)."""
        if self.dry_run:
            return None
        return WriteJournal(self.pending, job_id=self.ctx.job_id, feed=self.feed, kind=kind, describe=describe,
                            parent_id=parent_id)

    def _waiting(self, info: dict[str, Any]) -> None:
        """A request that may still be running left creates unconfirmed: say so where status reads."""
        until = time.strftime("%H:%M:%S", time.localtime(info["until"]))
        log.info("waiting for %d item(s) of a request to %s that may still be saving (until %s)",
                 info["missing"], info["endpoint"], until)
        if self.ctx.jobs is not None and self.ctx.job_id is not None:
            self.ctx.jobs.save_checkpoint(self.ctx.job_id, {
                "phase": "settling", "counts": self.counts.as_dict(),
                "settling": {"requests": 1, "items": info["missing"], "endpoint": info["endpoint"],
                             "until": _iso(info["until"]),
                             "why": "a request that timed out or lost its connection may still be saving"}})

    # -- planning ----------------------------------------------------------------------
    def plan(self, products: list[Product]) -> tuple[list[ItemPlan], list[ItemPlan], Taxonomy]:
        self.records = self.items.load()
        unknown = [p.sku or p.key for p in products
                   if not (self.records.get(("product", p.key)) and self.records[("product", p.key)].store_id)]
        adopted = find_existing(self.client, unknown) if unknown else {}
        taxonomy = Taxonomy(self.client, TermCache(self.ledger), dry_run=self.dry_run or bool(self.opts.only))
        undo.watch_terms(self, taxonomy)
        plans = plan_products(products, self.records, adopted, self.feed, taxonomy, self.opts, self.ctx.job_id)
        missing = plan_missing(products, self.records, self.opts)
        if missing and not self.opts.allow_mass_change and len(missing) > 0.2 * max(len(products), 1):
            raise UsageError(
                f"--missing {self.opts.missing} would touch {len(missing)} products that left the feed, more than "
                f"20 % of the feed's {len(products)}", hint="check the feed; if it is right, add --allow-mass-change")
        return plans, missing, taxonomy

    # -- products ----------------------------------------------------------------------
    def push_products(self, plans: list[ItemPlan]) -> None:
        by_key = {p.key: p for p in plans}
        ops = []
        for plan in plans:
            if plan.action == "create":
                ops.append(Op("create", plan.send, ref=plan.key, sku=plan.sku))
            elif plan.action == "update":
                ops.append(Op("update", {**plan.send, "id": plan.store_id}, ref=plan.key, sku=plan.sku))
            else:
                self._count_quiet(plan)
        self._report("products")
        pusher = BatchPusher(self.client, "products/batch", size=self.opts.products_per_batch,
                             concurrency=self.opts.concurrency, reconcile=self._reconcile_products,
                             should_stop=self.ctx.should_stop, max_request_s=self.max_request_s,
                             journal=self.journal("product", describe_create), on_wait=self._waiting)
        retry: list[Op] = []
        undo.note_before(self, "product", plans)
        for results in pusher.run(ops):
            retry += self._record_products(results, by_key)
        if retry and not self.ctx.should_stop():
            # A duplicate-SKU answer named the product that holds the SKU: adopt it and update.
            for results in pusher.run(retry):
                self._record_products(results, by_key, adopting=True)

    def _count_quiet(self, plan: ItemPlan) -> None:
        """A product or variation nothing is sent for: skipped, unchanged, or done by an earlier
        attempt of this job (counted as that attempt did)."""
        if plan.action == "skip" and plan.kind == "product":
            self.skipped_now.add(plan.key)
        outcome = "skipped" if plan.action == "skip" else (plan.done_earlier or "unchanged")
        self.counts.add(plan.kind, outcome)

    def _reconcile_products(self, creates: list[Op]) -> dict[int, dict[str, Any]]:
        found = {}
        by_sku = {o["sku"]: o for o in self.client.find_by_skus([op.sku for op in creates if op.sku],
                                                                   fields=["id", "sku", "type", "parent_id"])
                  if o.get("type") != "variation"}
        for index, op in enumerate(creates):
            if op.sku in by_sku:
                found[index] = by_sku[op.sku]
        return found

    def _record_products(self, results: list[OpResult], by_key: dict[str, ItemPlan],
                         adopting: bool = False) -> list[Op]:
        retry: list[Op] = []
        records = []
        conflicts: list[tuple[ItemPlan, Any]] = []
        for result in results:
            plan = by_key[result.op.ref]
            if result.ok and result.data:
                created = result.op.action == "create" or result.op.origin == "create"
                rec = self.records.get(("product", plan.key)) or ItemRecord("product", plan.key)
                rec.sku = plan.sku
                rec.store_id = int(result.data["id"])
                if self.opts.only:
                    rec.pushed = merge_pushed(rec.pushed, plan.send)
                else:
                    rec.pushed, rec.hash = keep_links(dict(plan.desired), rec.pushed), content_hash(plan.desired)
                rec.missing_action = None
                rec.last_job_id, rec.last_action = self.ctx.job_id, "created" if created and not adopting else "updated"
                self.records[("product", plan.key)] = rec
                records.append(rec)
                if created and not adopting:
                    self.counts.created += 1
                    self.created_now.add(("product", plan.key))
                else:
                    self.counts.updated += 1
                self.counts.processed += 1
                continue
            error = result.error
            resource = error.resource_id if error is not None else None
            if (error is not None and error.code == "product_invalid_sku" and resource and not adopting
                    and result.op.action == "create"):
                conflicts.append((plan, error))
                continue
            self._fail_product(plan, error)
        if conflicts:
            retry = self._adoptable(conflicts)
        self.items.save(records)
        self._report("products")
        return retry

    def _fail_product(self, plan: ItemPlan, error: Any, note: str = "") -> None:
        self.counts.failed += 1
        self.counts.processed += 1
        self.ctx.error("product", plan.sku, _describe(error, plan) + note, error.code if error else None)

    def _adoptable(self, conflicts: list[tuple[ItemPlan, Any]]) -> list[Op]:
        """A create refused for a duplicate SKU names who holds it. A product is adopted (updated
        in place); a variation elsewhere is a real conflict the merchant must resolve."""
        holders = {o["sku"]: o for o in self.client.find_by_skus([p.sku for p, _ in conflicts if p.sku],
                                                                    fields=["id", "sku", "type", "parent_id"])}
        retry = []
        for plan, error in conflicts:
            holder = holders.get(plan.sku)
            if holder is None or holder.get("type") == "variation" or int(holder["id"]) != error.resource_id:
                where = (f"a variation (#{holder['id']} of product #{holder.get('parent_id')})"
                         if holder and holder.get("type") == "variation" else f"#{error.resource_id}")
                self._fail_product(plan, error, f"; the SKU is held by {where}")
                continue
            plan.store_id = int(holder["id"])
            retry.append(Op("update", {**plan.desired, "id": plan.store_id}, ref=plan.key, sku=plan.sku))
        return retry

    # -- variations --------------------------------------------------------------------
    def push_variations(self, products: list[Product]) -> None:
        # Index the ledger's variations by parent now, before worker threads read it.
        self._parent_index = variations_by_parent(self.records)
        parents = []
        for product in products:
            if product.type != "variable":
                continue
            rec = self.records.get(("product", product.key))
            if rec is None or not rec.store_id:
                if product.key in self.skipped_now:
                    # The parent was skipped on purpose (--no-create-new, --only): so are they.
                    self.counts.add("variation", "skipped", len(product.variations))
                    continue
                # The parent failed: its variations cannot exist yet.
                self.counts.add("variation", "failed", len(product.variations))
                for v in product.variations:
                    self.ctx.error("variation", v.sku or v.key, f"parent {product.sku or product.key} was not saved",
                                   "wsync_parent_missing")
                continue
            parents.append((product, rec.store_id))
        if not parents:
            return
        with ThreadPoolExecutor(max_workers=self.opts.concurrency, thread_name_prefix="wsync-var") as pool:
            pending = set()
            it = iter(parents)
            while True:
                while len(pending) < self.opts.concurrency and not self.ctx.should_stop():
                    nxt = next(it, None)
                    if nxt is None:
                        break
                    pending.add(pool.submit(self._variations_of, *nxt))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    product, parent_id, plans, results = future.result()
                    self._record_variations(product, parent_id, plans, results)

    def _variations_of(self, product: Product, parent_id: int) -> tuple[Product, int, list[ItemPlan], list[OpResult]]:
        known = any(r.parent_key == product.key and r.kind == "variation" and r.store_id
                    for r in self._variation_records(product))
        fresh = ("product", product.key) in self.created_now
        store_vars = None if (fresh or known) else read_variations(self.client, parent_id)
        plans = plan_variations(product, parent_id, self.records, store_vars, _CachedResolver(self), self.opts,
                                self.ctx.job_id, by_parent=self._by_parent())
        ops = []
        for plan in plans:
            if plan.action == "create":
                ops.append(Op("create", plan.send, ref=plan, sku=plan.sku))
            elif plan.action == "update":
                ops.append(Op("update", {**plan.send, "id": plan.store_id}, ref=plan, sku=plan.sku))
            elif plan.action == "remove":
                ops.append(Op("delete", {"id": plan.store_id}, ref=plan, sku=plan.sku))
        results: list[OpResult] = []
        if ops:
            undo.note_before(self, "variation", plans, parent_id)
            combinations = {v.key: dict(v.attributes) for v in product.variations}

            def describe(op: Op) -> dict[str, Any] | None:
                key = op.ref.key
                return describe_create(op, match=None if op.body.get("sku") else combinations.get(key),
                                       parent_key=product.key)

            pusher = BatchPusher(self.client, f"products/{parent_id}/variations/batch",
                                 size=self.opts.variations_per_batch, concurrency=1,
                                 reconcile=lambda creates: self._reconcile_variations(parent_id, creates),
                                 should_stop=self.ctx.should_stop, max_request_s=self.max_request_s,
                                 journal=self.journal("variation", describe, parent_id=parent_id),
                                 on_wait=self._waiting)
            for chunk in pusher.run(ops):
                results.extend(chunk)
        return product, parent_id, plans, results

    def _by_parent(self) -> dict[str, list[ItemRecord]]:
        # Built once, before variations are pushed; later writes only add the feed's own
        # variations, which are matched by key, so the stale-variation lookup stays right.
        with self._lock:
            if getattr(self, "_parent_index", None) is None:
                self._parent_index = variations_by_parent(self.records)
            return self._parent_index

    def _variation_records(self, product: Product) -> list[ItemRecord]:
        return [self.records[("variation", v.key)] for v in product.variations if ("variation", v.key) in self.records]

    def _reconcile_variations(self, parent_id: int, creates: list[Op]) -> dict[int, dict[str, Any]]:
        found = {}
        by_sku = {o["sku"]: o for o in self.client.find_by_skus([op.sku for op in creates if op.sku],
                                                                   fields=["id", "sku", "type", "parent_id"])
                  if int(o.get("parent_id") or 0) == parent_id}
        for index, op in enumerate(creates):
            if op.sku in by_sku:
                found[index] = by_sku[op.sku]
        return found

    def _record_variations(self, product: Product, parent_id: int, plans: list[ItemPlan],
                           results: list[OpResult]) -> None:
        sent = {id(r.op.ref) for r in results}
        for plan in plans:
            if id(plan) not in sent and plan.action != "remove":
                self._count_quiet(plan)
        records, deleted = [], []
        for result in results:
            plan: ItemPlan = result.op.ref
            if result.op.action == "delete":
                if result.ok or (result.error and result.error.status == 404):
                    self.counts.variations_deleted += 1
                    if not plan.key.startswith("store:"):
                        deleted.append(plan.key)
                else:
                    self.ctx.error("variation", plan.sku, _describe(result.error, plan), result.error.code if result.error else None)
                continue
            if result.ok and result.data:
                created = result.op.action == "create" or result.op.origin == "create"
                rec = self.records.get(("variation", plan.key)) or ItemRecord("variation", plan.key)
                rec.sku, rec.store_id = plan.sku, int(result.data["id"])
                rec.parent_key, rec.parent_id = product.key, parent_id
                if self.opts.only:
                    rec.pushed = merge_pushed(rec.pushed, plan.send)
                else:
                    rec.pushed, rec.hash = dict(plan.desired), content_hash(plan.desired)
                rec.last_job_id, rec.last_action = self.ctx.job_id, "created" if created else "updated"
                with self._lock:
                    self.records[("variation", plan.key)] = rec
                records.append(rec)
                self.counts.add("variation", "created" if created else "updated")
            else:
                self.counts.add("variation", "failed")
                self.ctx.error("variation", plan.sku, _describe(result.error, plan),
                               result.error.code if result.error else None)
        self.items.save(records)
        self.items.delete("variation", deleted)
        for key in deleted:
            self.records.pop(("variation", key), None)
        self._report("variations")

    # -- links between products --------------------------------------------------------
    def push_links(self, products: list[Product]) -> dict[str, int]:
        """Grouped members, upsells and cross-sells, once every product has its id (sync/links.py)."""
        def find_skus(skus: list[str]) -> dict[str, int]:
            found = self.client.find_by_skus(skus, fields=["id", "sku", "type"])
            return {o["sku"]: int(o["id"]) for o in found if o.get("type") != "variation"}

        plans = plan_links(products, self.records, find_skus)
        for plan in plans:
            if plan.unresolved:
                shown = ", ".join(plan.unresolved[:5]) + (" ..." if len(plan.unresolved) > 5 else "")
                self.ctx.error("links", plan.sku, f"linked product(s) neither in the feed nor on the store, left out: "
                                                  f"{shown}", "wsync_link_unresolved")
        ops = [Op("update", {**plan.send, "id": plan.store_id}, ref=plan.key, sku=plan.sku)
               for plan in plans if plan.send]
        report = {"updated": 0, "failed": 0, "unresolved": sum(len(p.unresolved) for p in plans)}
        if not ops or self.dry_run:
            return report
        pusher = BatchPusher(self.client, "products/batch", size=self.opts.products_per_batch,
                             concurrency=self.opts.concurrency, should_stop=self.ctx.should_stop)
        by_key = {plan.key: plan for plan in plans}
        for results in pusher.run(ops):
            records = []
            for result in results:
                plan = by_key[result.op.ref]
                if result.ok:
                    rec = self.records[("product", plan.key)]
                    rec.pushed = {**rec.pushed, **plan.send}
                    records.append(rec)
                    report["updated"] += 1
                else:
                    report["failed"] += 1
                    self.ctx.error("links", plan.sku, _describe(result.error, None),
                                   result.error.code if result.error else None)
            self.items.save(records)
        return report

    # -- products that left the feed ---------------------------------------------------
    def handle_missing(self, missing: list[ItemPlan]) -> None:
        if not missing:
            return
        action = self.opts.missing
        records = []
        undo.note_missing(self, missing)
        if action == "trash":
            # Batch delete is always permanent; trashing (recoverable) takes one DELETE each.
            def trash(plan: ItemPlan) -> tuple[ItemPlan, Exception | None]:
                try:
                    self.client.delete(f"products/{plan.store_id}")
                    return plan, None
                except Exception as exc:  # recorded per item below
                    return plan, exc

            with ThreadPoolExecutor(max_workers=self.opts.concurrency) as pool:
                outcomes = list(pool.map(trash, missing))
            for plan, exc in outcomes:
                code = getattr(exc, "code", None)
                if exc is None or code in ("woocommerce_rest_already_trashed", "woocommerce_rest_product_invalid_id"):
                    rec = self.records[("product", plan.key)]
                    rec.missing_action = action
                    records.append(rec)
                    self.counts.removed += 1
                else:
                    self.ctx.error("missing", plan.sku, str(exc), code)
        else:
            body = {"stock_status": "outofstock", "manage_stock": False} if action == "outofstock" else {"status": "draft"}
            ops = [Op("update", {**body, "id": p.store_id}, ref=p, sku=p.sku) for p in missing]
            pusher = BatchPusher(self.client, "products/batch", size=self.opts.products_per_batch,
                                 concurrency=self.opts.concurrency)
            for results in pusher.run(ops):
                for result in results:
                    plan = result.op.ref
                    if result.ok:
                        rec = self.records[("product", plan.key)]
                        rec.missing_action = action
                        rec.pushed = merge_pushed(rec.pushed, body)
                        rec.hash = content_hash(rec.pushed)
                        records.append(rec)
                        self.counts.removed += 1
                    else:
                        self.ctx.error("missing", plan.sku, _describe(result.error, plan),
                                       result.error.code if result.error else None)
        self.items.save(records)


class _CachedResolver:
    """Variation payloads need global attribute ids the product phase already resolved."""

    def __init__(self, importer: Importer):
        self._taxonomy = getattr(importer, "taxonomy", None)

    def category_ids(self, paths: list[list[str]]) -> list[int | str]:
        return self._taxonomy.category_ids(paths) if self._taxonomy else []

    def attribute_id(self, name: str) -> int | None:
        return self._taxonomy.attribute_id(name) if self._taxonomy else None

    def shipping_class_slug(self, name: str) -> str:
        return self._taxonomy.shipping_class_slug(name) if self._taxonomy else ""


def _describe(error: Any, plan: ItemPlan | None) -> str:
    if error is None:
        return "the store did not save it"
    code = f" ({error.code})" if getattr(error, "code", None) else ""
    message = getattr(error, "message", str(error))
    if getattr(error, "code", None) == "woocommerce_rest_product_not_created":
        message += " - a trashed product still holds this SKU: empty the store's trash or restore that product"
    return f"{message}{code}"


# ---------------------------------------------------------------------------------------
def load_feed(spec: Any, ledger: Ledger, opts: ImportOptions, *, use_conditional: bool = True) -> Any:
    from wsync.feeds import load_catalogue

    state = FeedStateStore(ledger).get(spec.name) or {}
    fetch_state = None
    if use_conditional and not opts.force and state:
        fetch_state = {"etag": state.get("etag"), "last_modified": state.get("last_modified")}
    return load_catalogue(spec, fetch_state=fetch_state, force=opts.force, previous_count=state.get("last_count"),
                          max_errors=opts.max_errors)


def run_import(job_id: int, *, ledger: Ledger, settings: Any, jobs: Any,
               should_stop: Callable[[], bool] = lambda: False, progress: Progress | None = None,
               client: Any = None) -> dict[str, Any]:
    """Run import job `job_id` (its `job_data` says what) and return the result document."""
    job = jobs.get(job_id)
    if job is None:
        raise UsageError(f"no job {job_id} in the ledger")
    data = job.get("job_data") or {}
    opts = ImportOptions.from_dict(data.get("options") or {}).validate()
    spec = feed_spec_for(data, settings)
    started = time.monotonic()
    ctx = JobContext(job_id, jobs, should_stop=should_stop, progress=progress)
    limited = opts.total_batches is not None
    result = load_feed(spec, ledger, opts, use_conditional=not limited)
    if result.not_modified:
        return _result(opts, job_id, Counts(), 0, started, client, message=(
            "Feed unchanged since the last run (HTTP 304): nothing to do. Use --force to sync anyway."),
            extra={"feed_unchanged": True})
    for err in result.errors:
        ctx.error("feed", err.sku, str(err), "feed_record")
    for warning in getattr(result, "warnings", None) or []:
        jobs.add_message(job_id, f"feed: {warning}")
    products = list(result.products)
    if limited:
        products = products[: opts.total_batches * opts.products_per_batch]
    own_client = client is None
    client = client or make_client(settings)
    try:
        importer = Importer(ledger=ledger, client=client, feed=spec.name, options=opts, ctx=ctx,
                            max_request_s=max_request_s(opts, settings), measured=opts.settle_s is None)
        importer.total = len(products) + sum(len(p.variations) for p in products)
        importer.counts.feed_errors = len(result.errors)  # apart from failed: no product was refused
        settled = settle_before_planning(importer, spec.name)
        if should_stop():
            return _result(opts, job_id, importer.counts, 0, started, client, extra={"cancelled": True})
        plans, missing, taxonomy = importer.plan(products)
        importer.taxonomy = taxonomy
        images = None
        images_scheduled = 0
        phase = None
        try:
            importer.push_products(plans)
            if not should_stop():
                importer.push_variations(products)
            links = importer.push_links(products) if not should_stop() and not opts.only else None
            if not should_stop() and not limited:
                importer.handle_missing(missing)
            if not opts.only and not should_stop():
                phase = _image_phase(importer, ctx)
                tasks = phase.tasks(products, importer.records, importer.created_now)
                images_scheduled = sum(len(t.urls) for t in tasks)
                if jobs is not None:
                    jobs.update_progress(job_id, images_scheduled=images_scheduled)
                if opts.process_images and tasks:
                    importer._report("images")
                    images = phase.run(tasks)
        except Unsettled as exc:
            # Stopping (cancel, SIGTERM) while a request may still be saving: its creates are left
            # in the ledger's pending writes for the next worker to settle, never sent again here.
            log.warning("job %s stopping: %s", job_id, exc)
            return _result(opts, job_id, importer.counts, images_scheduled, started, client,
                           extra={"cancelled": True, "unsettled": str(exc)})
        if not limited and not should_stop():
            FeedStateStore(ledger).record_success(spec.name, source=getattr(spec, "source", None),
                                                  etag=(result.fetch_state or {}).get("etag"),
                                                  last_modified=(result.fetch_state or {}).get("last_modified"),
                                                  count=len(result.products))
        importer._report("done")
        extra: dict[str, Any] = {"variations": importer.counts.variations(),
                                 "removed": importer.counts.removed, "skipped": importer.counts.skipped,
                                 **({"links": links} if links and any(links.values()) else {}),
                                 "feed_errors": len(result.errors),
                                 "categories_created": taxonomy.created}
        if images is not None:
            extra["images"] = images.to_dict()
        if settled:
            extra["settled"] = settled
        if should_stop():
            extra["cancelled"] = True
        doc = _result(opts, job_id, importer.counts, images_scheduled, started, client, extra=extra)
        if links and (links["unresolved"] or links["failed"]):
            # A link left out is work not done: the job says so, and the next run tries again.
            doc["success"] = False
            doc["message"] += f", Links not set: {links['unresolved'] + links['failed']}"
        if phase is not None:
            _report_missing_images(doc, phase, importer, ctx, counting=opts.process_images)
        return doc
    finally:
        if own_client and hasattr(client, "close"):
            client.close()


def _report_missing_images(doc: dict[str, Any], phase: ImagePhase, importer: Importer, ctx: JobContext, *,
                           counting: bool) -> None:
    """Every run says which items still lack an image, also a run that sent nothing. An image
    that failed is an image error on an item that was saved, not a failed item; the job is not a
    success while an item lacks an image, unless all it lacks failed permanently in an earlier
    job that reported it (then one line says so)."""
    missing = phase.missing(importer.records.values())
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
        if ctx.jobs is not None and ctx.job_id is not None:
            ctx.jobs.add_message(ctx.job_id, note)


def max_request_s(opts: ImportOptions, settings: Any) -> float:
    """The longest a store request may run, as configured: `[store] max_request_s` (default
    300 s, at most an hour); the job option `settle_s` pins it (tests, rehearsals)."""
    if opts.settle_s is not None:
        return float(opts.settle_s)
    store = getattr(settings, "store", None)
    configured = getattr(store, "max_request_s", DEFAULT_MAX_REQUEST_S)
    return min(float(DEFAULT_MAX_REQUEST_S if configured is None else configured), MAX_REQUEST_CEILING_S)


def settle_before_planning(importer: Importer, feed: str) -> dict[str, Any] | None:
    """Settle the feed's writes an earlier worker left running (wsync.sync.settle) before
    anything is looked up or planned; None when there were none."""
    ctx = importer.ctx

    def status(doc: dict[str, Any]) -> None:
        if ctx.jobs is not None and ctx.job_id is not None:
            ctx.jobs.save_checkpoint(ctx.job_id, {"phase": "settling", "counts": importer.counts.as_dict(),
                                                  "settling": doc})

    report = settle_orphaned_writes(importer.client, importer.ledger, feed, max_request_s=importer.max_request_s,
                                    status=status, should_stop=ctx.should_stop)
    if not report.writes:
        return None
    if ctx.jobs is not None and ctx.job_id is not None:
        ctx.jobs.add_message(ctx.job_id, f"settled {report.writes} request(s) an earlier worker left running: "
                                         f"{report.adopted_items} item(s) and {report.adopted_images} image(s) "
                                         f"adopted after {report.waited_s:.1f} s")
    return report.to_dict()


def _iso(epoch: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch, timezone.utc).replace(microsecond=0).isoformat()


def _image_phase(importer: Importer, ctx: JobContext) -> ImagePhase:
    def on_error(stage: str, sku: str | None, message: str, code: str | None, key: str | None) -> None:
        ctx.error(stage, sku, message, code)

    def on_saved(report: Any) -> None:
        if ctx.jobs is not None and ctx.job_id is not None:
            ctx.jobs.save_checkpoint(ctx.job_id, {"phase": "images", "counts": importer.counts.as_dict(),
                                                  "images": report.to_dict()})

    return ImagePhase(importer.client, importer.items, ImageMap(importer.ledger), importer.opts,
                      on_error=on_error, should_stop=ctx.should_stop, max_request_s=importer.max_request_s,
                      on_saved=on_saved, journal=importer.journal("image", describe_image_update),
                      on_wait=importer._waiting)


def _result(opts: ImportOptions, job_id: int | None, counts: Counts, images_scheduled: int, started: float,
            client: Any, *, message: str | None = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    requests = client.counters.as_dict() if client is not None and hasattr(client, "counters") else {"read": 0, "write": 0}
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


def run_images(job_id: int, *, ledger: Ledger, settings: Any, jobs: Any,
               should_stop: Callable[[], bool] = lambda: False, progress: Progress | None = None,
               client: Any = None) -> dict[str, Any]:
    """An images-only job: attach the images of the feed's products that the store lacks."""
    job = jobs.get(job_id)
    data = job.get("job_data") or {}
    opts = ImportOptions.from_dict(data.get("options") or {}).validate()
    spec = feed_spec_for(data, settings)
    started = time.monotonic()
    result = load_feed(spec, ledger, opts, use_conditional=False)
    own_client = client is None
    client = client or make_client(settings)
    ctx = JobContext(job_id, jobs, should_stop=should_stop, progress=progress)
    try:
        importer = Importer(ledger=ledger, client=client, feed=spec.name, options=opts, ctx=ctx,
                            max_request_s=max_request_s(opts, settings), measured=opts.settle_s is None)
        settled = settle_before_planning(importer, spec.name)
        importer.records = importer.items.load()
        phase = _image_phase(importer, ctx)
        tasks = phase.tasks(result.products, importer.records, set())
        try:
            report = phase.run(tasks)
        except Unsettled as exc:
            log.warning("job %s stopping: %s", job_id, exc)
            return {"success": False, "job_id": job_id, "cancelled": True, "unsettled": str(exc),
                    "message": "stopped while an image request may still be saving; the next run settles it"}
        failed = report.failed_items + len(report.failed_urls)
        doc = {"success": failed == 0, "job_id": job_id,
               "message": f"Images processed: {report.attached} attached ({report.sent_src} downloaded, "
                          f"{report.reused} reused), {len(report.failed_urls)} URLs failed",
               "images": report.to_dict(), "images_scheduled": report.scheduled, **({"settled": settled} if settled else {}),
               "duration_s": round(time.monotonic() - started, 3),
               "requests": client.counters.as_dict() if hasattr(client, "counters") else {}}
        if jobs is not None:
            jobs.update_progress(job_id, progress=100.0, processed=report.items, images_scheduled=report.scheduled,
                                 errors=failed)
        return doc
    finally:
        if own_client and hasattr(client, "close"):
            client.close()


def plan_only(spec: Any, *, ledger: Ledger, settings: Any, options: ImportOptions, client: Any = None) -> dict[str, Any]:
    """`wsync plan` / `import --dry-run`: the changeset, with reads only (zero writes)."""
    result = load_feed(spec, ledger, options, use_conditional=False)
    products = list(result.products)
    own_client = client is None
    client = client or make_client(settings)
    try:
        ctx = JobContext(None, None)
        importer = Importer(ledger=ledger, client=client, feed=spec.name, options=options, ctx=ctx, dry_run=True)
        plans, missing, taxonomy = importer.plan(products)
        importer.taxonomy = taxonomy
        variation_plans: list[ItemPlan] = []
        # By key once: looking each parent's plan up by scanning the list made planning quadratic.
        plan_by_key = {p.key: p for p in plans}
        for product in products:
            if product.type != "variable":
                continue
            rec = importer.records.get(("product", product.key))
            parent_plan = plan_by_key.get(product.key)
            parent_id = rec.store_id if rec and rec.store_id else (parent_plan.store_id if parent_plan else None)
            known = any(True for _ in importer._variation_records(product))
            store_vars = read_variations(client, parent_id) if (parent_id and not known) else None
            variation_plans += plan_variations(product, parent_id, importer.records, store_vars,
                                               _CachedResolver(importer), options, None,
                                               by_parent=importer._by_parent())
        counts = Plan_counts(plans + missing + variation_plans)
        doc = {
            "success": True,
            "feed": spec.name,
            "counts": counts,
            "products": counts_for(plans + missing),
            "variations": counts_for(variation_plans),
            "feed_errors": [e.to_dict() for e in result.errors],
            "new_terms": sorted(taxonomy.planned),
            "images": {"distinct": count_distinct(products)},
            "items": [p.to_dict() for p in plans + missing + variation_plans if p.action != "unchanged"],
            "requests": client.counters.as_dict() if hasattr(client, "counters") else {},
        }
        return doc
    finally:
        if own_client and hasattr(client, "close"):
            client.close()


def counts_for(plans: list[ItemPlan]) -> dict[str, int]:
    out = {"create": 0, "update": 0, "unchanged": 0, "remove": 0, "skip": 0}
    for p in plans:
        out[p.action] = out.get(p.action, 0) + 1
    return out


Plan_counts = counts_for

__all__ = ["run_import", "run_images", "plan_only", "Importer", "FeedRefused"]
