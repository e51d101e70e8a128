"""The link phase: grouped members, upsells and cross-sells, once every product has its id.

What to send is planned in wsync.sync.links (feed references resolved through the feed's own
products, then the store by SKU). Here the changed ones are sent as product updates and each
answer is recorded in the product's pushed state, so an unchanged feed sends nothing next time.
A reference found nowhere is reported on its product and left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wsync.catalogue import Product
from wsync.ledger.items import ItemRecord
from wsync.mapping.spill import SpilledProducts
from wsync.sync.links import LinkPlan, plan_links, sent_before, wanted_refs
from wsync.sync.push import BatchPusher, Op, OpResult
from wsync.sync.run import ImportRun, describe_failure, windows


@dataclass
class Involved:
    """The feed's products that take part in links, noted window by window as they are saved:
    those with links (or with links sent before), their records, and the references they name.
    A feed without links holds nothing here."""

    products: list[Product] = field(default_factory=list)
    records: dict[tuple[str, str], ItemRecord] = field(default_factory=dict)
    refs: set[str] = field(default_factory=set)

    def note(self, run: ImportRun, window: list[Product]) -> None:
        for p in window:
            rec = run.records.get(("product", p.key))
            if rec is None or not rec.store_id or (p.links.is_empty() and not sent_before(rec)):
                continue
            self.products.append(p)
            self.records[("product", p.key)] = rec
            self.refs.update(ref for refs in wanted_refs(p).values() for ref in refs)


def gather(run: ImportRun, products: list[Product] | SpilledProducts, involved: Involved) -> list[Product]:
    """The involved products and those their references name (found in one more pass over the
    feed, by key, SKU or alias), with their records in `run.records`."""
    chosen = {p.key: p for p in involved.products}
    refs = involved.refs
    named: list[Product] = []
    for window in windows(products):
        named += [p for p in window if p.key not in chosen and (p.key in refs or p.sku in refs
                                                                  or any(a in refs for a in p.aliases))]
    run.records = {**run.items.load_for([p.key for p in named], []), **involved.records}
    return [*involved.products, *named]


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


def push(run: ImportRun, products: list[Product] | SpilledProducts, involved: Involved) -> dict[str, int]:
    """Plan, send and record the links of the involved products; returns {"updated", "failed",
    "unresolved"}."""
    if not involved.products:
        return {"updated": 0, "failed": 0, "unresolved": 0}
    plans = plan(run, gather(run, products, involved))
    ops = [Op("update", {**item.send, "id": item.store_id}, ref=item.key, sku=item.sku)
           for item in plans if item.send]
    report = {"updated": 0, "failed": 0, "unresolved": sum(len(p.unresolved) for p in plans)}
    if not ops or run.dry_run:
        return report
    pusher = BatchPusher(run.client, "products/batch", size=run.opts.products_per_batch,
                         concurrency=run.limit, should_stop=run.ctx.should_stop)
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
