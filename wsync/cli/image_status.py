"""What `wsync images status` shows: one product's images and its own image history, or every
item still short of an image. The store says what it has; the ledger says what each item wants
(its source URLs), which attachment each URL became, and which URLs failed, how and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from rich.console import Console

from wsync.errors import UsageError
from wsync.ledger import Ledger
from wsync.ledger.items import ImageMap, ItemRecord
from wsync.sync.engine import make_client
from wsync.sync.images import lacking_urls
from wsync.sync.options import ImportOptions

if TYPE_CHECKING:
    from wsync.config import Settings

RETRY_AFTER_S = ImportOptions().image_retry_after_s


def _records(ledger: Ledger, where: str, args: tuple[Any, ...]) -> list[tuple[str, ItemRecord]]:
    import json

    rows = ledger.conn.execute(f"SELECT * FROM items WHERE {where} ORDER BY feed, kind, key", args).fetchall()
    out = []
    for row in rows:
        rec = ItemRecord(row["kind"], row["key"], sku=row["sku"], store_id=row["store_id"],
                         parent_id=row["parent_id"], images=json.loads(row["images"]) if row["images"] else None,
                         images_hash=row["images_hash"],
                         image_urls=json.loads(row["image_urls"]) if row["image_urls"] else None)
        out.append((row["feed"], rec))
    return out


def _failure_doc(failure: dict[str, Any]) -> dict[str, Any]:
    permanent = bool(failure.get("permanent", 1))
    next_retry: str | None = "next run"
    if permanent:
        try:
            failed_at = datetime.fromisoformat(failure["failed_at"])
            next_retry = (failed_at + timedelta(seconds=RETRY_AFTER_S)).astimezone(UTC).isoformat()
        except (TypeError, ValueError, KeyError):
            next_retry = None
    return {"url": failure["url"], "code": failure.get("code"), "message": failure.get("message"),
            "attempts": failure.get("attempts"), "failed_at": failure.get("failed_at"),
            "permanent": permanent, "next_retry": next_retry}


def product_doc(settings: Settings, ledger: Ledger, *, product_id: int | None, sku: str | None) -> dict[str, Any]:
    with make_client(settings) as client:
        parent_id = None
        if sku is not None:
            found = client.find_by_skus([sku], fields=["id", "sku", "type", "parent_id"])
            if not found:
                raise UsageError(f"no product or variation with SKU {sku!r} on the store")
            product_id = int(found[0]["id"])
            parent_id = found[0].get("parent_id") if found[0].get("type") == "variation" else None
        if parent_id:
            obj = client.get(f"products/{parent_id}/variations/{product_id}").data
            images = [obj["image"]] if obj.get("image") else []
        else:
            images = client.get(f"products/{product_id}").data.get("images") or []
    ids = [int(i["id"]) for i in images if i.get("id")]
    known = ImageMap(ledger).load()
    source_of = {att: url for url, (att, _src) in known.items()}
    wanted: list[str] = []
    for _feed, rec in _records(ledger, "store_id = ?", (product_id,)):
        wanted += [u for u in rec.image_urls or [] if u not in wanted]
    failures = ImageMap(ledger).failures()
    attached = [u for u in wanted if u in known and known[u][0] in ids]
    failed = [_failure_doc({"url": u, **failures[u]}) for u in wanted if u not in attached and u in failures]
    pending = [u for u in wanted if u not in attached and u not in failures]
    return {
        "success": True,
        "product_id": product_id,
        "featured_image": ids[0] if ids else None,
        "gallery_images": len(ids[1:]),
        "total_images": len(ids),
        "featured_image_url": images[0].get("src") if images else None,
        "images": [{"id": int(i["id"]), "src": i.get("src"), "source_url": source_of.get(int(i["id"]))}
                   for i in images if i.get("id")],
        "wanted_sources": wanted,
        "pending_sources": pending,
        "failed_sources": failed,
    }


def missing_doc(ledger: Ledger, feed: str | None) -> dict[str, Any]:
    known = ImageMap(ledger).load()
    failures = ImageMap(ledger).failures()
    where, args = ("feed = ? AND image_urls IS NOT NULL", (feed,)) if feed else ("image_urls IS NOT NULL", ())
    items = []
    for item_feed, rec in _records(ledger, where, args):
        if not rec.store_id:
            continue
        lacking = lacking_urls(rec, known)
        if lacking:
            items.append({"feed": item_feed, "kind": rec.kind, "sku": rec.sku or rec.key, "store_id": rec.store_id,
                          "lacking": lacking,
                          "failed": [_failure_doc({"url": u, **failures[u]}) for u in lacking if u in failures]})
    return {"success": not items, "count": len(items), "items": items}


def print_product(console: Console, doc: dict[str, Any]) -> None:
    console.print(f"product {doc['product_id']}: {doc['total_images']} images", markup=False)
    for n, img in enumerate(doc["images"]):
        role = "featured" if n == 0 else "gallery"
        console.print(f"  {role:8} #{img['id']} {img['src']}"
                      + (f"\n           from {img['source_url']}" if img["source_url"] else ""), markup=False)
    for url in doc["pending_sources"]:
        console.print(f"  pending  {url}", markup=False)
    for failure in doc["failed_sources"]:
        kind = "permanent" if failure["permanent"] else "transient"
        console.print(f"  failed   {failure['url']} ({kind}, {failure['attempts']} attempt(s), next: "
                      f"{failure['next_retry']}): {failure['message']}", markup=False)


def print_missing(console: Console, doc: dict[str, Any]) -> None:
    if not doc["count"]:
        console.print("every item has the images its feed gives it")
        return
    console.print(f"{doc['count']} item(s) short of an image:", markup=False)
    for item in doc["items"]:
        reasons = {f["url"]: ("permanent" if f["permanent"] else "transient") for f in item["failed"]}
        lacking = ", ".join(f"{u} ({reasons.get(u, 'pending')})" for u in item["lacking"])
        console.print(f"  {item['sku']} (#{item['store_id']}, feed {item['feed']}): {lacking}", markup=False)
