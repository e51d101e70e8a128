"""One parent's variations as requests: what the variation phase sends, alone or packed with
other parents' (wsync.sync.phases.across_parents)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wsync.catalogue import Product
from wsync.sync.journal import describe_create
from wsync.sync.plan import ItemPlan
from wsync.sync.push import BatchPusher, Op, OpResult
from wsync.sync.run import ImportRun


@dataclass
class ParentWork:
    """One saved parent's planned variations and the requests they need; `results` fill in as
    the answers come."""
    product: Product
    parent_id: int
    plans: list[ItemPlan]
    ops: list[Op]
    results: list[OpResult] = field(default_factory=list)


def describer(work: list[ParentWork]) -> Callable[[Op], dict[str, Any] | None]:
    """The journal's description of a create among these parents' variations: by key and SKU, a
    variation without a SKU by its attribute combination, with the parent it is filed under."""
    owners = {id(op.ref): w for w in work for op in w.ops}
    combinations = {v.key: dict(v.attributes) for w in work for v in w.product.variations}

    def describe(op: Op) -> dict[str, Any] | None:
        owner = owners.get(id(op.ref))
        parent_id = int(op.body.get("product_id") or (owner.parent_id if owner else 0)) or None
        parent_key = owner.product.key if owner else None
        key = op.ref.key
        return describe_create(op, match=None if op.body.get("sku") else combinations.get(key),
                               parent_key=parent_key, parent_id=parent_id)
    return describe


def send_alone(run: ImportRun, work: ParentWork, ops: list[Op]) -> list[OpResult]:
    """`ops` of one parent, in requests to its own endpoint."""
    if not ops:
        return []
    pusher = BatchPusher(run.client, f"products/{work.parent_id}/variations/batch",
                         size=run.opts.variations_per_batch, concurrency=1,
                         reconcile=lambda creates: reconcile(run, work.parent_id, creates),
                         should_stop=run.ctx.should_stop, max_request_s=run.max_request_s,
                         journal=run.journal("variation", describer([work]), parent_id=work.parent_id),
                         on_wait=run.waiting)
    results: list[OpResult] = []
    for chunk in pusher.run(ops):
        results.extend(chunk)
    return results


def reconcile(run: ImportRun, parent_id: int | None, creates: list[Op]) -> dict[int, dict[str, Any]]:
    """Which creates of a request that failed as a whole the store saved anyway (by SKU, each
    under its own parent: `parent_id`, or for a request of several parents the product_id each
    create names)."""
    found = {}
    store = run.client.find_by_skus([op.sku for op in creates if op.sku], fields=["id", "sku", "type", "parent_id"])
    by_place = {(o.get("sku"), int(o.get("parent_id") or 0)): o for o in store}
    for index, op in enumerate(creates):
        wanted = parent_id or int(op.body.get("product_id") or 0)
        if (op.sku, wanted) in by_place:
            found[index] = by_place[(op.sku, wanted)]
    return found
