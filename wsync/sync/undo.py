"""`wsync undo JOB`: put back what one job changed, and delete what it created.

Two halves:
- while a job runs, the hooks here (`note_before`, `note_missing`, `watch_terms`, and the image
  phase's own) write the before-image of every field it is about to change into the ledger
  (wsync.ledger.history), committed before the request is sent; what it creates is noted with
  the item (ItemMap.save) and with the image or term it made;
- `plan_undo` reads the store's current values of those fields and sorts each item: restore
  (the store still shows what the job wrote), already (it shows the value from before),
  conflict (it shows something else: a later job or a person changed it; left alone unless
  --force), delete (the job created it). `run_undo` applies that plan as a job of kind `undo`.

The undo job writes its own before-images (the values it overwrites), so undoing an undo puts
the job's values back. Every write an undo makes is idempotent (a field set to a value, a delete
by id), and each batch's outcome is marked in the ledger once answered: an undo resumed after
its worker died (`wsync recover`) re-plans from what is left and never restores a field twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wsync.errors import UsageError
from wsync.ledger import Ledger
from wsync.ledger.history import ITEM_KINDS, Change, JobChanges, mark_job_undone
from wsync.ledger.items import ImageMap, ItemMap, TermCache
from wsync.store.errors import StoreError
from wsync.store.limiter import FixedLimit, make_limit
from wsync.sync.before_images import read_current, restorable
from wsync.sync.options import parse_concurrency
from wsync.sync.push import BatchPusher, Op

log = logging.getLogger("wsync.sync.undo")

MASS_CHANGE_SHARE = 0.2


def _scalar(value: Any) -> Any:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value.strip()
    return value


def canon(name: str, value: Any, keys: set[str] | None = None) -> Any:
    """A value in a form the store's answer and the job's payload can be compared in."""
    if name in ("images", "image"):
        return [int(v["id"]) if isinstance(v, dict) else int(v) for v in (value or [])
                if (isinstance(v, dict) and v.get("id")) or isinstance(v, int)] if isinstance(value, list) else \
            ([int(value["id"])] if isinstance(value, dict) and value.get("id") else [])
    if name == "categories":
        return sorted(int(v["id"]) for v in value or [] if isinstance(v, dict) and v.get("id"))
    if name == "tags":
        return sorted(str(v.get("name", "")).casefold() for v in value or [] if isinstance(v, dict))
    if name == "meta_data":
        pairs = {str(m.get("key")): m.get("value") for m in value or [] if isinstance(m, dict)}
        return {k: _scalar(v) for k, v in pairs.items() if keys is None or k in keys}
    if name in ("attributes", "default_attributes"):
        out = []
        for a in value or []:
            if not isinstance(a, dict):
                continue
            ident = f"#{a['id']}" if a.get("id") else str(a.get("name", "")).casefold()
            options = a.get("options") if "options" in a else [a.get("option")]
            out.append((ident, sorted(str(o).casefold() for o in options or [])))
        return sorted(out)
    if isinstance(value, dict):
        return {k: _scalar(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canon(name, v) for v in value]
    return _scalar(value)


def same(name: str, a: Any, b: Any, *, meta_keys: set[str] | None = None) -> bool:
    return bool(canon(name, a, meta_keys) == canon(name, b, meta_keys))


def _meta_keys(*values: Any) -> set[str]:
    keys: set[str] = set()
    for value in values:
        for m in value or []:
            if isinstance(m, dict) and m.get("key"):
                keys.add(str(m["key"]))
    return keys


# ======================================================================= planning
@dataclass
class ItemUndo:
    change: Change
    action: str  # restore | already | conflict | delete | trash | gone
    restore: dict[str, Any] = field(default_factory=dict)  # field -> value to send back
    overwrites: dict[str, Any] = field(default_factory=dict)  # field -> the store's value a restore replaces
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        c = self.change
        out: dict[str, Any] = {"kind": c.kind, "id": c.store_id, "sku": c.sku, "key": c.key, "action": self.action}
        if c.parent_id:
            out["parent_id"] = c.parent_id
        if self.restore:
            out["fields"] = sorted(self.restore)
        if self.conflicts:
            out["conflicts"] = self.conflicts
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class UndoPlan:
    target: dict[str, Any]
    items: list[ItemUndo] = field(default_factory=list)
    terms: list[Change] = field(default_factory=list)
    attachments: list[Change] = field(default_factory=list)
    store_items: int = 0
    reopens: int | None = None  # undoing an undo: the job whose changes stand again

    def counts(self) -> dict[str, int]:
        out = {"restore": 0, "delete": 0, "trash": 0, "conflict": 0, "already": 0, "gone": 0}
        for item in self.items:
            out[item.action] = out.get(item.action, 0) + 1
        out["terms"] = len(self.terms)
        out["attachments"] = len(self.attachments)
        return out

    @property
    def touched(self) -> int:
        return sum(1 for i in self.items if i.action in ("restore", "delete", "trash"))

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts()
        return {"success": True, "target": self.target["id"], "target_kind": self.target.get("kind"),
                "counts": counts, "store_items": self.store_items,
                "mass_change": self.store_items > 0 and self.touched > MASS_CHANGE_SHARE * self.store_items,
                "items": [i.to_dict() for i in self.items],
                "terms": [{"kind": t.kind, "id": t.store_id, "name": t.key} for t in self.terms],
                "attachments": [{"id": a.store_id, "url": a.key} for a in self.attachments]}


def _target(ledger: Ledger, job_id: int) -> dict[str, Any]:
    from wsync.ledger.jobs import JobStore

    job = JobStore(ledger).get(job_id)
    if job is None:
        raise UsageError(f"no job {job_id} in the ledger")
    if job["status"] in ("scheduled", "running", "processing_stuck"):
        raise UsageError(f"job {job_id} is {job['status']}: wait for it to end (or cancel it) before undoing it")
    return job


def plan_undo(ledger: Ledger, client: Any, target_id: int, *, force: bool = False, trash: bool = False) -> UndoPlan:
    """What an undo of `target_id` would do, per item; reads only."""
    target = _target(ledger, target_id)
    history = JobChanges(ledger)
    changes = [c for c in history.for_job(target_id) if c.undone_by is None]
    plan = UndoPlan(target=target)
    if target.get("kind") == "undo":
        plan.reopens = int((target.get("job_data") or {}).get("target") or 0) or None
    created_products = {c.store_id for c in changes if c.kind == "product" and c.action == "created"}
    updates = [c for c in changes if c.action == "updated" and c.kind in ITEM_KINDS]
    # Only the newest before-image counts where one job wrote an item twice (products phase, then
    # images): both are kept under one key, so there is one row per item and kind.
    groups: dict[tuple[str, int | None], list[Change]] = {}
    for c in updates:
        if c.kind == "product" and c.store_id in created_products:
            continue
        groups.setdefault((c.kind, c.parent_id if c.kind == "variation" else None), []).append(c)
    for (kind, parent_id), group in groups.items():
        fields = sorted({f for c in group for f in (c.before or {})})
        fields = ["images" if f == "images" and kind == "product" else ("image" if f == "images" else f)
                  for f in fields]
        current = read_current(client, kind, [c.store_id for c in group], parent_id, fields)
        for c in group:
            obj = current.get(c.store_id)
            plan.items.append(_sort_update(c, obj, force))
    for c in changes:
        if c.action != "created":
            continue
        if c.kind == "product":
            plan.items.append(ItemUndo(c, "trash" if trash else "delete"))
        elif c.kind == "variation":
            if c.parent_id in created_products:
                plan.items.append(ItemUndo(c, "delete", reason="with its parent"))
            else:
                plan.items.append(ItemUndo(c, "delete"))
        elif c.kind == "attachment":
            plan.attachments.append(c)
        else:
            plan.terms.append(c)
    plan.store_items = _store_items(ledger, client)
    return plan


def _sort_update(c: Change, obj: dict[str, Any] | None, force: bool) -> ItemUndo:
    if obj is None:
        return ItemUndo(c, "gone", reason="no longer on the store")
    before, after = c.before or {}, c.after
    item = ItemUndo(c, "already")
    for name, old in before.items():
        store_name = "image" if (name == "images" and c.kind == "variation") else name
        now = obj.get(store_name)
        keys = _meta_keys(old, (after or {}).get(name)) if name == "meta_data" else None
        if same(name, now, old, meta_keys=keys):
            continue
        wrote = (after or {}).get(name, _UNKNOWN)
        if wrote is _UNKNOWN and name == "images":
            # The image phase's writes are not kept value by value: its change is the one it made.
            wrote = now
        if (wrote is not _UNKNOWN and same(name, now, wrote, meta_keys=keys)) or force:
            item.restore[name] = _send_back(name, old, now, keys)
            item.overwrites[name] = restorable(store_name, now)
            if wrote is _UNKNOWN or not same(name, now, wrote, meta_keys=keys):
                item.conflicts[name] = {"before": old, "job": None if wrote is _UNKNOWN else wrote,
                                        "now": restorable(store_name, now), "forced": True}
        else:
            item.conflicts[name] = {"before": old, "job": None if wrote is _UNKNOWN else wrote,
                                    "now": restorable(store_name, now)}
    if item.conflicts and not force:
        item.action = "conflict"
        item.reason = "changed on the store since the job: " + ", ".join(sorted(item.conflicts))
    elif item.restore:
        item.action = "restore"
    return item


_UNKNOWN = object()


def _send_back(name: str, old: Any, now: Any, keys: set[str] | None) -> Any:
    if name == "meta_data":
        # Meta the job added and the old state lacks goes away (value None removes it).
        old_keys = {str(m.get("key")) for m in old or [] if isinstance(m, dict)}
        extra = [{"key": k, "value": None} for k in sorted((keys or set()) - old_keys)]
        return [{"key": m.get("key"), "value": m.get("value")} for m in old or [] if isinstance(m, dict)] + extra
    return old


def _store_items(ledger: Ledger, client: Any) -> int:
    """The store's products plus the variations the ledger knows: what the mass-change guard
    measures against (wc/v3 has no count of all variations)."""
    try:
        head = client.get("products", params={"per_page": 1, "_fields": "id"})
        products = int(head.headers.get("X-WP-Total") or 0)
    except StoreError:
        products = 0
    variations = int(ledger.conn.execute(
        "SELECT COUNT(*) FROM items WHERE kind='variation' AND store_id IS NOT NULL").fetchone()[0])
    return products + variations


# ======================================================================= applying
@dataclass
class UndoCounts:
    restored: int = 0
    deleted: int = 0
    trashed: int = 0
    conflicts: int = 0
    already: int = 0
    gone: int = 0
    failed: int = 0
    terms_deleted: int = 0
    terms_kept: int = 0
    attachments_deleted: int = 0
    attachments_kept: int = 0
    attachments_failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class Undoer:
    def __init__(self, *, ledger: Ledger, client: Any, settings: Any, undo_job: int | None, jobs: Any,
                 should_stop: Callable[[], bool], concurrency: int | FixedLimit = 2, batch_size: int = 50,
                 trash: bool = False):
        self.ledger, self.client, self.settings = ledger, client, settings
        self.undo_job, self.jobs, self.should_stop = undo_job, jobs, should_stop
        self.concurrency = concurrency if isinstance(concurrency, FixedLimit) else FixedLimit(concurrency)
        self.batch_size, self.trash = batch_size, trash
        self.history = JobChanges(ledger)
        self.counts = UndoCounts()
        self.total = 0

    def error(self, sku: str | None, message: str, code: str | None = None, stage: str = "undo") -> None:
        if self.jobs is not None and self.undo_job is not None:
            self.jobs.add_error(self.undo_job, sku=sku, stage=stage, code=code, message=message)

    def progress(self) -> None:
        if self.jobs is None or self.undo_job is None:
            return
        c = self.counts
        done = c.restored + c.deleted + c.trashed + c.conflicts + c.already + c.gone + c.failed
        self.jobs.update_progress(self.undo_job, progress=min(99.0, 100.0 * done / self.total) if self.total else 99.0,
                                  processed=done, updated=c.restored, created=0, unchanged=c.already + c.gone,
                                  errors=c.failed + c.conflicts)
        self.jobs.save_checkpoint(self.undo_job, {"phase": "undo", "counts": c.as_dict()})

    # -- field restores ----------------------------------------------------------------
    def restore(self, target: int, items: list[ItemUndo]) -> None:
        groups: dict[str, list[ItemUndo]] = {}
        for item in items:
            c = item.change
            endpoint = "products/batch" if c.kind == "product" else f"products/{c.parent_id}/variations/batch"
            groups.setdefault(endpoint, []).append(item)
        for endpoint, group in groups.items():
            ops = []
            for item in group:
                body: dict[str, Any] = {"id": item.change.store_id}
                for name, value in item.restore.items():
                    if name == "images":
                        if item.change.kind == "variation":
                            body["image"] = {"id": value[0]} if value else None
                        else:
                            body["images"] = [{"id": i} for i in value]
                    else:
                        body[name] = value
                ops.append(Op("update", body, ref=item, sku=item.change.sku))
            # The undo's own before-images first: undoing this undo puts these values back.
            self.history.record([Change(self.undo_job, i.change.kind, i.change.store_id, "updated",
                                        parent_id=i.change.parent_id, feed=i.change.feed, key=i.change.key,
                                        sku=i.change.sku, before=i.overwrites, after=i.restore)
                                 for i in group if self.undo_job is not None])
            pusher = BatchPusher(self.client, endpoint, size=self.batch_size, concurrency=self.concurrency,
                                 should_stop=self.should_stop)
            for results in pusher.run(ops):
                done = []
                for result in results:
                    item = result.op.ref
                    if result.ok:
                        self.counts.restored += 1
                        done.append(item)
                    else:
                        self.counts.failed += 1
                        self.error(item.change.sku, _message(result.error), getattr(result.error, "code", None))
                self._forget_pushed(done)
                self.history.undone(target, [(i.change, "restored") for i in done if not i.conflicts
                                             or all(v.get("forced") for v in i.conflicts.values())],
                                    self.undo_job or 0)
                self.progress()

    def _forget_pushed(self, items: list[ItemUndo]) -> None:
        """The ledger's pushed state follows the store: the restored values, and no hash, so the
        next import compares field by field (and sends the feed's values again if it still has them)."""
        by_feed: dict[str, list[ItemUndo]] = {}
        for item in items:
            if item.change.feed and item.change.key:
                by_feed.setdefault(item.change.feed, []).append(item)
        for feed, group in by_feed.items():
            imap = ItemMap(self.ledger, feed)
            records = imap.load()
            changed = []
            for item in group:
                rec = records.get((item.change.kind, item.change.key)) if item.change.key else None
                if rec is None:
                    continue
                pushed = dict(rec.pushed)
                for name, value in item.restore.items():
                    if name == "images":
                        rec.images = list(value)
                        rec.images_hash = None
                    else:
                        pushed[name] = value
                rec.pushed, rec.hash = pushed, None
                changed.append(rec)
            imap.save(changed)

    # -- deletes -----------------------------------------------------------------------
    def delete_items(self, target: int, items: list[ItemUndo]) -> None:
        deleted_parents = {i.change.store_id for i in items if i.change.kind == "product"}
        variations = [i for i in items if i.change.kind == "variation" and i.change.parent_id not in deleted_parents]
        with_parent = [i for i in items if i.change.kind == "variation" and i.change.parent_id in deleted_parents]
        products = [i for i in items if i.change.kind == "product"]
        by_parent: dict[int | None, list[ItemUndo]] = {}
        for item in variations:
            by_parent.setdefault(item.change.parent_id, []).append(item)
        for parent_id, group in by_parent.items():
            if self.should_stop():
                return
            self._batch_delete(target, f"products/{parent_id}/variations/batch", group)
        if self.trash:
            self._trash(target, products)
        else:
            self._batch_delete(target, "products/batch", products)
        if self.should_stop():
            return
        # Variations went with their parent (a forced delete takes its children; a trashed
        # parent's variations cannot be bought): they are done once it is.
        parents_done = {c.store_id for c in self.history.for_job(target)
                        if c.kind == "product" and c.undone_by is not None}
        done = [i for i in with_parent if i.change.parent_id in parents_done]
        self.counts.deleted += len(done)
        self._forget_items(done)
        self.history.undone(target, [(i.change, "deleted") for i in done], self.undo_job or 0)
        self.progress()

    def _batch_delete(self, target: int, endpoint: str, items: list[ItemUndo]) -> None:
        if not items:
            return
        ops = [Op("delete", {"id": i.change.store_id}, ref=i, sku=i.change.sku) for i in items]
        pusher = BatchPusher(self.client, endpoint, size=self.batch_size, concurrency=self.concurrency,
                             should_stop=self.should_stop)
        for results in pusher.run(ops):
            done = []
            for result in results:
                item = result.op.ref
                code = getattr(result.error, "code", None)
                status = getattr(result.error, "status", None)
                if result.ok or status == 404 or code in ("woocommerce_rest_product_invalid_id",
                                                           "woocommerce_rest_invalid_id"):
                    self.counts.deleted += 1
                    done.append(item)
                else:
                    self.counts.failed += 1
                    self.error(item.change.sku, _message(result.error), code)
            self._forget_items(done)
            self.history.undone(target, [(i.change, "deleted") for i in done], self.undo_job or 0)
            self.progress()

    def _trash(self, target: int, items: list[ItemUndo]) -> None:
        done = []
        for item in items:
            if self.should_stop():
                break
            try:
                self.client.delete(f"products/{item.change.store_id}")
            except StoreError as exc:
                if exc.code not in ("woocommerce_rest_already_trashed", "woocommerce_rest_product_invalid_id"):
                    self.counts.failed += 1
                    self.error(item.change.sku, _message(exc), exc.code)
                    continue
            self.counts.trashed += 1
            done.append(item)
            if len(done) >= self.batch_size:
                self._forget_items(done)
                self.history.undone(target, [(i.change, "trashed") for i in done], self.undo_job or 0)
                self.progress()
                done = []
        self._forget_items(done)
        self.history.undone(target, [(i.change, "trashed") for i in done], self.undo_job or 0)
        self.progress()

    def _forget_items(self, items: list[ItemUndo]) -> None:
        by_feed: dict[str, dict[str, list[str]]] = {}
        for item in items:
            c = item.change
            if c.feed and c.key:
                by_feed.setdefault(c.feed, {}).setdefault(c.kind, []).append(c.key)
        for feed, kinds in by_feed.items():
            imap = ItemMap(self.ledger, feed)
            for kind, keys in kinds.items():
                imap.delete(kind, keys)

    # -- terms and attachments ---------------------------------------------------------
    def delete_terms(self, target: int, terms: list[Change]) -> None:
        cache = TermCache(self.ledger)
        outcomes = []
        # Deepest categories first: a parent is only empty once its children are gone.
        for term in sorted(terms, key=lambda t: -t.store_id):
            if self.should_stop():
                break
            try:
                if self._term_in_use(term):
                    self.counts.terms_kept += 1
                    outcomes.append((term, "kept"))
                    continue
                endpoint = {"category": "products/categories", "attribute": "products/attributes",
                            "shipping_class": "products/shipping_classes"}[term.kind]
                self.client.delete(f"{endpoint}/{term.store_id}", params={"force": "true"})
            except StoreError as exc:
                if exc.status != 404 and exc.code not in ("woocommerce_rest_term_invalid", "rest_term_invalid"):
                    self.error(term.key, f"{term.kind} #{term.store_id}: {_message(exc)}", exc.code, stage="taxonomy")
                    continue
            self.counts.terms_deleted += 1
            outcomes.append((term, "deleted"))
            self.ledger.conn.execute("DELETE FROM terms WHERE kind=? AND store_id=?",
                                     ("category" if term.kind == "category" else "attribute", term.store_id))
        del cache
        self.history.undone(target, outcomes, self.undo_job or 0)

    def _term_in_use(self, term: Change) -> bool:
        if term.kind == "category":
            head = self.client.get("products", params={"category": term.store_id, "per_page": 1, "_fields": "id",
                                                       "status": "any"})
            return int(head.headers.get("X-WP-Total") or len(head.data or [])) > 0
        if term.kind == "attribute":
            terms = self.client.get(f"products/attributes/{term.store_id}/terms",
                                    params={"per_page": 100, "_fields": "id,count", "hide_empty": "false"})
            return any(int(t.get("count") or 0) for t in terms.data or [])
        obj = self.client.get(f"products/shipping_classes/{term.store_id}").data or {}
        return int(obj.get("count") or 0) > 0

    def delete_attachments(self, target: int, attachments: list[Change]) -> None:
        from wsync.sync.media import MediaClient

        media = MediaClient.for_settings(self.settings, self.client)
        images = ImageMap(self.ledger)
        outcomes = []
        for att in attachments:
            if self.should_stop():
                break
            if self.history.attachment_in_use(att.store_id):
                self.counts.attachments_kept += 1
                outcomes.append((att, "kept"))
                continue
            if media is None:
                self.counts.attachments_failed += 1
                continue
            try:
                media.delete(att.store_id)
            except StoreError as exc:
                self.counts.attachments_failed += 1
                self.error(att.key, f"attachment #{att.store_id}: {_message(exc)}", exc.code, stage="image")
                continue
            self.counts.attachments_deleted += 1
            outcomes.append((att, "deleted"))
            if att.key:
                images.forget([att.key])
            if len(outcomes) >= 50:
                self.history.undone(target, outcomes, self.undo_job or 0)
                outcomes = []
                self.progress()
        self.history.undone(target, outcomes, self.undo_job or 0)
        if media is None and attachments:
            left = self.counts.attachments_failed
            if left and self.jobs is not None and self.undo_job is not None:
                self.jobs.add_message(self.undo_job, f"{left} attachment(s) left on the store: wc/v3 cannot delete "
                                      "media; set WSYNC_WP_USER and WSYNC_WP_APP_PASSWORD (an application password) "
                                      "and run the undo again")


def _message(error: Any) -> str:
    if error is None:
        return "the store did not answer for it"
    return getattr(error, "message", None) or str(error)


# ======================================================================= the job
def run_undo(job_id: int, *, ledger: Ledger, settings: Any, jobs: Any,
             should_stop: Callable[[], bool] = lambda: False, progress: Any = None,
             client: Any = None) -> dict[str, Any]:
    """Run undo job `job_id` (its job_data names the target job and the options)."""
    from wsync.sync.run import make_client, unwatch, watch

    job = jobs.get(job_id)
    data = job.get("job_data") or {}
    target_id = int(data.get("target") or 0)
    options = data.get("options") or {}
    started = time.monotonic()
    concurrency = parse_concurrency(options.get("concurrency") or "auto")
    # "auto" (the default) or the number an undo was asked for (an older job holds a number).
    limit = make_limit(concurrency)
    own_client = client is None
    client = client or make_client(settings, pool_size=limit.ceiling)
    observers = watch(client, limit)
    try:
        plan = plan_undo(ledger, client, target_id, force=bool(options.get("force")), trash=bool(options.get("trash")))
        if plan.touched and plan.store_items and plan.touched > MASS_CHANGE_SHARE * plan.store_items \
                and not options.get("allow_mass_change"):
            raise UsageError(f"undoing job {target_id} would touch {plan.touched} of the store's {plan.store_items} "
                             f"items, more than 20 %", hint="check `wsync undo --dry-run`; if it is right, add "
                                                          "--allow-mass-change")
        undoer = Undoer(ledger=ledger, client=client, settings=settings, undo_job=job_id, jobs=jobs,
                        should_stop=should_stop, concurrency=limit, trash=bool(options.get("trash")))
        undoer.total = len(plan.items)
        for item in plan.items:
            if item.action == "conflict":
                undoer.counts.conflicts += 1
                undoer.error(item.change.sku or item.change.key,
                             f"{item.change.kind} #{item.change.store_id}: {item.reason}; left alone "
                             f"(--force restores it)", "wsync_undo_conflict")
            elif item.action == "already":
                undoer.counts.already += 1
            elif item.action == "gone":
                undoer.counts.gone += 1
        quiet = [i for i in plan.items if i.action in ("already", "gone")]
        # The store shows the old values already (put back by an earlier attempt of this undo whose
        # answer was lost, or by hand): the ledger's pushed state follows it.
        undoer._forget_pushed([ItemUndo(i.change, "already", restore=dict(i.change.before or {}))
                               for i in quiet if i.action == "already"])
        undoer.history.undone(target_id, [(i.change, i.action) for i in quiet], job_id)
        # Conflicting items get their other fields back; the conflicting fields are left alone.
        partial = []
        for item in plan.items:
            if item.action == "conflict":
                fine = {k: v for k, v in item.restore.items() if k not in item.conflicts}
                if fine:
                    partial.append(ItemUndo(item.change, "restore", restore=fine,
                                            overwrites={k: item.overwrites[k] for k in fine},
                                            conflicts=item.conflicts))
        undoer.progress()
        undoer.restore(target_id, [i for i in plan.items if i.action == "restore"])
        if partial and not should_stop():
            before = undoer.counts.restored
            undoer.restore(target_id, partial)
            undoer.counts.restored = before  # counted as conflicts, not as restored items
        if not should_stop():
            undoer.delete_items(target_id, [i for i in plan.items if i.action in ("delete", "trash")])
        if not should_stop() and not undoer.trash:
            undoer.delete_terms(target_id, plan.terms)
        if not should_stop() and not undoer.trash:
            undoer.delete_attachments(target_id, plan.attachments)
        stopped = should_stop()
        if not stopped:
            mark_job_undone(ledger, target_id, job_id)
            if plan.reopens:
                _reopen(ledger, plan.reopens, target_id)
        c = undoer.counts
        doc = {
            "success": c.failed == 0 and c.conflicts == 0 and c.attachments_failed == 0,
            "message": (f"Undo of job {target_id}: restored {c.restored}, deleted {c.deleted + c.trashed}, "
                        f"conflicts {c.conflicts} (left alone), failed {c.failed}; terms deleted {c.terms_deleted}, "
                        f"attachments deleted {c.attachments_deleted}"
                        + (f", {c.attachments_failed} left" if c.attachments_failed else "")),
            "job_id": job_id, "target": target_id, "counts": c.as_dict(),
            "conflicts": [i.to_dict() for i in plan.items if i.action == "conflict"][:100],
            "duration_s": round(time.monotonic() - started, 3),
            "requests": client.counters.as_dict() if hasattr(client, "counters") else {},
            "concurrency": limit.snapshot(),
        }
        if stopped:
            doc["cancelled"] = True
        if jobs is not None:
            jobs.update_progress(job_id, processed=c.restored + c.deleted + c.trashed + c.conflicts + c.already + c.gone
                                 + c.failed, updated=c.restored, errors=c.failed + c.conflicts)
        return doc
    finally:
        unwatch(observers, limit)
        if own_client and hasattr(client, "close"):
            client.close()


def _reopen(ledger: Ledger, original: int, undo_of_original: int) -> None:
    """Undoing an undo: the original job's restored changes stand again (a later undo of it finds
    them), and it is no longer shown as undone."""
    with ledger.transaction() as conn:
        conn.execute("UPDATE job_changes SET undone_by=NULL, outcome=NULL WHERE job_id=? AND undone_by=?"
                     " AND outcome='restored'", (int(original), int(undo_of_original)))
        conn.execute("UPDATE background_jobs SET undone_by=NULL WHERE id=?", (int(original),))


def schedule_undo(ledger: Ledger, target_id: int, options: dict[str, Any]) -> int:
    from wsync.ledger.jobs import JobStore

    target = _target(ledger, target_id)
    return JobStore(ledger).create(kind="undo", feed=target.get("feed"),
                                   job_data={"target": int(target_id), "options": options},
                                   estimated_total=JobChanges(ledger).count(target_id))
