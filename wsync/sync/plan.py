"""The changeset: which products and variations to create, update (which fields), leave alone or
remove. Pure data in, pure data out, so it is testable without a store, and `wsync plan` shows
exactly what `wsync import` would do.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _json_str  # a str as JSON, non-ASCII kept (C)
from typing import Any

from wsync.catalogue import Attribute, Product
from wsync.ledger.items import ItemRecord
from wsync.sync.options import ImportOptions
from wsync.sync.payload import (
    META_FEED,
    TermResolver,
    content_hash,
    diff,
    product_payload,
    restrict,
    variation_payload,
)
from wsync.sync.plan_items import encode_line


@dataclass
class ItemPlan:
    kind: str  # product | variation
    key: str
    sku: str | None
    action: str  # create | update | unchanged | remove | skip
    store_id: int | None = None
    desired: dict[str, Any] = field(default_factory=dict)  # the full desired state (for the ledger)
    send: dict[str, Any] = field(default_factory=dict)  # what goes over the wire
    parent_key: str | None = None
    adopted: bool = False
    reason: str = ""
    # A resumed job counts items it already wrote in its earlier attempt as that attempt did.
    done_earlier: str | None = None
    # An adopted item's object as the store answered it (context=edit), when it was read whole:
    # the before-image `wsync undo` restores comes from it, not from another read.
    store_state: dict[str, Any] | None = None

    @property
    def changed(self) -> list[str]:
        return sorted(k for k in self.send if k != "id")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "key": self.key, "sku": self.sku, "action": self.action}
        if self.store_id:
            out["id"] = self.store_id
        if self.action == "update":
            out["fields"] = self.changed
        if self.parent_key:
            out["parent"] = self.parent_key
        if self.adopted:
            out["adopted"] = True
        if self.reason:
            out["reason"] = self.reason
        return out

    def to_json(self) -> str:
        """to_dict() as the line of JSON json.dumps(..., ensure_ascii=False) makes of it. A plain
        create (all but a few items of a first import's plan) is written without the dict."""
        if self.action != "create" or self.store_id or self.adopted or self.reason:
            return encode_line(self.to_dict())
        sku = "null" if self.sku is None else _json_str(self.sku)
        line = f'{{"kind": {_json_str(self.kind)}, "key": {_json_str(self.key)}, "sku": {sku}, "action": "create"'
        return line + (f', "parent": {_json_str(self.parent_key)}}}' if self.parent_key else "}")


def complete_variation_attributes(product: Product) -> None:
    """Make sure every attribute a variation uses is on the parent with `variation: true` and all
    options in use; otherwise WooCommerce silently turns those variations into "Any"."""
    if product.type != "variable":
        return
    by_name = {a.name.casefold(): a for a in product.attributes}
    for variation in product.variations:
        for name, option in variation.attributes.items():
            attr = by_name.get(name.casefold())
            if attr is None:
                attr = Attribute(name=name, options=[], variation=True)
                product.attributes.append(attr)
                by_name[name.casefold()] = attr
            attr.variation = True
            if option not in attr.options:
                attr.options.append(option)


def plan_item(kind: str, key: str, sku: str | None, desired: dict[str, Any], record: ItemRecord | None,
              adopted_id: int | None, opts: ImportOptions, job_id: int | None,
              parent_key: str | None = None, store_state: dict[str, Any] | None = None,
              store_pushed: dict[str, Any] | None = None) -> ItemPlan:
    """`store_state` / `store_pushed`: an adopted item as the store holds it, whole, and in the
    shape of a payload; then only the fields that differ from it are sent, and none when it is
    already as the feed says (a write that changes nothing still costs the store a save, bumps
    its date_modified and re-syncs a variation's parent)."""
    full = desired
    wanted = restrict(desired, opts.only)
    store_id = record.store_id if record and record.store_id else adopted_id
    plan = ItemPlan(kind, key, sku, "unchanged", store_id=store_id, desired=full, parent_key=parent_key,
                    adopted=bool(adopted_id and not (record and record.store_id)))
    if plan.adopted:
        plan.store_state = store_state
    if store_id is None:
        if not opts.create_new:
            plan.action, plan.reason = "skip", "new item, and --no-create-new"
        elif opts.only:
            plan.action, plan.reason = "skip", "new item, and --only sends updates only"
        else:
            plan.action, plan.send = "create", dict(full)
        return plan
    if not opts.update_existing:
        plan.action, plan.reason = "skip", "exists, and --no-update-existing"
        return plan
    if plan.adopted and store_pushed is not None and not opts.force:
        changed = diff(wanted, store_pushed)
        if changed:
            plan.action, plan.send = "update", changed
        return plan
    if opts.force or plan.adopted or record is None:
        # Adopted items the store's state of is not at hand: the whole state, once.
        plan.action, plan.send = "update", dict(wanted)
        return plan
    if not opts.only and record.hash == content_hash(full):
        if record.last_job_id == job_id and record.last_action in ("created", "updated") and job_id is not None:
            plan.done_earlier = record.last_action
        return plan
    changed = diff(wanted, record.pushed)
    if changed:
        plan.action, plan.send = "update", changed
    elif record.last_job_id == job_id and job_id is not None and record.last_action in ("created", "updated"):
        plan.done_earlier = record.last_action
    return plan


def plan_products(products: list[Product], records: dict[tuple[str, str], ItemRecord],
                  adopted: dict[str, dict[str, Any]], feed: str, resolver: TermResolver,
                  opts: ImportOptions, job_id: int | None,
                  store_states: dict[int, dict[str, Any]] | None = None,
                  store_pushed: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> list[ItemPlan]:
    """`store_states`: adopted products read whole, by id (wsync.sync.adopt.read_products), with
    `store_pushed` putting one in the shape of a payload; those send only what differs."""
    plans = []
    for product in products:
        complete_variation_attributes(product)
        sku = product.sku or product.key
        desired = product_payload(product, feed, resolver)
        record = records.get(("product", product.key))
        found = adopted.get(sku)
        adopted_id = None
        if found and found.get("type") != "variation":
            adopted_id = int(found["id"])
        state = (store_states or {}).get(adopted_id) if adopted_id else None
        as_pushed = store_pushed(state) if state is not None and store_pushed is not None else None
        if as_pushed is not None:
            as_pushed = with_feed_marker(as_pushed, feed)
        plans.append(plan_item("product", product.key, sku, desired, record, adopted_id, opts, job_id,
                               store_state=state if as_pushed is not None else None, store_pushed=as_pushed))
    return plans


def with_feed_marker(pushed: dict[str, Any], feed: str) -> dict[str, Any]:
    """An adopted product's state with wsync's feed marker read as this feed's. A product that
    differs only there is left alone: a wholesaler's export saved under a new name each day would
    otherwise have every product saved again for a value only `wsync ledger rebuild` reads (it
    then files the product under the older name, and the next import adopts it again, without
    writes). The marker is rewritten whenever the product's other meta is."""
    meta = pushed.get("meta_data")
    if not isinstance(meta, list) or not any(isinstance(m, dict) and m.get("key") == META_FEED for m in meta):
        return pushed
    marked = [{**m, "value": feed} if isinstance(m, dict) and m.get("key") == META_FEED else m for m in meta]
    return {**pushed, "meta_data": marked}


def plan_missing(present: Container[str], records: Iterable[ItemRecord], opts: ImportOptions) -> list[ItemPlan]:
    """Products the ledger knows for this feed (`records`) that the feed (the keys `present`)
    no longer lists."""
    if opts.missing == "keep" or opts.only:
        return []
    out = []
    for record in records:
        key = record.key
        if record.kind != "product" or key in present or not record.store_id:
            continue
        if record.missing_action == opts.missing:
            continue  # already done on an earlier run
        out.append(ItemPlan("product", key, record.sku, "remove", store_id=record.store_id,
                            reason=f"left the feed (--missing {opts.missing})"))
    return out


def variations_by_parent(records: dict[tuple[str, str], ItemRecord]) -> dict[str, list[ItemRecord]]:
    """The ledger's variation records grouped by parent key, built once per job: looking them up
    per parent by scanning every record would make planning quadratic in the catalogue size."""
    out: dict[str, list[ItemRecord]] = {}
    for (kind, _), record in records.items():
        if kind == "variation" and record.parent_key:
            out.setdefault(record.parent_key, []).append(record)
    return out


def plan_variations(product: Product, parent_id: int | None, records: dict[tuple[str, str], ItemRecord],
                    store_variations: list[dict[str, Any]] | None, resolver: TermResolver,
                    opts: ImportOptions, job_id: int | None,
                    by_parent: dict[str, list[ItemRecord]] | None = None,
                    store_pushed: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> list[ItemPlan]:
    """Variations of one parent, matched by SKU or, when the feed gives none, by attributes.
    `store_pushed`: a store variation (read whole) in the shape of a payload, for adopting
    variations with only the fields that differ (wsync.sync.rebuild.pushed_from_store)."""
    from wsync.sync.adopt import attribute_signature

    by_sku: dict[str, dict[str, Any]] = {}
    by_sig: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for sv in store_variations or []:
        if sv.get("sku"):
            by_sku[sv["sku"]] = sv
        by_sig.setdefault(attribute_signature(sv.get("attributes")), sv)
    plans: list[ItemPlan] = []
    matched_ids: set[int] = set()
    for variation in product.variations:
        sku = variation.sku or variation.key
        desired = variation_payload(variation, product, resolver)
        record = records.get(("variation", variation.key))
        if record and record.parent_id and parent_id and record.parent_id != parent_id:
            record = None  # the parent was replaced: the old id belongs to another product
        found = by_sku.get(sku)
        if found is None and not variation.sku:
            found = by_sig.get(attribute_signature(variation.attributes))
        adopted_id = int(found["id"]) if found else None
        if record and record.store_id:
            matched_ids.add(record.store_id)
        if adopted_id:
            matched_ids.add(adopted_id)
        if parent_id is None:
            record, adopted_id = None, None
        as_pushed = store_pushed(found) if (adopted_id and found and store_pushed is not None) else None
        plans.append(plan_item("variation", variation.key, sku, desired, record, adopted_id, opts, job_id,
                               parent_key=product.key, store_state=found if as_pushed is not None else None,
                               store_pushed=as_pushed))
    if opts.stale_variations == "delete" and not opts.only and parent_id is not None:
        wanted = {v.key for v in product.variations}
        siblings = (by_parent.get(product.key, []) if by_parent is not None
                    else [r for (kind, _), r in records.items() if kind == "variation" and r.parent_key == product.key])
        for record in siblings:
            key = record.key
            if (key not in wanted and record.store_id and record.store_id not in matched_ids):
                plans.append(ItemPlan("variation", key, record.sku, "remove", store_id=record.store_id,
                                      parent_key=product.key, reason="left the feed"))
                matched_ids.add(record.store_id)
        for sv in store_variations or []:
            if int(sv["id"]) not in matched_ids:
                plans.append(ItemPlan("variation", f"store:{sv['id']}", sv.get("sku") or None, "remove",
                                      store_id=int(sv["id"]), parent_key=product.key,
                                      reason="on the store, not in the feed"))
    return plans


def add_counts(into: dict[str, int], plans: list[ItemPlan], more: dict[str, int] | None = None) -> None:
    """Add each plan's action (and the counts `more`) to `into`."""
    for p in plans:
        into[p.action] = into.get(p.action, 0) + 1
    for action, n in (more or {}).items():
        into[action] = into.get(action, 0) + n


def counts_for(plans: list[ItemPlan]) -> dict[str, int]:
    """How many plans of each action: create, update, unchanged, remove, skip."""
    out = {"create": 0, "update": 0, "unchanged": 0, "remove": 0, "skip": 0}
    for p in plans:
        out[p.action] = out.get(p.action, 0) + 1
    return out
