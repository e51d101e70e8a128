"""The link phase: grouped members, upsells and cross-sells, once every product has its id.

What to send is planned in wsync.sync.links (feed references resolved through the feed's own
products, then the store by SKU). Here the changed ones are sent as product updates and each
answer is recorded in the product's pushed state, so an unchanged feed sends nothing next time.
A reference found nowhere is reported on its product and left out.
"""

from __future__ import annotations

from wsync.catalogue import Product
from wsync.sync.links import LinkPlan, plan_links
from wsync.sync.push import BatchPusher, Op, OpResult
from wsync.sync.run import ImportRun, describe_failure


def plan(run: ImportRun, products: list[Product]) -> list[LinkPlan]:
    """The saved products whose links changed; reports the references found nowhere."""
    def find_skus(skus: list[str]) -> dict[str, int]:
        found = run.client.find_by_skus(skus, fields=["id", "sku", "type"])
        return {o["sku"]: int(o["id"]) for o in found if o.get("type") != "variation"}

    plans = plan_links(products, run.records, find_skus)
    for item in plans:
        if item.unresolved:
            shown = ", ".join(item.unresolved[:5]) + (" ..." if len(item.unresolved) > 5 else "")
            run.ctx.error("links", item.sku, f"linked product(s) neither in the feed nor on the store, left out: "
                                             f"{shown}", "wsync_link_unresolved")
    return plans


def push(run: ImportRun, products: list[Product]) -> dict[str, int]:
    """Plan, send and record the links; returns {"updated", "failed", "unresolved"}."""
    plans = plan(run, products)
    ops = [Op("update", {**item.send, "id": item.store_id}, ref=item.key, sku=item.sku)
           for item in plans if item.send]
    report = {"updated": 0, "failed": 0, "unresolved": sum(len(p.unresolved) for p in plans)}
    if not ops or run.dry_run:
        return report
    pusher = BatchPusher(run.client, "products/batch", size=run.opts.products_per_batch,
                         concurrency=run.opts.concurrency, should_stop=run.ctx.should_stop)
    by_key = {item.key: item for item in plans}
    for results in pusher.run(ops):
        record_links(run, results, by_key, report)
    return report


def record_links(run: ImportRun, results: list[OpResult], by_key: dict[str, LinkPlan],
                 report: dict[str, int]) -> None:
    """One answered batch: the links sent join each product's pushed state."""
    records = []
    for result in results:
        item = by_key[result.op.ref]
        if result.ok:
            rec = run.records[("product", item.key)]
            rec.pushed = {**rec.pushed, **item.send}
            records.append(rec)
            report["updated"] += 1
        else:
            report["failed"] += 1
            run.ctx.error("links", item.sku, describe_failure(result.error),
                          result.error.code if result.error else None)
    run.items.save(records)
