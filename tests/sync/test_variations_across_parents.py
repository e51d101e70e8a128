"""Variations of several parents in one variations/batch request (recordings/34): fewer requests,
every variation under its own parent, and a store that files them elsewhere caught and set right.
Runs against the sandbox or a live store (the fault knob only on the sandbox)."""

from __future__ import annotations

import socket
import subprocess

from tests.sync.conftest import LIVE, SyncRig, batches, sandbox_only
from wsync.feeds import FeedSpec, load_catalogue
from wsync.ledger.history import get_meta, set_meta
from wsync.ledger.items import ItemMap
from wsync.ledger.pending import PendingWrites
from wsync.sandbox import Faults
from wsync.sync.phases import across_parents

PARENTS, PER_PARENT = 8, 5


def filing(rig: SyncRig) -> dict[str, list[str]]:
    """Each of the test's parents (by SKU) and its variations' SKUs, as the store lists them."""
    parents = [p for p in rig.all_products() if p["type"] == "variable"]
    return {p["sku"]: sorted(v["sku"] for v in rig.all_variations(p["id"])) for p in parents}


def wanted(rig: SyncRig) -> dict[str, list[str]]:
    rows = rig.rows(0, PARENTS, PER_PARENT)
    parents = [r["sku"] for r in rows if not r.get("parent")]
    return {p: sorted(v["sku"] for v in rows if v.get("parent") == p) for p in parents}


def ledger_parents(rig: SyncRig) -> dict[str, int | None]:
    return {r.sku: r.parent_id for r in ItemMap(rig.ledger, "test-feed").iter_records("variation")}


def store_ids(rig: SyncRig) -> dict[str, int]:
    return {p["sku"]: p["id"] for p in rig.all_products()}


def test_several_parents_variations_travel_in_one_request_each_filed_under_its_own(rig):
    feed = rig.feed(rig.rows(0, PARENTS, PER_PARENT))
    result, _ = rig.run(feed, process_images=False)
    assert result["success"] and result["variations"]["created"] == PARENTS * PER_PARENT
    # 40 variations of 8 parents: 2 requests of at most 25, not 8 (one per parent).
    variation_writes = batches(PARENTS * PER_PARENT, 25)
    assert result["requests"]["write"] == batches(PARENTS, 50) + variation_writes + result["categories_created"]
    assert filing(rig) == wanted(rig)
    ids = store_ids(rig)
    assert ledger_parents(rig) == {v: ids[p] for p, vs in wanted(rig).items() for v in vs}
    again, _ = rig.run(feed, process_images=False)
    assert again["requests"]["write"] == 0


def test_one_parent_per_request_when_turned_off(rig):
    result, _ = rig.run(rig.feed(rig.rows(0, PARENTS, PER_PARENT)), process_images=False,
                        variations_across_parents=False)
    assert result["requests"]["write"] == batches(PARENTS, 50) + PARENTS + result["categories_created"]
    assert filing(rig) == wanted(rig)


@sandbox_only
def test_a_store_that_files_them_under_the_urls_product_is_caught_and_set_right(rig, caplog):
    rig.sandbox.set_faults(Faults(variations_under_url=True))
    feed = rig.feed(rig.rows(0, PARENTS, PER_PARENT))
    result, _ = rig.run(feed, process_images=False)
    assert result["success"] and result["failed"] == 0 and result["variations"]["failed"] == 0
    assert result["variations"]["created"] == PARENTS * PER_PARENT
    # The misfiled ones were deleted where they landed and created again under their parents.
    assert filing(rig) == wanted(rig)
    ids = store_ids(rig)
    assert ledger_parents(rig) == {v: ids[p] for p, vs in wanted(rig).items() for v in vs}
    assert "under another product" in caplog.text
    # Only the first request was packed (5 parents, its first one's filed right); one request took
    # the other 4 parents' back; then each parent but the first went on its own.
    assert result["requests"]["write"] == (batches(PARENTS, 50) + 1 + 1 + (PARENTS - 1)
                                           + result["categories_created"])
    again, _ = rig.run(feed, process_images=False)
    assert again["requests"]["write"] == 0


def test_a_check_that_held_is_remembered_and_the_next_jobs_send_at_once(rig):
    rig.run(rig.feed(rig.rows(0, PARENTS, PER_PARENT)), process_images=False)
    note = get_meta(rig.ledger, "variations_across_parents")
    assert note and note["store"] == rig.store.root_url, "the check held on this store"
    trusted, _ = rig.run(rig.feed(rig.rows(0, PARENTS, PER_PARENT, price="11.00")), process_images=False)
    assert trusted["variations"]["updated"] == PARENTS * PER_PARENT
    # A week later the note has run out: the next job checks again.
    set_meta(rig.ledger, "variations_across_parents",
             {**note, "checked_at": note["checked_at"] - across_parents.TRUSTED_FOR_S - 1})
    checked, _ = rig.run(rig.feed(rig.rows(0, PARENTS, PER_PARENT, price="12.00")), process_images=False)
    assert checked["variations"]["updated"] == PARENTS * PER_PARENT
    # The check is the parents read back (one more read), nothing else.
    assert checked["requests"]["read"] == trusted["requests"]["read"] + 1
    assert checked["requests"]["write"] == trusted["requests"]["write"]
    assert get_meta(rig.ledger, "variations_across_parents")["checked_at"] > note["checked_at"]
    assert filing(rig) == wanted(rig)


@sandbox_only
def test_a_store_that_starts_misfiling_after_a_check_held_is_caught_and_forgotten(rig, caplog):
    rig.run(rig.feed(rig.rows(0, PARENTS, PER_PARENT)), process_images=False)
    assert get_meta(rig.ledger, "variations_across_parents")
    rig.sandbox.set_faults(Faults(variations_under_url=True))  # an update of the store, say
    result, _ = rig.run(rig.feed(rig.rows(0, PARENTS, PER_PARENT, price="11.00")), process_images=False)
    assert result["success"] and result["variations"]["failed"] == 0
    assert result["variations"]["updated"] == PARENTS * PER_PARENT
    assert "under another product" in caplog.text, "refused under the URL's product, sent again under their own"
    assert filing(rig) == wanted(rig)
    assert get_meta(rig.ledger, "variations_across_parents") is None, "checked again by the next job"


def test_a_dead_workers_request_of_several_parents_is_settled_under_each(rig):
    """The journal row of a packed request names each item's parent: the next run finds each
    variation under its own parent and adopts it, and creates none again."""
    feed = rig.feed(rig.rows(0, PARENTS, PER_PARENT))
    rig.run(feed, process_images=False)
    products = load_catalogue(FeedSpec.adhoc(str(feed), format="csv", name="test-feed")).products
    ids = store_ids(rig)
    items = [{"key": v.key, "sku": v.sku, "parent_key": p.key, "parent_id": ids[p.sku]}
             for p in products for v in p.variations]
    # The worker died after the store saved the request and before the ledger heard of it.
    ItemMap(rig.ledger, "test-feed").delete("variation", [i["key"] for i in items])
    proc = subprocess.Popen(["true"])
    proc.wait()
    PendingWrites(rig.ledger).add(job_id=None, feed="test-feed", kind="variation",
                                  endpoint=f"products/{items[0]['parent_id']}/variations/batch", parent_id=None,
                                  items=items, pid=proc.pid, host=socket.gethostname())
    result, _ = rig.run(feed, process_images=False, settle_s=1.0)
    assert result["settled"]["adopted_items"] == PARENTS * PER_PARENT
    assert result["variations"]["created"] == 0 and result["variations"]["failed"] == 0
    assert filing(rig) == wanted(rig)
    assert ledger_parents(rig) == {v: ids[p] for p, vs in wanted(rig).items() for v in vs}
    assert not LIVE or result["success"]


def test_a_refusal_under_the_items_own_parent_is_no_sign_of_misfiling():
    """`woocommerce_rest_cannot_edit` for an update in a request of its own parent's URL is that
    item's own error: nothing is sent again, and packing (and the ledger's note) stay."""
    from types import SimpleNamespace

    from wsync.store.errors import StoreError
    from wsync.sync.push import Op, OpResult

    run = SimpleNamespace(across_parents=True)
    ops = [Op("update", {"id": 10 + i, "product_id": 7}) for i in range(2)]
    results = [OpResult(ops[0], True, data={"id": 10, "_links": {"up": [{"href": "https://s/wp-json/wc/v3/products/7"}]}}),
               OpResult(ops[1], False, error=StoreError("Sorry, you are not allowed to edit this resource.",
                                                          code=across_parents.WRONG_PARENT))]
    assert across_parents._checked(run, {}, results, read_back=False) == results  # type: ignore[arg-type]
    assert run.across_parents is True


def test_the_catalogue_size_is_kept_only_when_the_store_states_it():
    """A store (or a proxy) that leaves X-WP-Total out gets its catalogue scanned every window,
    as before: an absent header is no empty store."""
    from types import SimpleNamespace

    from wsync.sync.adopt import find_existing

    class Headless:
        def __init__(self) -> None:
            self.scans = 0

        def get(self, path, params=None):
            return SimpleNamespace(headers={})

        def iter_pages(self, path, fields=None, per_page=100, params=None):
            self.scans += 1
            yield {"id": 5, "sku": "LONG-SKU-000003", "type": "simple"}

    client = Headless()
    memo: dict[str, int] = {}
    skus = [f"LONG-SKU-{i:06d}" for i in range(600)]
    for _ in range(2):
        assert set(find_existing(client, skus, memo)) == {"LONG-SKU-000003"}  # type: ignore[arg-type]
    assert memo == {} and client.scans == 2
