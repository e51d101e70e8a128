"""Finding products the store already has, so a first run against a filled store updates them
instead of creating duplicates.

Two ways to ask, and the cheaper one is taken: `sku=A,B,C` look-ups in chunks (exact matches,
products and variations alike), or one paged scan of the whole catalogue with `_fields`. Never
one request per product.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from wsync.sync.rebuild import state_fields

if TYPE_CHECKING:
    from wsync.store import StoreClient

log = logging.getLogger("wsync.sync.adopt")

URL_BUDGET = 1800  # characters of `sku=` list per request, keeping URLs under ~2 KB
SCAN_PAGE = 100
FIELDS = ["id", "sku", "type", "parent_id", "status"]
# What comparing an adopted product with the feed reads (wsync.sync.rebuild.pushed_from_store),
# by name, so the store builds nothing else of its answer (it trims product answers field by
# field: related products, prices HTML and the like are skipped).
PRODUCT_STATE_FIELDS = list(dict.fromkeys([*FIELDS, *state_fields("product")]))


def sku_chunks(skus: list[str]) -> int:
    total = sum(len(s) + 3 for s in skus)  # a comma encodes as %2C
    return max(1, math.ceil(total / URL_BUDGET)) if skus else 0


def find_existing(client: StoreClient, skus: Iterable[str],
                  size_memo: dict[str, int] | None = None) -> dict[str, dict[str, Any]]:
    """SKU -> the store's product or variation (`id`, `type`, `parent_id`) for the SKUs it has.
    `size_memo` keeps the catalogue's size from one call to the next: a plan (which writes
    nothing) of a big feed asks once, not once per window, and asks nothing more of an empty store."""
    wanted = sorted({s for s in skus if s})
    if not wanted:
        return {}
    lookups = sku_chunks(wanted)
    found: dict[str, dict[str, Any]] = {}
    if lookups > 2:
        # Learn the catalogue's size for one cheap request, then pick the cheaper path.
        if size_memo is not None and "total" in size_memo:
            total = size_memo["total"]
            if total == 0:
                return found
        else:
            head = client.get("products", params={"per_page": 1, "_fields": "id"})
            header = head.headers.get("X-WP-Total")
            total = int(header or 0)
            if size_memo is not None and header is not None:
                # Only a size the store stated: without the header (a proxy stripped it) the
                # scan below is what finds its products, every window.
                size_memo["total"] = total
        pages = math.ceil(total / SCAN_PAGE)
        if pages < lookups:
            log.info("adopting by scanning %d store products (%d pages) instead of %d SKU look-ups",
                     total, pages, lookups)
            want = set(wanted)
            for obj in client.iter_pages("products", fields=FIELDS, per_page=SCAN_PAGE):
                sku = obj.get("sku")
                if sku in want:
                    found[sku] = obj
            return found
    for obj in client.find_by_skus(wanted, fields=FIELDS):
        sku = obj.get("sku")
        if sku:
            found[sku] = obj
    return found


def read_products(client: StoreClient, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Adopted products as the store keeps them (context=edit), 100 per request: a feed seen under
    a new name or a lost ledger then sends only what differs, and nothing when the store agrees
    (each write costs the store a whole product save and bumps its date_modified)."""
    wanted = sorted({int(i) for i in ids})
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), SCAN_PAGE):
        chunk = wanted[start:start + SCAN_PAGE]
        for obj in client.iter_pages("products", params={"include": ",".join(map(str, chunk)), "context": "edit"},
                                     fields=PRODUCT_STATE_FIELDS, per_page=SCAN_PAGE):
            out[int(obj["id"])] = obj
    return out


def read_variations(client: StoreClient, parent_id: int, whole: bool = False) -> list[dict[str, Any]]:
    """A parent's variations, read once per job (paged): trimmed to what matching needs, or
    `whole` as the store keeps them (context=edit), so adopting them sends only what differs and
    notes the before-images without reading them again."""
    if whole:
        return list(client.iter_pages(f"products/{parent_id}/variations", params={"context": "edit"}, per_page=100))
    return list(client.iter_pages(f"products/{parent_id}/variations",
                                  fields=["id", "sku", "attributes", "image"], per_page=100))


def attribute_signature(attributes: Any) -> tuple[tuple[str, str], ...]:
    """A variation's attribute combination, comparable between feed and store."""
    pairs = []
    items: Iterable[tuple[Any, Any]]
    if isinstance(attributes, dict):
        items = attributes.items()
    else:
        items = ((a.get("name") or "", a.get("option") or "") for a in attributes or [])
    for name, option in items:
        pairs.append((str(name).strip().casefold(), str(option).strip().casefold()))
    return tuple(sorted(pairs))
