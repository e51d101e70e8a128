"""`wsync ledger rebuild`: the ledger again, from what the store carries.

Every product wsync writes carries its feed and key (`_wsync_feed`, `_wsync_key`), every variation
its key, and the image phase writes each item's source URLs beside its attachments
(`_wsync_images`, `_wsync_image`). From those, one paged read of the catalogue (and one of each
variable product's variations) gives back SKU -> id, URL -> attachment and the pushed state (the
store's values, in the shape wsync sends them), so an import after a lost ledger adopts instead
of creating duplicates, and downloads no image again: wc/v3 never dedupes, the ledger does.

Each page is saved in one transaction with a checkpoint (ledger_meta `rebuild`): a rebuild that
was stopped goes on from the page it had reached.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from wsync.catalogue import Details
from wsync.ledger import Ledger
from wsync.ledger.history import get_meta, set_meta
from wsync.ledger.items import ImageMap, ItemMap, ItemRecord
from wsync.mapping.images import normalise_url
from wsync.sync.images import META_IMAGE, META_IMAGES, urls_hash
from wsync.sync.payload import LINK_FIELDS, META_FEED, META_KEY, content_hash

log = logging.getLogger("wsync.sync.rebuild")

PAGE = 100
CHECKPOINT = "rebuild"
_OUR_META = (META_IMAGES, META_IMAGE)
_COMMON = ("regular_price", "sale_price", "manage_stock", "stock_quantity", "stock_status", "weight", "status",
           "description", "tax_class")
_PRODUCT_ONLY = ("name", "type", "short_description", *LINK_FIELDS)


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    return {str(m.get("key")): m.get("value") for m in obj.get("meta_data") or [] if isinstance(m, dict)}


def state_fields(kind: str) -> list[str]:
    """The store fields `pushed_from_store` reads for `kind`: what a read meant for it names in
    `_fields`, so the store builds nothing else of its answer."""
    names = ["sku", *_COMMON, *(_PRODUCT_ONLY if kind == "product" else ()), "dimensions",
             *(n for n in Details.__slots__ if n != "gtin"), "attributes", "meta_data"]
    if kind == "product":
        names += ["categories", "tags", "default_attributes"]
    return list(dict.fromkeys(names))


def pushed_from_store(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    """A product or variation as the store holds it, in the shape wsync's payload has (so an
    unchanged feed item compares equal and sends nothing)."""
    out: dict[str, Any] = {}
    if obj.get("sku"):
        out["sku"] = obj["sku"]
    for name in _COMMON + (_PRODUCT_ONLY if kind == "product" else ()):
        if name in obj:
            out[name] = obj[name]
    dims = obj.get("dimensions")
    if isinstance(dims, dict) and any(dims.values()):
        out["dimensions"] = {k: dims.get(k) or "" for k in ("length", "width", "height")}
    for name in Details.__slots__:
        if name in obj and name not in ("downloads", "gtin"):
            out[name] = obj[name]
    if obj.get("downloads"):
        out["downloads"] = [{"id": d.get("id"), "name": d.get("name"), "file": d.get("file")} for d in obj["downloads"]]
    if kind == "product":
        if obj.get("categories"):
            out["categories"] = [{"id": int(c["id"])} for c in obj["categories"]]
        if obj.get("tags"):
            out["tags"] = [{"name": t.get("name")} for t in obj["tags"]]
        attrs = []
        for a in obj.get("attributes") or []:
            entry: dict[str, Any] = {"position": a.get("position", 0), "visible": a.get("visible", False),
                                     "variation": a.get("variation", False), "options": list(a.get("options") or [])}
            if a.get("id"):
                entry["id"] = int(a["id"])
            else:
                entry["name"] = a.get("name")
            attrs.append(entry)
        if attrs:
            out["attributes"] = attrs
        defaults = [{"id": int(d["id"]), "option": d.get("option")} if d.get("id") else
                    {"name": d.get("name"), "option": d.get("option")} for d in obj.get("default_attributes") or []]
        if defaults:
            out["default_attributes"] = defaults
    else:
        out["attributes"] = [{"id": int(a["id"]), "option": a.get("option")} if a.get("id") else
                             {"name": a.get("name"), "option": a.get("option")} for a in obj.get("attributes") or []]
    meta = [{"key": m.get("key"), "value": m.get("value")} for m in obj.get("meta_data") or []
            if isinstance(m, dict) and m.get("key") not in _OUR_META]
    if meta:
        out["meta_data"] = meta
    return out


def learned_state(item: Any, only: list[str] | None) -> dict[str, Any]:
    """What the ledger records as pushed for an adopted item (an ItemPlan) found as the feed says,
    with nothing sent: the feed's state where every field was compared, else (--only) the
    store's own, so the next full run compares the fields --only never looked at."""
    if only and item.store_state is not None:
        return pushed_from_store(item.store_state, item.kind)
    return dict(item.desired)


def _images(obj: dict[str, Any], kind: str) -> tuple[list[int] | None, list[str] | None, list[tuple[str, int, Any]]]:
    """(attachment ids shown, source URLs wanted, URL -> attachment pairs) from the item's meta."""
    meta = _meta(obj)
    store = list(obj.get("images") or []) if kind == "product" else ([obj["image"]] if obj.get("image") else [])
    ids = [int(i["id"]) for i in store if i.get("id")]
    if kind == "product":
        raw = meta.get(META_IMAGES)
        try:
            entries = json.loads(raw) if isinstance(raw, str) else (raw or None)
        except ValueError:
            entries = None
        if not isinstance(entries, list):
            return None, None, []  # never written by the image phase: adopted by basename later
        urls = [normalise_url(str(e.get("url"))) for e in entries if isinstance(e, dict) and e.get("url")]
    else:
        if META_IMAGE not in meta:
            return None, None, []
        urls = [normalise_url(str(meta[META_IMAGE]))] if meta[META_IMAGE] else []
        entries = [{"url": u} for u in urls]
    pairs: list[tuple[str, int, Any]] = []
    src = {int(i["id"]): i.get("src") for i in store if i.get("id")}
    if len(urls) == len(ids):
        pairs = [(u, att, src.get(att)) for u, att in zip(urls, ids, strict=True)]
    else:
        # Each entry names its own URL and id: pair them from the entry, never by position (an
        # entry without a URL has none in `urls`, so positions would fall out of step).
        for e in entries:
            if isinstance(e, dict) and e.get("url") and e.get("id") and int(e["id"]) in src:
                pairs.append((normalise_url(str(e["url"])), int(e["id"]), src[int(e["id"])]))
    return ids, urls, pairs


class Rebuild:
    def __init__(self, ledger: Ledger, client: Any, progress: Callable[[str], None] | None = None):
        self.ledger, self.client, self.progress = ledger, client, progress
        self.counts = {"pages": 0, "products": 0, "variations": 0, "images": 0, "skipped": 0}
        self.feeds: set[str] = set()

    def _records(self, obj: dict[str, Any]) -> tuple[str, list[ItemRecord], list[tuple[str, int, Any]]] | None:
        meta = _meta(obj)
        feed, key = meta.get(META_FEED), meta.get(META_KEY)
        if not feed or not key:
            return None
        records, images = [], []
        pushed = pushed_from_store(obj, "product")
        ids, urls, pairs = _images(obj, "product")
        rec = ItemRecord("product", str(key), sku=obj.get("sku") or None, store_id=int(obj["id"]), pushed=pushed,
                         hash=content_hash(pushed), images=ids, image_urls=urls,
                         images_hash=urls_hash(urls) if urls is not None and len(pairs) == len(urls) else None)
        records.append(rec)
        images += pairs
        if obj.get("type") == "variable":
            for var in self.client.iter_pages(f"products/{int(obj['id'])}/variations", params={"context": "edit"},
                                              per_page=PAGE):
                vkey = _meta(var).get(META_KEY)
                if not vkey:
                    continue
                vpushed = pushed_from_store(var, "variation")
                vids, vurls, vpairs = _images(var, "variation")
                records.append(ItemRecord(
                    "variation", str(vkey), sku=var.get("sku") or None, store_id=int(var["id"]), parent_key=str(key),
                    parent_id=int(obj["id"]), pushed=vpushed, hash=content_hash(vpushed), images=vids,
                    image_urls=vurls,
                    images_hash=urls_hash(vurls) if vurls is not None and len(vpairs) == len(vurls) else None))
                images += vpairs
        return str(feed), records, images

    def run(self, restart: bool = False) -> dict[str, Any]:
        started = time.monotonic()
        state = None if restart else get_meta(self.ledger, CHECKPOINT)
        page = int(state["next_page"]) if state else 1
        if state:
            self.counts.update(state.get("counts") or {})
            self.feeds = set(state.get("feeds") or [])
            resumed = page
        else:
            resumed = None
        while True:
            response = self.client.get("products", params={"orderby": "id", "order": "asc", "per_page": PAGE,
                                                           "page": page, "context": "edit", "status": "any"})
            items = response.data or []
            by_feed: dict[str, list[ItemRecord]] = {}
            images: list[tuple[str, int, Any]] = []
            for obj in items:
                found = self._records(obj)
                if found is None:
                    self.counts["skipped"] += 1
                    continue
                feed, records, pairs = found
                by_feed.setdefault(feed, []).extend(records)
                images += pairs
                self.feeds.add(feed)
                self.counts["products"] += 1
                self.counts["variations"] += len(records) - 1
            for feed, records in by_feed.items():
                ItemMap(self.ledger, feed).save(records)
            if images:
                ImageMap(self.ledger).save(images)
            self.counts["images"] += len(images)
            self.counts["pages"] += 1
            pages = response.total_pages
            last = not items or (pages is not None and page >= pages) or (pages is None and len(items) < PAGE)
            set_meta(self.ledger, CHECKPOINT, None if last else
                     {"next_page": page + 1, "counts": self.counts, "feeds": sorted(self.feeds)})
            if self.progress is not None:
                self.progress(f"page {page}{'/' + str(pages) if pages else ''}: {self.counts['products']} products, "
                              f"{self.counts['variations']} variations, {self.counts['images']} images")
            if last:
                break
            page += 1
        distinct = self.ledger.conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        return {"success": True,
                "message": (f"ledger rebuilt from the store: {self.counts['products']} products and "
                            f"{self.counts['variations']} variations of {len(self.feeds)} feed(s), "
                            f"{distinct} image URLs; {self.counts['skipped']} products not written by wsync skipped"),
                "feeds": sorted(self.feeds), **self.counts, "image_urls": int(distinct),
                "resumed_from_page": resumed, "duration_s": round(time.monotonic() - started, 3),
                "requests": self.client.counters.as_dict() if hasattr(self.client, "counters") else {}}


def rebuild_ledger(ledger: Ledger, client: Any, *, restart: bool = False,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    return Rebuild(ledger, client, progress).run(restart=restart)
