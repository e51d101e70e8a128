"""The sync engine against the sandbox store, through real HTTP."""

from __future__ import annotations

import collections

from tests.sync.conftest import batches, sandbox_only
from wsync.ledger.history import JobChanges


def test_first_import_batches_and_second_run_writes_nothing(rig):
    rows = rig.rows(simple=120, variable=6, per_parent=30)
    feed = rig.feed(rows)
    result, _client = rig.run(feed, process_images=False)
    assert result["success"], result
    assert result["created"] == 120 + 6 and result["total_processed"] == 126
    assert result["variations"]["created"] == 6 * 30 == result["variations"]["processed"]
    assert result["failed"] == 0 and result["variations"]["failed"] == 0
    # ceil(P/50) product batches, ceil(V/25) variation batches, several parents' variations in one
    # (recordings/34); nothing else written but the categories the store lacked (Shop, Shop >
    # Simple, Shop > Variable on an empty one).
    expected_writes = batches(126, 50) + batches(6 * 30, 25) + result["categories_created"]
    assert result["requests"]["write"] == expected_writes, result["requests"]

    products = rig.all_products()
    skus = collections.Counter(p["sku"] for p in products)
    assert len(products) == 126 and max(skus.values()) == 1
    parent = next(p for p in products if p["sku"] == rig.sku("V00000"))
    variations = rig.all_variations(parent["id"])
    assert len(variations) == 30
    assert all(v["attributes"] for v in variations), "variations lost their attributes (became 'Any')"

    again, _ = rig.run(feed, process_images=False)
    assert again["requests"]["write"] == 0
    assert again["created"] == 0 and again["updated"] == 0 and again["unchanged"] == 126
    assert again["variations"]["unchanged"] == 180 and again["variations"]["created"] == 0


def test_price_change_sends_only_the_changed_field_for_those_items(rig):
    rows = rig.rows(simple=40, variable=0)
    feed = rig.feed(rows)
    rig.run(feed, process_images=False)
    for row in rows[:10]:
        row["price"] = "12.50"
    rig.feed(rows)
    result, _ = rig.run(feed, process_images=False)
    assert result["updated"] == 10 and result["unchanged"] == 30
    assert result["requests"]["write"] == 1
    by_sku = {p["sku"]: p for p in rig.all_products()}
    assert by_sku[rig.sku("S00000")]["regular_price"] == "12.50"
    assert by_sku[rig.sku("S00010")]["regular_price"] == "10.00"


def test_adoption_of_a_prefilled_store_creates_no_duplicate(rig):
    rows = rig.rows(simple=30, variable=3, per_parent=4)
    with rig.client() as c:
        c.batch("products/batch", {"create": [{"sku": rig.sku(f"S{i:05d}"), "name": "old", "regular_price": "1.00"}
                                              for i in range(20)]})
    result, _ = rig.run(rig.feed(rows), process_images=False)
    assert result["failed"] == 0, result
    products = rig.all_products()
    skus = collections.Counter(p["sku"] for p in products)
    assert len(products) == 33 and max(skus.values()) == 1
    assert result["created"] == 13 and result["updated"] == 20
    assert result["variations"]["created"] == 12 and result["variations"]["updated"] == 0


def test_adopted_variations_send_only_what_differs(rig):
    """The same catalogue as another feed (a file under a new name each day, a lost ledger): its
    variations are on the store already. Each parent's variations are read once, whole; one whose
    price changed gets that price alone, the others nothing, and the ledger learns them all."""
    rows = rig.rows(simple=3, variable=4, per_parent=5)
    first, _ = rig.run(rig.feed(rows), process_images=False)
    assert first["variations"]["created"] == 20
    changed = next(r for r in rows if r.get("parent") == rig.sku("V00001"))
    changed["price"] = "23.45"
    renamed = rig.feed(rows, name="renamed.csv")
    result, _ = rig.run(renamed, feed_name="renamed", process_images=False)
    assert result["failed"] == 0 and result["created"] == 0, result
    assert result["variations"]["updated"] == 1 and result["variations"]["unchanged"] == 19, result
    assert result["variations"]["created"] == 0
    parent = next(p for p in rig.all_products() if p["sku"] == rig.sku("V00001"))
    prices = sorted(v["regular_price"] for v in rig.all_variations(parent["id"]))
    assert prices.count("23.45") == 1 and len(prices) == 5
    # Before-images from the read that found them: `wsync undo` can put the old price back.
    noted = [c for c in JobChanges(rig.ledger).for_job(result["job_id"]) if c.kind == "variation"]
    assert [(c.sku, c.before, c.after) for c in noted] == [
        (changed["sku"], {"regular_price": "10.00"}, {"regular_price": "23.45"})]
    again, _ = rig.run(renamed, feed_name="renamed", process_images=False)
    assert again["requests"]["write"] == 0 and again["variations"]["unchanged"] == 20, again


def test_adopted_products_send_only_what_differs(rig):
    """The same catalogue under a new feed name: its products are read whole once (100 per
    request) and compared with the feed; one whose price changed gets that price alone, the
    others nothing (not even the feed marker: a renamed file must not make the store save every
    product again), and the ledger learns them, so the next run reads nothing either."""
    rows = rig.rows(simple=4, variable=2, per_parent=3)
    first, _ = rig.run(rig.feed(rows), process_images=False)
    assert first["created"] == 6, first
    changed = next(r for r in rows if r["sku"] == rig.sku("S00001"))
    changed["price"] = "17.50"
    renamed = rig.feed(rows, name="renamed.csv")
    result, _ = rig.run(renamed, feed_name="renamed", process_images=False)
    assert result["failed"] == 0 and result["created"] == 0, result
    assert result["updated"] == 1 and result["unchanged"] == 5, result
    assert result["variations"]["unchanged"] == 6 and result["variations"]["updated"] == 0, result
    assert result["requests"]["write"] == 1, result["requests"]
    by_sku = {p["sku"]: p for p in rig.all_products()}
    assert by_sku[changed["sku"]]["regular_price"] == "17.50"
    assert by_sku[rig.sku("S00002")]["regular_price"] == "10.00"
    noted = [c for c in JobChanges(rig.ledger).for_job(result["job_id"]) if c.kind == "product"]
    assert [(c.sku, c.before, c.after) for c in noted] == [
        (changed["sku"], {"regular_price": "10.00"}, {"regular_price": "17.50"})]
    again, _ = rig.run(renamed, feed_name="renamed", process_images=False)
    assert again["requests"] == {"read": 0, "write": 0}, again
    assert again["unchanged"] == 6 and again["variations"]["unchanged"] == 6, again


def test_adopted_under_only_learns_the_stores_state_not_the_feeds(rig):
    """Adopted with `--only stock`, a variation whose stock agrees is left alone, and the ledger
    keeps what the store has, not the feed's price it never compared: the next full run sends it."""
    rows = rig.rows(simple=1, variable=1, per_parent=3)
    rig.run(rig.feed(rows), process_images=False)
    changed = next(r for r in rows if r.get("parent"))
    changed["price"] = "31.00"
    renamed = rig.feed(rows, name="renamed.csv")
    stock, _ = rig.run(renamed, feed_name="renamed", process_images=False, only=["stock"])
    assert stock["variations"]["updated"] == 0 and stock["variations"]["unchanged"] == 3, stock
    full, _ = rig.run(renamed, feed_name="renamed", process_images=False)
    assert full["variations"]["updated"] == 1 and full["variations"]["unchanged"] == 2, full
    parent = next(p for p in rig.all_products() if p["sku"] == changed["parent"])
    assert sorted(v["regular_price"] for v in rig.all_variations(parent["id"])) == ["10.00", "10.00", "31.00"]


def test_poisoned_item_fails_alone(rig):
    rows = rig.rows(simple=60, variable=0)
    # A SKU a variation already holds: the store refuses it; the other 59 must land.
    with rig.client() as c:
        parent = c.post("products", {"name": "other", "type": "variable", "sku": rig.sku("OTHER"),
                                     "attributes": [{"name": "Size", "options": ["S"], "variation": True}]}).data
        c.post(f"products/{parent['id']}/variations", {"sku": rig.sku("S00007"),
                                                       "attributes": [{"name": "Size", "option": "S"}]})
    result, _ = rig.run(rig.feed(rows), process_images=False)
    assert result["created"] == 59 and result["failed"] == 1
    errors = rig.jobs.errors(result["job_id"])
    assert [(e["sku"], e["code"]) for e in errors] == [(rig.sku("S00007"), "product_invalid_sku")]


@sandbox_only
def test_commit_then_drop_on_create_batch_leaves_one_product_per_sku(rig, sandbox):
    from wsync.sandbox import Faults

    rows = rig.rows(simple=150, variable=4, per_parent=6)
    sandbox.set_faults(Faults(drop_rate=0.3, seed=7, only_writes=True))
    result, _ = rig.run(rig.feed(rows), process_images=False, settle_s=0.0)
    sandbox.set_faults(Faults())
    products = rig.all_products()
    skus = collections.Counter(p["sku"] for p in products)
    assert len(products) == 154 and max(skus.values()) == 1
    for parent in (p for p in products if p["type"] == "variable"):
        vskus = collections.Counter(v["sku"] for v in rig.all_variations(parent["id"]))
        assert len(vskus) == 6 and max(vskus.values()) == 1
    assert result["failed"] == 0 and result["variations"]["failed"] == 0, rig.jobs.errors(result["job_id"])
    assert result["created"] == 154 and result["variations"]["created"] == 24
    again, _ = rig.run(rig.feed(rows), process_images=False)
    assert again["requests"]["write"] == 0


def test_missing_products_go_to_draft_and_mass_change_is_refused(rig):
    import pytest

    from wsync.errors import UsageError

    rows = rig.rows(simple=20, variable=0)
    rig.run(rig.feed(rows), process_images=False)
    result, _ = rig.run(rig.feed(rows[:18]), process_images=False, missing="draft")
    assert result["removed"] == 2
    status = {p["sku"]: p["status"] for p in rig.all_products()}
    assert status[rig.sku("S00019")] == "draft" and status[rig.sku("S00000")] == "publish"
    with pytest.raises(UsageError, match="more than 20 %"):
        rig.run(rig.feed(rows[:10]), process_images=False, missing="trash")


def test_stock_only_fast_path(rig):
    rows = rig.rows(simple=10, variable=2, per_parent=3)
    rig.run(rig.feed(rows), process_images=False)
    for row in rows:
        if "stock" in row:
            row["stock"] = 9
        row["name"] = "renamed, but --only must not send it"
    result, _ = rig.run(rig.feed(rows), only=["stock"])
    assert result["failed"] == 0 and result["variations"]["failed"] == 0
    # The simple products' stock changed, the variable parents' did not (their variations hold it).
    assert result["updated"] == 10 and result["unchanged"] == 2 and result["variations"]["updated"] == 6
    # One product batch and one variations batch: both parents' variations in one request.
    assert result["requests"]["write"] == 1 + 1


def test_variations_of_a_parent_the_store_refused_are_failed_variations(rig):
    """The parent is one failed product; its variations, which could not be written, are
    failed variations, and each row of counts still adds up to the feed."""
    rows = rig.rows(simple=4, variable=3, per_parent=5)
    with rig.client() as c:
        # Another product's variation holds the first parent's SKU: the store refuses that parent.
        other = c.post("products", {"name": "other", "type": "variable", "sku": rig.sku("OTHER"),
                                    "attributes": [{"name": "Size", "options": ["S"], "variation": True}]}).data
        c.post(f"products/{other['id']}/variations", {"sku": rig.sku("V00000"),
                                                      "attributes": [{"name": "Size", "option": "S"}]})
    result, _ = rig.run(rig.feed(rows), process_images=False)
    assert not result["success"]
    assert (result["created"], result["failed"], result["total_processed"]) == (4 + 2, 1, 7)
    variations = result["variations"]
    assert (variations["created"], variations["failed"], variations["processed"]) == (2 * 5, 5, 3 * 5)
    assert sum(result[k] for k in ("created", "updated", "unchanged", "skipped", "failed")) == 7
    assert sum(variations[k] for k in ("created", "updated", "unchanged", "skipped", "failed")) == 15
    stages = collections.Counter(e["stage"] for e in rig.jobs.errors(result["job_id"]))
    assert stages == {"product": 1, "variation": 5}
    job = rig.jobs.get(result["job_id"])
    assert job["total_processed"] == 7 and job["total_created"] == 6 and job["total_errors"] == 1 + 5


def test_no_create_new_skips_the_variations_of_the_parents_it_skips(rig):
    """A new variable product skipped by --no-create-new takes its variations with it: skipped,
    not failed (they were counted as failed, with an error each, and the job exited 1)."""
    rows = rig.rows(simple=3, variable=2, per_parent=4)
    result, _ = rig.run(rig.feed(rows), process_images=False, create_new=False)
    assert result["success"] and result["failed"] == 0, result
    assert (result["skipped"], result["total_processed"]) == (5, 5)
    assert (result["variations"]["skipped"], result["variations"]["failed"], result["variations"]["processed"]) == (
        8, 0, 8)
    assert rig.jobs.errors(result["job_id"]) == [] and rig.all_products() == []
