"""Variations of several parents in one request: fewer requests for the same items.

WooCommerce's variations batch is routed per parent (`products/{id}/variations/batch`), but its
`batch_items` merges the URL's product_id under each create and update item, so an item that
names its own `product_id` is filed under that parent (WooCommerce 8.2.2, recordings/34; the
parents touched are synced at the end of the request, each once). Each request to the store
costs a fixed start-up (~58 ms of PHP on the measured store) and one round trip, so 300 parents
of five variations cost 60 requests of 25 instead of 300; a price change in 147 parents, 6
instead of 147.

That is WooCommerce's behaviour, not its documented contract, so it is checked on the store
before it is relied on: the first request holding two parents or more is sent alone, then the
parents are read back (`variations` of each, one request) and every saved item must be listed
under the parent it named; every later answer's `_links.up` must name it too. A store that files
items elsewhere (the URL's product) has those items deleted from where they landed and sent
again under their own parent's URL, and the rest of the job sends each parent on its own. Deletes
are plain ids, routed by the URL: they always go to their own parent's endpoint.

A check that held is remembered in the ledger for that store for `TRUSTED_FOR_S` (a week): the
next jobs (a daily price change) skip the lone first request and its read-back, which kept the
store's other core idle for a request's time, and rely on every answer's `_links.up`; a store
seen misfiling is forgotten at once and checked again by the next job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from wsync.catalogue import Product
from wsync.ledger.history import get_meta, set_meta
from wsync.store.errors import StoreAuthError, StoreConnectionError, StoreError
from wsync.sync.phases.variation_requests import ParentWork, describer, reconcile, send_alone
from wsync.sync.plan import ItemPlan
from wsync.sync.push import BatchPusher, Op, OpResult
from wsync.sync.run import ImportRun

# Records one parent's answers: the variation phase's record_variations(run, product, parent_id,
# plans, results).
Record = Callable[[ImportRun, Product, int, list[ItemPlan], list[OpResult]], None]

log = logging.getLogger("wsync.sync.phases.across_parents")

TRUSTED_FOR_S = 7 * 24 * 3600
# What WooCommerce answers an update of a variation sent under another parent's URL.
WRONG_PARENT = "woocommerce_rest_cannot_edit"
_META = "variations_across_parents"


def _store_of(run: ImportRun) -> str:
    settings = getattr(run.client, "settings", None)
    return str(getattr(settings, "root_url", "") or "")


def remembered(run: ImportRun) -> bool:
    """Whether this store's check held within `TRUSTED_FOR_S` (the ledger's note of it)."""
    note = get_meta(run.ledger, _META)
    if not isinstance(note, dict) or note.get("store") != _store_of(run) or not _store_of(run):
        return False
    try:
        return 0 <= time.time() - float(note["checked_at"]) < TRUSTED_FOR_S
    except (KeyError, TypeError, ValueError):
        return False


def _remember(run: ImportRun, held: bool) -> None:
    set_meta(run.ledger, _META, {"store": _store_of(run), "checked_at": time.time()} if held else None)


def push(run: ImportRun, work: list[ParentWork], *, record: Record) -> None:
    """Send and record `work`: creates and updates packed across parents, deletes per parent."""
    # By the item planned: a fallback's requests are new Op objects for the same items.
    owner = {id(op.ref): w for w in work for op in w.ops}
    waiting = {id(w): sum(1 for op in w.ops if op.action != "delete") for w in work}
    for w in work:
        if not waiting[id(w)]:
            _finish(run, w, record)
    packed = [op for w in work for op in w.ops if op.action != "delete"]
    if packed:
        try:
            _send_packed(run, packed, owner, waiting, work, record)
        finally:
            # A job stopped (or failed) mid-way keeps what its answered requests saved.
            for w in work:
                if waiting[id(w)] and w.results:
                    record(run, w.product, w.parent_id, w.plans, w.results)
                    w.results = []
    # Deletes: per parent, and only once the parent's other requests are answered.
    for w in work:
        deletes = [op for op in w.ops if op.action == "delete"]
        if not deletes or waiting[id(w)]:
            continue  # nothing to delete, or cut short and recorded above
        if not run.ctx.should_stop():
            w.results.extend(send_alone(run, w, deletes))
        _finish(run, w, record, force=True)


def _send_packed(run: ImportRun, packed: list[Op], owner: dict[int, ParentWork], waiting: dict[int, int],
                 work: list[ParentWork], record: Record) -> None:
    pusher = BatchPusher(run.client, "products/{id}/variations/batch", size=run.opts.variations_per_batch,
                         concurrency=run.limit, reconcile=lambda creates: reconcile(run, None, creates),
                         should_stop=run.ctx.should_stop, max_request_s=run.max_request_s,
                         journal=run.journal("variation", describer(work)), on_wait=run.waiting,
                         endpoint_for=lambda chunk: endpoint(_parent_of(chunk[0])))

    def take(results: list[OpResult]) -> None:
        for result in results:
            w = owner[id(result.op.ref)]
            w.results.append(result)
            waiting[id(w)] -= 1
            if not waiting[id(w)]:
                _finish(run, w, record)

    rest = packed
    noted = run.across_parents is None and remembered(run)
    if noted:
        run.across_parents = True
    if run.across_parents is None:
        # The first request holding two parents or more goes alone and is read back; requests
        # of one parent need no such check and go with the rest.
        size = run.opts.variations_per_batch
        chunks = [packed[i:i + size] for i in range(0, len(packed), size)]
        first = next((c for c in chunks if len({_parent_of(op) for op in c}) > 1), None)
        if first is not None:
            take(_checked(run, owner, [r for part in pusher.run(first) for r in part], read_back=True))
            rest = [op for c in chunks if c is not first for op in c]
    if run.across_parents is not False:
        for results in pusher.run(rest):
            # Trusted from the ledger's note, the answers' up links are the only check left: an
            # answer without one is read back instead.
            take(_checked(run, owner, results, read_back=noted and _lacks_up_link(results)))
        return
    # The store files items elsewhere, or could not be read back: each parent on its own.
    for w in work:
        left = [op for op in rest if owner[id(op.ref)] is w]
        if left and not run.ctx.should_stop():
            take(send_alone(run, w, left))


def endpoint(parent_id: int) -> str:
    return f"products/{parent_id}/variations/batch"


def _parent_of(op: Op) -> int:
    return int(op.body["product_id"])


def _finish(run: ImportRun, w: ParentWork, record: Record, force: bool = False) -> None:
    """Record a parent once all its creates and updates are answered (its deletes come after:
    recorded again then, with them)."""
    has_deletes = any(op.action == "delete" for op in w.ops)
    if has_deletes and not force:
        return
    record(run, w.product, w.parent_id, w.plans, w.results)


def _checked(run: ImportRun, owner: dict[int, ParentWork], results: list[OpResult],
             read_back: bool) -> list[OpResult]:
    """`results` once each saved item is known to be under the parent it named; those that are
    not are taken back and sent again under their own parent's URL."""
    saved = [r for r in results if r.ok and r.data and r.data.get("id")]
    misfiled: dict[int, int] = {}  # id(result) -> the parent it landed under
    for r in saved:
        up = _up_link(r.data or {})
        if up is not None and up != _parent_of(r.op):
            misfiled[id(r)] = up
    landed_elsewhere = bool(misfiled)
    # An update the store looked for under the URL's product (not the one it named) is refused as
    # another product's (contract: wrong parent on update): sent again under its own parent's
    # URL, as a misfiled one is. The URL's product is the request's first item's (`endpoint`).
    url_parent = _parent_of(results[0].op) if results else None
    refused = [r for r in results if not r.ok and r.op.action == "update" and _parent_of(r.op) != url_parent
               and getattr(r.error, "code", None) == WRONG_PARENT]
    for r in refused:
        misfiled[id(r)] = 0
    if read_back and saved and not misfiled:
        listed = _listed(run, {_parent_of(r.op) for r in saved})
        if listed is None:
            run.across_parents = False  # cannot tell: the safe way from here
            log.warning("could not read back a variations batch of several parents; sending each parent's "
                        "variations on their own")
            return results
        where = {vid: pid for pid, vids in listed.items() for vid in vids}
        for r in saved:
            landed = where.get(int((r.data or {})["id"]))
            if landed != _parent_of(r.op):
                misfiled[id(r)] = landed or 0
        if not misfiled:
            run.across_parents = True
            _remember(run, True)
            log.info("the store files a variations batch's items under their own parents: several parents per "
                     "request")
    if not misfiled:
        return results
    run.across_parents = False
    log.warning("the store filed %d variation(s) of a batch of several parents under another product, or looked "
                "for them there; taking them back and sending each parent's variations on their own", len(misfiled))
    _take_back(run, [(r, misfiled[id(r)]) for r in results if id(r) in misfiled])
    again: dict[int, tuple[ParentWork, list[Op]]] = {}
    for r in results:
        if id(r) in misfiled:
            w = owner[id(r.op.ref)]
            # A create deleted where it landed is created again; an update sent again under its
            # own parent's URL is filed back there.
            again.setdefault(id(w), (w, []))[1].append(r.op)
    redone: dict[int, OpResult] = {}
    for w, ops in again.values():
        for new in send_alone(run, w, ops):
            redone[id(new.op.ref)] = new
    # The note is dropped for a store seen filing elsewhere, or refusing what its own parent's URL
    # then took (a refusal there too is the item's own, not the packing's).
    if landed_elsewhere or any(redone[id(r.op.ref)].ok for r in refused if id(r.op.ref) in redone):
        _remember(run, False)
    out = []
    for r in results:
        if id(r) not in misfiled:
            out.append(r)
            continue
        replacement = redone.get(id(r.op.ref))
        out.append(replacement or OpResult(r.op, False, error=StoreError(
            "filed under another product by the store and not sent again (the job stopped)",
            code="wsync_misfiled_variation")))
    return out


def _take_back(run: ImportRun, misfiled: list[tuple[OpResult, int]]) -> None:
    """Delete the variations a create filed under another product (an update moved one there is
    moved back by sending it again under its own parent)."""
    by_landed: dict[int, list[int]] = {}
    for r, landed in misfiled:
        if r.op.action == "create" and landed:
            by_landed.setdefault(landed, []).append(int((r.data or {})["id"]))
    for landed, ids in by_landed.items():
        try:
            run.client.batch(endpoint(landed), {"delete": ids})
        except (StoreError, StoreConnectionError) as exc:
            if isinstance(exc, StoreAuthError):
                raise
            run.ctx.error("variation", f"#{','.join(map(str, ids))}",
                          f"filed by the store under product {landed} and could not be deleted there: {exc}",
                          getattr(exc, "code", None))


def _lacks_up_link(results: list[OpResult]) -> bool:
    return any(r.ok and r.data and r.data.get("id") and _up_link(r.data) is None for r in results)


def _up_link(answer: dict[str, Any]) -> int | None:
    """The parent a variation's answer is filed under, from its `_links.up` (None: no such link)."""
    try:
        href = answer["_links"]["up"][0]["href"]
        return int(str(href).rstrip("/").rsplit("/", 1)[1])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def _listed(run: ImportRun, parents: set[int]) -> dict[int, set[int]] | None:
    """Each parent's variation ids as the store lists them (None: the read failed)."""
    ids = sorted(parents)
    try:
        listed: dict[int, set[int]] = {}
        for start in range(0, len(ids), 100):
            part = ids[start:start + 100]
            answer = run.client.get("products", params={"include": ",".join(map(str, part)), "per_page": 100,
                                                        "_fields": "id,variations"}).data or []
            for obj in answer:
                if isinstance(obj, dict) and obj.get("id"):
                    listed[int(obj["id"])] = {int(v) for v in obj.get("variations") or []}
        return listed
    except StoreAuthError:
        raise
    except (StoreError, StoreConnectionError) as exc:
        log.info("reading back parents %s failed: %s", ids[:5], exc)
        return None
