"""Partial feeds on the store: some fields of items wsync or the store already has, by SKU.

A stock-and-price file names items by SKU only. Each is found in the ledger first, under any
feed (the newest record of it wins, and says what the store was last sent), then, for SKUs
the ledger does not know, on the store (chunked `sku=` look-ups, products and variations
alike, which also say what the store holds). Only fields that differ from that are sent:
products through `products/batch`, variations through their parent's `variations/batch`, up
to 100 items a request (the updates are a few fields each). Nothing is ever created; a SKU
neither knows is reported, and counted as skipped. What was sent is kept in the ledger under
the partial feed's own name, so a re-run with the same file reads nothing and writes nothing.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from wsync.catalogue import FieldUpdate
from wsync.ledger import Ledger
from wsync.ledger.items import FeedStateStore, ItemMap, ItemRecord
from wsync.mapping.partial import restrict_only
from wsync.store.limiter import FixedLimit
from wsync.sync.options import STORE_BATCH_LIMIT, ImportOptions
from wsync.sync.push import BatchPusher, Op, OpResult
from wsync.sync.run import Counts, make_client, max_request_s, unwatch, watch
from wsync.sync.unchanged import left_nothing_undone, validators

log = logging.getLogger("wsync.sync.partial")

STORE_FIELDS = ["id", "sku", "type", "parent_id", "regular_price", "sale_price", "manage_stock", "stock_quantity",
                "stock_status", "date_on_sale_from", "date_on_sale_to"]
UNKNOWN_SHOWN = 100
_PRICES = ("regular_price", "sale_price")
_BLANK_IS_NONE = ("sale_price", "date_on_sale_from", "date_on_sale_to")


@dataclass
class Target:
    """An update matched to the item it changes."""

    update: FieldUpdate
    kind: str  # product | variation
    store_id: int
    parent_id: int | None
    known: dict[str, Any]  # what the store holds, as far as the ledger or a look-up says
    send: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return "products/batch" if self.kind == "product" else f"products/{self.parent_id}/variations/batch"


def ledger_feed(feed: str) -> str:
    """Where a partial feed keeps what it sent: apart from any feed of products, also one of
    the same name (two ad-hoc files are both "adhoc")."""
    return f"{feed}:partial"


def _same(name: str, a: Any, b: Any) -> bool:
    if name in _BLANK_IS_NONE:
        a, b = a or "", b or ""
    if name in _PRICES and a != "" and b != "":
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except InvalidOperation:
            return bool(a == b)
    if name.startswith("date_on_sale") and a and b:
        return str(a).rstrip("Z")[:19] == str(b).rstrip("Z")[:19]
    return bool(a == b)


def changed_fields(wanted: dict[str, Any], known: dict[str, Any], force: bool = False) -> dict[str, Any]:
    """The fields of `wanted` the store does not hold yet; a stock quantity goes with
    manage_stock, which it needs to take effect."""
    if force:
        return dict(wanted)
    out = {k: v for k, v in wanted.items() if k not in known or not _same(k, v, known[k])}
    if "stock_quantity" in out and "manage_stock" in wanted:
        out["manage_stock"] = wanted["manage_stock"]
    return out


def ledger_records(ledger: Ledger, skus: list[str]) -> dict[str, tuple[ItemRecord, dict[str, Any]]]:
    """SKU -> (the newest record of it under any feed, the fields all its records were last sent,
    oldest first so the newest wins)."""
    out: dict[str, tuple[ItemRecord, dict[str, Any]]] = {}
    for start in range(0, len(skus), 500):
        chunk = skus[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = ledger.conn.execute(
            f"SELECT kind, key, sku, store_id, parent_key, parent_id, pushed, updated_at FROM items "
            f"WHERE store_id IS NOT NULL AND kind IN ('product', 'variation') AND sku IN ({marks}) "
            f"ORDER BY updated_at, rowid", chunk).fetchall()
        for row in rows:
            record = ItemRecord(kind=row["kind"], key=row["key"], sku=row["sku"], store_id=row["store_id"],
                                parent_key=row["parent_key"], parent_id=row["parent_id"], pushed_json=row["pushed"])
            previous = out.get(row["sku"])
            known = dict(previous[1]) if previous and previous[0].store_id == record.store_id else {}
            known.update(record.pushed)
            out[row["sku"]] = (record, known)
    return out


def resolve(updates: list[FieldUpdate], ledger: Ledger, client: Any, opts: ImportOptions
            ) -> tuple[list[Target], list[FieldUpdate]]:
    """Each update's item (ledger first, then the store) and what it would send; the updates
    whose SKU neither knows."""
    skus = [u.key for u in updates]
    known = ledger_records(ledger, skus)
    missing = [s for s in skus if s not in known]
    found: dict[str, dict[str, Any]] = {}
    if missing:
        for obj in client.find_by_skus(missing, fields=STORE_FIELDS):
            if obj.get("sku"):
                found[obj["sku"]] = obj
    targets, unknown = [], []
    for update in updates:
        fields = restrict_only(update.fields, opts.only)
        if update.key in known:
            record, pushed = known[update.key]
            kind = "variation" if record.kind == "variation" else "product"
            assert record.store_id is not None  # ledger_records reads only items the store has
            target = Target(update, kind, int(record.store_id), record.parent_id, pushed)
            if kind == "variation" and not target.parent_id:
                unknown.append(update)
                continue
        elif update.key in found:
            obj = found[update.key]
            kind = "variation" if obj.get("type") == "variation" else "product"
            state = {k: obj.get(k) for k in STORE_FIELDS[4:] if k in obj}
            target = Target(update, kind, int(obj["id"]), int(obj.get("parent_id") or 0) or None, state)
        else:
            unknown.append(update)
            continue
        target.send = changed_fields(fields, target.known, force=opts.force) if opts.update_existing else {}
        targets.append(target)
    return targets, unknown


class PartialRun:
    """One partial feed's job: resolve, send what changed, keep what was sent."""

    def __init__(self, *, ledger: Ledger, client: Any, feed: str, options: ImportOptions, ctx: Any,
                 counts: Any, max_request_s: float = 0.0):
        self.ledger, self.client, self.feed, self.opts, self.ctx = ledger, client, feed, options, ctx
        self.items = ItemMap(ledger, ledger_feed(feed))
        self.counts = counts
        self.max_request_s = max_request_s
        self.total = 0
        self.limit = options.limit()

    def report(self, phase: str) -> None:
        ctx, c = self.ctx, self.counts
        done = c.items_processed
        progress = round(100.0 * done / self.total, 1) if self.total else 100.0
        if ctx.jobs is not None and ctx.job_id is not None:
            ctx.jobs.update_progress(ctx.job_id, progress=min(progress, 99.0 if phase != "done" else 100.0),
                                     processed=c.processed, created=c.created, updated=c.updated,
                                     unchanged=c.unchanged, errors=c.errors)
            ctx.jobs.save_checkpoint(ctx.job_id, {"phase": phase, "counts": c.as_dict(),
                                                  "concurrency": self.limit.snapshot()})
        if ctx.progress is not None:
            ctx.progress({"phase": phase, **c.as_dict(), "items_processed": done, "total": self.total,
                          "concurrency": self.limit.snapshot()})

    def run(self, targets: list[Target]) -> None:
        quiet = [t for t in targets if not t.send]
        for t in quiet:
            self.counts.add(t.kind, "unchanged" if self.opts.update_existing else "skipped")
        # What the store holds is known now: the next run needs no look-up for these.
        self.items.save([self._record(t, {}) for t in quiet])
        self.report("products")
        products = [t for t in targets if t.send and t.kind == "product"]
        self._push("products/batch", products, concurrency=self.limit)
        by_parent: dict[int, list[Target]] = {}
        for t in targets:
            if t.send and t.kind == "variation":
                by_parent.setdefault(int(t.parent_id or 0), []).append(t)
        if by_parent and not self.ctx.should_stop():
            with ThreadPoolExecutor(max_workers=self.limit.allowed(), thread_name_prefix="wsync-partial") as pool:
                for future in [pool.submit(self._push, f"products/{pid}/variations/batch", group, 1)
                               for pid, group in by_parent.items()]:
                    future.result()

    def _push(self, endpoint: str, targets: list[Target], concurrency: int | FixedLimit) -> None:
        if not targets:
            return
        ops = [Op("update", {**t.send, "id": t.store_id}, ref=t, sku=t.update.key) for t in targets]
        pusher = BatchPusher(self.client, endpoint, size=STORE_BATCH_LIMIT, concurrency=concurrency,
                             should_stop=self.ctx.should_stop, max_request_s=self.max_request_s)
        for results in pusher.run(ops):
            self._record_results(results)

    def _record_results(self, results: list[OpResult]) -> None:
        records = []
        for result in results:
            target: Target = result.op.ref
            if result.ok:
                records.append(self._record(target, target.send))
                self.counts.add(target.kind, "updated")
            else:
                self.counts.add(target.kind, "failed")
                error = result.error
                message = getattr(error, "message", None) or "the store did not save it"
                code = getattr(error, "code", None)
                if getattr(error, "status", None) == 404 or code in ("woocommerce_rest_product_invalid_id",
                                                                     "woocommerce_rest_product_variation_invalid_id"):
                    message += " - the item is gone from the store; a partial feed never creates it"
                self.ctx.error(target.kind, target.update.key, f"{message}{f' ({code})' if code else ''}", code)
        self.items.save(records)
        self.report("products")

    def _record(self, target: Target, sent: dict[str, Any]) -> ItemRecord:
        pushed = {k: v for k, v in target.known.items() if k in target.update.fields or k in sent}
        pushed.update(sent)
        rec = ItemRecord(target.kind, target.update.key, sku=target.update.key, store_id=target.store_id,
                         parent_id=target.parent_id, pushed=pushed)
        rec.last_job_id, rec.last_action = self.ctx.job_id, "updated" if sent else "unchanged"
        return rec


def run_partial(job_id: int | None, spec: Any, result: Any, *, ledger: Ledger, settings: Any, jobs: Any,
                client: Any, opts: ImportOptions, ctx: Any, started: float,
                fingerprint: str | None = None) -> dict[str, Any]:
    """An import job of a partial feed (the engine hands over a feed loaded as one)."""

    own_client = client is None
    client = client or make_client(settings, pool_size=opts.pool_size())
    try:
        return _run_partial(job_id, spec, result, ledger=ledger, jobs=jobs, client=client, opts=opts, ctx=ctx,
                            started=started, max_request_s=max_request_s(opts, settings), fingerprint=fingerprint)
    finally:
        if own_client and hasattr(client, "close"):
            client.close()


def _run_partial(job_id: int | None, spec: Any, result: Any, *, ledger: Ledger, jobs: Any, client: Any,
                 opts: ImportOptions, ctx: Any, started: float, max_request_s: float,
                 fingerprint: str | None) -> dict[str, Any]:

    updates: list[FieldUpdate] = list(result.updates or [])
    limited = opts.total_batches is not None
    if opts.total_batches is not None:
        updates = updates[: opts.total_batches * STORE_BATCH_LIMIT]
    counts = Counts()
    counts.feed_errors = len(result.errors)
    run = PartialRun(ledger=ledger, client=client, feed=spec.name, options=opts, ctx=ctx, counts=counts,
                     max_request_s=max_request_s)
    run.total = len(updates)
    targets, unknown = resolve(updates, ledger, client, opts)
    counts.add("product", "skipped", len(unknown))
    if unknown:
        shown = ", ".join(u.key for u in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        note = (f"{len(unknown)} SKU(s) of this partial feed are neither in the ledger nor on the store, and a "
                f"partial feed never creates: {shown}")
        log.info(note)
        if jobs is not None and job_id is not None:
            jobs.add_message(job_id, note)
    observers = watch(client, run.limit)
    try:
        run.run(targets)
    finally:
        unwatch(observers, run.limit)
    run.report("done")
    requests = client.counters.as_dict() if hasattr(client, "counters") else {"read": 0, "write": 0}
    fields = sorted({k for u in updates for k in restrict_only(u.fields, opts.only)})
    message = (f"Partial update completed ({', '.join(fields) or 'no fields'}). Updated: {counts.updated}, "
               f"Unchanged: {counts.unchanged}, Unknown SKUs: {len(unknown)}"
               + (f", Failed: {counts.failed}" if counts.failed else "")
               + (f". Variations updated: {counts.variations_updated}, unchanged: {counts.variations_unchanged}"
                  + (f", failed: {counts.variations_failed}" if counts.variations_failed else "")
                  if counts.variations_processed else "")
               + (f". Feed errors: {counts.feed_errors}" if counts.feed_errors else ""))
    doc = {"success": counts.errors == 0, "message": message, "job_id": job_id, "created": 0,
           "updated": counts.updated, "unchanged": counts.unchanged, "failed": counts.failed,
           "skipped": counts.skipped, "removed": 0, "variations": counts.variations(),
           "feed_errors": counts.feed_errors, "images_scheduled": 0, "total_processed": counts.processed,
           "duration_s": round(time.monotonic() - started, 3),
           "requests": {"read": int(requests.get("read", 0)), "write": int(requests.get("write", 0))},
           "partial": {"fields": fields, "updates": len(updates), "unknown": len(unknown),
                       "unknown_skus": [u.key for u in unknown[:UNKNOWN_SHOWN]]},
           "concurrency": run.limit.snapshot()}
    if ctx.should_stop():
        doc["cancelled"] = True
    if not limited and not ctx.should_stop():
        clean = left_nothing_undone(doc, opts)
        FeedStateStore(ledger).record_success(spec.name, source=getattr(spec, "source", None),
                                              count=len(result.updates or []),
                                              validators=validators(result.fetch_state, fingerprint, counts)
                                              if clean and fingerprint else None)
    return doc


def plan_partial(spec: Any, result: Any, *, ledger: Ledger, settings: Any, client: Any,
                 options: ImportOptions) -> dict[str, Any]:
    """`wsync plan` of a partial feed: which items would get which fields; reads only."""

    own_client = client is None
    client = client or make_client(settings)
    try:
        return _plan_partial(spec, result, ledger=ledger, client=client, options=options)
    finally:
        if own_client and hasattr(client, "close"):
            client.close()


def _plan_partial(spec: Any, result: Any, *, ledger: Ledger, client: Any, options: ImportOptions) -> dict[str, Any]:
    targets, unknown = resolve(list(result.updates or []), ledger, client, options)
    counts = {"create": 0, "update": 0, "unchanged": 0, "remove": 0, "skip": len(unknown)}
    per_kind = {kind: dict(counts, skip=0) for kind in ("product", "variation")}
    per_kind["product"]["skip"] = len(unknown)
    items = []
    for t in targets:
        action = "update" if t.send else "unchanged"
        counts[action] += 1
        per_kind[t.kind][action] += 1
        if t.send:
            items.append({"kind": t.kind, "key": t.update.key, "sku": t.update.key, "action": "update",
                          "id": t.store_id, "fields": sorted(t.send)})
    items += [{"kind": "product", "key": u.key, "sku": u.key, "action": "skip",
               "reason": "neither in the ledger nor on the store (a partial feed never creates)"} for u in unknown]
    return {"success": True, "feed": spec.name, "counts": counts, "products": per_kind["product"],
            "variations": per_kind["variation"], "feed_errors": [e.to_dict() for e in result.errors],
            "new_terms": [], "images": {"distinct": 0}, "items": items,
            "partial": {"fields": result.partial_fields, "updates": len(result.updates or []), "unknown": len(unknown)},
            "requests": client.counters.as_dict() if hasattr(client, "counters") else {}}
