"""Links between products: a grouped product's members, upsells and cross-sells.

WooCommerce takes them as store ids (`grouped_products`, `upsell_ids`, `cross_sell_ids`) and
checks none of them (an unknown id is stored as it is: recordings/29, 30), while a feed names
them by SKU or by the exporting store's "id:N". So they are resolved here, after every product
of the feed has been saved and has an id: through the feed's own products first, then the
store by SKU; a reference found in neither is reported on its product and left out, never
sent as a guess. Only fields whose ids differ from what was last sent go out, as updates
(idempotent) in product batches; the ledger keeps what was sent with the product's pushed
state, so an unchanged feed sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from wsync.catalogue import Product
from wsync.ledger.items import ItemRecord
from wsync.sync.payload import LINK_FIELDS

_FROM_LINKS = (("grouped_products", "children"), ("upsell_ids", "upsells"), ("cross_sell_ids", "cross_sells"))


@dataclass
class LinkPlan:
    key: str
    sku: str | None
    store_id: int
    send: dict[str, list[int]]
    unresolved: list[str] = field(default_factory=list)


def wanted_refs(product: Product) -> dict[str, list[str]]:
    links = product.links
    return {name: list(getattr(links, attr)) for name, attr in _FROM_LINKS}


def plan_links(products: Iterable[Product], records: dict[tuple[str, str], ItemRecord],
               find_skus: Callable[[list[str]], dict[str, int]]) -> list[LinkPlan]:
    """What to send for each saved product whose links changed. `find_skus` looks SKUs up on
    the store (products only), for references outside the feed."""
    products = [p for p in products if ("product", p.key) in records and records[("product", p.key)].store_id]
    by_ref: dict[str, int] = {}
    for p in products:
        store_id = records[("product", p.key)].store_id
        assert store_id is not None
        by_ref[p.key] = store_id
        for ref in [p.sku, *p.aliases]:
            if ref:
                by_ref.setdefault(ref, store_id)
    involved = [p for p in products if not p.links.is_empty() or sent_before(records[("product", p.key)])]
    outside = sorted({ref for p in involved for refs in wanted_refs(p).values() for ref in refs
                      if ref not in by_ref and not ref.startswith("id:")})
    if outside:
        by_ref.update(find_skus(outside))
    plans = []
    for p in involved:
        record = records[("product", p.key)]
        assert record.store_id is not None
        plan = LinkPlan(p.key, p.sku or None, record.store_id, {})
        for name, refs in wanted_refs(p).items():
            ids = []
            for ref in refs:
                found = by_ref.get(ref)
                if found is None:
                    plan.unresolved.append(ref)
                elif found not in ids:
                    ids.append(found)
            if record.pushed.get(name, []) != ids:
                plan.send[name] = ids
        if plan.send or plan.unresolved:
            plans.append(plan)
    return plans


def sent_before(record: ItemRecord) -> bool:
    return any(record.pushed.get(name) for name in LINK_FIELDS)


def keep_links(pushed: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """A product's new pushed state keeps the links sent earlier (they are not part of its payload)."""
    for name in LINK_FIELDS:
        if name in previous and name not in pushed:
            pushed[name] = previous[name]
    return pushed
