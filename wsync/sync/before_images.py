"""What a job is about to change, noted before it changes it: the before-images `wsync undo` restores.

The engine's phases and the image phase call these hooks just before they send a write; each
writes `job_changes` rows (wsync.ledger.history) with the fields' values as they were, from the
ledger's pushed state or, where the ledger has none (an adopted product), read from the store.
Kept apart from the undo itself (wsync.sync.undo), which sits above the engine, so the phases
can import this without a circle.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wsync.ledger import Ledger
from wsync.ledger.history import Change, JobChanges

READ_CHUNK = 100
# Fields a restore may never send: they name the item, not its state.
_NOT_RESTORED = ("id", "sku", "type")


def _job_id(importer: Any) -> int | None:
    if getattr(importer, "dry_run", False):
        return None
    return getattr(importer.ctx, "job_id", None)


def note_before(importer: Any, kind: str, plans: Iterable[Any], parent_id: int | None = None) -> None:
    """Before a products or variations batch goes out: the before-image of each field an update
    changes, from the ledger's pushed state, or read from the store where the ledger has none."""
    job_id = _job_id(importer)
    if job_id is None:
        return
    changes: list[Change] = []
    unknown: dict[int, tuple[dict[str, Any], list[str]]] = {}
    for plan in plans:
        if plan.action != "update" or not plan.store_id:
            continue
        sent = {k: v for k, v in plan.send.items() if k not in _NOT_RESTORED}
        if not sent:
            continue
        record = importer.records.get((kind, plan.key))
        pushed = record.pushed if record is not None and not plan.adopted else {}
        if plan.adopted and getattr(plan, "store_state", None) is not None:
            # Read whole to adopt it: the before-image is at hand (wsync.sync.phases.variations).
            pushed = {k: restorable(k, plan.store_state.get(k)) for k in sent}
        before = {k: pushed[k] for k in sent if k in pushed}
        change = Change(job_id, kind, int(plan.store_id), "updated", parent_id=parent_id, feed=importer.feed,
                        key=plan.key, sku=plan.sku, before=before, after=sent)
        missing = [k for k in sent if k not in pushed]
        if missing:
            unknown[int(plan.store_id)] = (before, missing)
        changes.append(change)
    if unknown:
        current = read_current(importer.client, kind, list(unknown), parent_id,
                               sorted({f for _, fields in unknown.values() for f in fields}))
        for store_id, (before, fields) in unknown.items():  # each the dict its change holds
            obj = current.get(store_id) or {}
            for name in fields:
                before[name] = restorable(name, obj.get(name))
    JobChanges(importer.ledger).record(changes)


def note_missing(importer: Any, plans: Iterable[Any]) -> None:
    """Before --missing marks products that left the feed: their status and stock as they were."""
    job_id = _job_id(importer)
    if job_id is None:
        return
    action = importer.opts.missing
    fields = ["stock_status", "manage_stock"] if action == "outofstock" else ["status"]
    plans = [p for p in plans if p.store_id]
    current = read_current(importer.client, "product", [int(p.store_id) for p in plans], None, fields)
    changes = []
    for plan in plans:
        obj = current.get(int(plan.store_id)) or {}
        after = ({"stock_status": "outofstock", "manage_stock": False} if action == "outofstock"
                 else {"status": "trash" if action == "trash" else "draft"})
        changes.append(Change(job_id, "product", int(plan.store_id), "updated", feed=importer.feed, key=plan.key,
                              sku=plan.sku, before={f: obj.get(f) for f in fields}, after=after))
    JobChanges(importer.ledger).record(changes)


def watch_terms(importer: Any, taxonomy: Any) -> None:
    """Categories, global attributes and shipping classes the job creates are noted as it makes them."""
    job_id = _job_id(importer)
    if job_id is None:
        return
    changes = JobChanges(importer.ledger)

    def created(kind: str, store_id: int, name: str) -> None:
        changes.record_created(job_id, kind, int(store_id), key=name)

    taxonomy.on_create = created


def note_images_before(ledger: Ledger, job_id: int | None, tasks: Iterable[Any], feed: str | None) -> None:
    """Before the image phase changes an item's images: the attachment ids it showed."""
    if job_id is None:
        return
    changes = []
    for task in tasks:
        if task.record.images is None:
            continue
        changes.append(Change(int(job_id), task.kind, int(task.store_id), "updated", parent_id=task.parent_id,
                              feed=feed, key=task.key, sku=task.sku,
                              before={"images": list(task.record.images)}, after=None))
    JobChanges(ledger).record(changes)


def note_attachments(ledger: Ledger, job_id: int | None, learned: Iterable[tuple[str, int, Any]]) -> None:
    """Attachments the store downloaded for this job: an undo deletes them once nothing uses them."""
    if job_id is None:
        return
    JobChanges(ledger).record([Change(int(job_id), "attachment", int(att), "created", key=url)
                               for url, att, _src in learned])


def read_current(client: Any, kind: str, ids: list[int], parent_id: int | None,
                 fields: list[str]) -> dict[int, dict[str, Any]]:
    """The store's values of `fields` for these products (or one parent's variations), by id."""
    out: dict[int, dict[str, Any]] = {}
    if not ids:
        return out
    base = "products" if kind == "product" else f"products/{parent_id}/variations"
    wanted = ",".join(["id"] + [f for f in fields if f != "id"])
    for start in range(0, len(ids), READ_CHUNK):
        chunk = ids[start:start + READ_CHUNK]
        response = client.get(base, params={"include": ",".join(map(str, chunk)), "per_page": READ_CHUNK,
                                            "_fields": wanted, "context": "edit", "status": "any"}
                              if kind == "product" else
                              {"include": ",".join(map(str, chunk)), "per_page": READ_CHUNK, "_fields": wanted,
                               "context": "edit"})
        for obj in response.data or []:
            out[int(obj["id"])] = obj
    return out


def restorable(name: str, value: Any) -> Any:
    """A store value in the shape a write takes back."""
    if name in ("categories",) and isinstance(value, list):
        return [{"id": int(v["id"])} for v in value if isinstance(v, dict) and v.get("id")]
    if name == "tags" and isinstance(value, list):
        return [{"name": v.get("name")} for v in value if isinstance(v, dict)]
    if name == "images" and isinstance(value, list):
        return [int(v["id"]) for v in value if isinstance(v, dict) and v.get("id")]
    if name == "image":
        return [int(value["id"])] if isinstance(value, dict) and value.get("id") else []
    if name == "meta_data" and isinstance(value, list):
        return [{"key": m.get("key"), "value": m.get("value")} for m in value if isinstance(m, dict)]
    return value
