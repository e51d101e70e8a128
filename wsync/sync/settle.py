"""Settling what a dead worker left running on the store, before anything is planned.

A worker killed mid-request leaves its batch running on the store: PHP goes on saving items
for seconds after its client is gone (recordings/27), and a new worker that looked the SKUs up
then would create the ones not saved yet a second time. So a job (a resumed one, or any later
run of the feed) first takes every write the ledger still lists as in flight for its feed and
whose worker is gone (wsync.ledger.pending), and for each:
1. looks up what it could have made twice: created products and variations (by SKU, or by
   attribute combination for a variation without one) and images the store was to download;
2. when all of it is there, the request has done what matters: it is adopted at once;
3. otherwise looks again, a little later each time, until all of it is there or the request
   cannot still be running (its sent-at plus `max_request_s`); what has not landed by then
   never will, and is planned as usual;
4. adopts what landed: products and variations go into the ledger under their feed key (so
   they are updated, not created), image URLs into the URL -> attachment map (so they are
   referenced by id, not downloaded again).
While it waits, the job's checkpoint says so (`phase: settling`, what for, until when), which
`wsync status` shows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from wsync.ledger import Ledger
from wsync.ledger.items import ImageMap, ItemMap, ItemRecord
from wsync.ledger.pending import PendingWrite, PendingWrites
from wsync.store.client import StoreClient
from wsync.store.errors import StoreAuthError, StoreError
from wsync.sync.adopt import attribute_signature, read_variations
from wsync.sync.images import basename_key, rename_chain
from wsync.sync.push import FIRST_POLL_S, MAX_POLL_S

log = logging.getLogger("wsync.sync.settle")

# What a store request may take at most, unless [store] max_request_s says otherwise: above the
# PHP and proxy limits hosts commonly set (30-300 s). A request sent longer ago is over.
DEFAULT_MAX_REQUEST_S = 300.0
MAX_REQUEST_CEILING_S = 3600.0

Status = Callable[[dict[str, Any]], None]


@dataclass
class Landed:
    """What one in-flight write has been seen to do on the store so far."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)  # feed key -> store object
    images: dict[str, tuple[int, str | None]] = field(default_factory=dict)  # URL -> (attachment, src)
    wanted: int = 0

    @property
    def complete(self) -> bool:
        return len(self.items) + len(self.images) >= self.wanted


@dataclass
class SettleReport:
    writes: int = 0
    adopted_items: int = 0
    adopted_images: int = 0
    waited_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"writes": self.writes, "adopted_items": self.adopted_items, "adopted_images": self.adopted_images,
                "waited_s": round(self.waited_s, 1)}


def settle_orphaned_writes(client: StoreClient, ledger: Ledger, feed: str, *, max_request_s: float,
                           status: Status | None = None, should_stop: Callable[[], bool] = lambda: False,
                           sleep: Callable[[float], None] = time.sleep,
                           clock: Callable[[], float] = time.time) -> SettleReport:
    pending = PendingWrites(ledger)
    writes = pending.orphaned(feed)
    report = SettleReport(writes=len(writes))
    if not writes:
        return report
    log.warning("%d request(s) of an earlier worker may still be running on the store; settling them first",
                len(writes))
    started = clock()
    delay = FIRST_POLL_S
    open_writes = list(writes)
    ledger_items: dict[tuple[str, str], ItemRecord] | None = None  # the feed's items, read once, when needed
    while open_writes:
        still_open = []
        for write in open_writes:
            landed = _look_up(client, write)
            over = clock() >= write.sent_epoch + max_request_s
            if landed.complete or over:
                if landed.items and ledger_items is None:
                    ledger_items = ItemMap(ledger, feed).load()
                _adopt(ledger, feed, write, landed, report, ledger_items or {})
                pending.remove(write.id)
            else:
                still_open.append(write)
        open_writes = still_open
        if not open_writes or should_stop():
            break
        until = max(w.sent_epoch for w in open_writes) + max_request_s
        if status is not None:
            status(_status_doc(open_writes, until))
        sleep(max(0.0, min(delay, until - clock())))
        delay = min(delay * 1.5, MAX_POLL_S)
    report.waited_s = clock() - started
    return report


def _status_doc(writes: list[PendingWrite], until: float) -> dict[str, Any]:
    skus = [str(i.get("sku") or i.get("key")) for w in writes for i in w.items]
    return {"requests": len(writes), "items": len(skus), "waiting_for": skus[:10],
            "until": datetime.fromtimestamp(until, UTC).replace(microsecond=0).isoformat(),
            "why": "an earlier worker's requests may still be saving on the store"}


# -- looking up what landed ---------------------------------------------------------------
def _look_up(client: StoreClient, write: PendingWrite) -> Landed:
    try:
        if write.kind == "product":
            return _products_landed(client, write)
        if write.kind == "variation":
            return _variations_landed(client, write)
        if write.kind == "image":
            return _images_landed(client, write)
    except StoreAuthError:
        raise
    except StoreError as exc:
        # A parent deleted meanwhile, a store hiccup: nothing seen this time; the deadline ends it.
        log.info("settling %s: look-up failed (%s)", write.endpoint, exc)
    return Landed(wanted=len(write.items))


def _products_landed(client: StoreClient, write: PendingWrite) -> Landed:
    landed = Landed(wanted=len(write.items))
    skus = [str(i["sku"]) for i in write.items if i.get("sku")]
    found = {o.get("sku"): o for o in client.find_by_skus(skus, fields=["id", "sku", "type", "parent_id"])
             if o.get("type") != "variation"}
    for item in write.items:
        obj = found.get(item.get("sku"))
        if obj is not None:
            landed.items[str(item["key"])] = obj
    return landed


def _variations_landed(client: StoreClient, write: PendingWrite) -> Landed:
    landed = Landed(wanted=len(write.items))
    # One request may hold several parents' variations: each item names its own parent (a row
    # written before that: the request's).
    by_parent: dict[int, list[dict[str, Any]]] = {}
    for item in write.items:
        parent_id = int(item.get("parent_id") or write.parent_id or 0)
        if parent_id:
            by_parent.setdefault(parent_id, []).append(item)
    for parent_id, items in by_parent.items():
        store = read_variations(client, parent_id)
        by_sku = {v.get("sku"): v for v in store if v.get("sku")}
        by_combination = {attribute_signature(v.get("attributes")): v for v in store}
        for item in items:
            obj = by_sku.get(item.get("sku")) if item.get("sku") else None
            if obj is None and item.get("match"):
                obj = by_combination.get(attribute_signature(item["match"]))
            if obj is not None:
                landed.items[str(item["key"])] = {**obj, "parent_id": parent_id}
    return landed


def _images_landed(client: StoreClient, write: PendingWrite) -> Landed:
    urls = [u for item in write.items for u in item.get("urls") or []]
    landed = Landed(wanted=len(urls))
    ids = [int(i["id"]) for i in write.items if i.get("id")]
    if not ids:
        return landed
    base = write.endpoint.removesuffix("/batch")
    response = client.get(base, params={"include": ",".join(map(str, ids)), "per_page": 100,
                                        "_fields": "id,images,image"})
    current = {int(o["id"]): o for o in response.data or [] if isinstance(o, dict)}
    for item in write.items:
        obj = current.get(int(item.get("id") or 0)) or {}
        have = list(obj.get("images") or []) or ([obj["image"]] if obj.get("image") else [])
        for url in item.get("urls") or []:
            for img in have:
                if img.get("id") and basename_key(url) in rename_chain(img.get("src") or img.get("name") or ""):
                    landed.images[url] = (int(img["id"]), img.get("src"))
                    break
    return landed


# -- adopting it --------------------------------------------------------------------------
def _adopt(ledger: Ledger, feed: str, write: PendingWrite, landed: Landed, report: SettleReport,
           known: dict[tuple[str, str], ItemRecord]) -> None:
    if landed.images:
        ImageMap(ledger).save([(url, att, src) for url, (att, src) in landed.images.items()])
        report.adopted_images += len(landed.images)
    if not landed.items:
        return
    kind = "variation" if write.kind == "variation" else "product"
    by_key = {str(i["key"]): i for i in write.items}
    records = []
    for key, obj in landed.items.items():
        rec = known.get((kind, key)) or ItemRecord(kind, key)
        if rec.store_id:
            continue  # the ledger already has it (saved before the worker died)
        rec.sku = by_key[key].get("sku")
        rec.store_id = int(obj["id"])
        if kind == "variation":
            rec.parent_key = by_key[key].get("parent_key")
            rec.parent_id = int(obj.get("parent_id") or write.parent_id or 0) or None
        # What it holds is not known for sure (it may have been saved half-way): no pushed
        # state, so the plan sends it in full once, as an update.
        rec.last_job_id, rec.last_action = write.job_id, "created"
        known[(kind, key)] = rec
        records.append(rec)
    ItemMap(ledger, feed).save(records)
    report.adopted_items += len(records)
    log.info("settled %s: adopted %d item(s) an earlier worker's request saved", write.endpoint, len(records))
