"""A window's missing categories are made before its products are planned: one depth at a time,
several requests at once, the ledger and the undo record written as one at a time would."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from wsync.ledger import Ledger
from wsync.ledger.items import TermCache
from wsync.store.errors import StoreError
from wsync.sync.taxonomy import Taxonomy, path_key


class Answer:
    def __init__(self, data: dict[str, Any]):
        self.data = data


class TermStore:
    """products/categories as WooCommerce answers them: a duplicate name under one parent is
    `term_exists` with the term's id in `data.resource_id`; `refuse` names a create it fails."""

    def __init__(self, existing: dict[tuple[int, str], int], refuse: str = ""):
        self.terms = dict(existing)
        self.refuse = refuse
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0
        self.posts: list[tuple[str, int]] = []

    def iter_pages(self, endpoint: str, **_: Any):
        assert endpoint == "products/categories"
        return iter([{"id": i, "name": name, "parent": parent} for (parent, name), i in self.terms.items()])

    def post(self, endpoint: str, body: dict[str, Any], **_: Any) -> Answer:
        assert endpoint == "products/categories"
        name, parent = body["name"], body.get("parent", 0)
        with self.lock:
            self.posts.append((name, parent))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(0.05)  # the store's time: long enough for the others to be sent meanwhile
        with self.lock:
            self.in_flight -= 1
            if name == self.refuse:
                raise StoreError("invalid name", code="term_invalid", status=400, endpoint=endpoint)
            if parent and parent not in self.terms.values():
                raise AssertionError(f"{name!r} sent before its parent {parent} was made")
            if (parent, name) in self.terms:
                raise StoreError("exists", code="term_exists", status=400, endpoint=endpoint,
                                 data={"status": 400, "resource_id": self.terms[(parent, name)]})
            self.terms[(parent, name)] = 100 + len(self.terms)
            return Answer({"id": self.terms[(parent, name)]})


def taxonomy(tmp_path: Path, store: TermStore) -> tuple[Taxonomy, list[tuple[str, int, str]]]:
    tax = Taxonomy(store, TermCache(Ledger(tmp_path / "ledger.db")))  # type: ignore[arg-type]
    made: list[tuple[str, int, str]] = []
    tax.on_create = lambda kind, store_id, name: made.append((kind, store_id, name))
    return tax, made


def test_missing_categories_are_made_ahead_parents_first_several_at_once(tmp_path: Path) -> None:
    store = TermStore({(0, "Shop"): 7})
    tax, made = taxonomy(tmp_path, store)
    paths = [["Shop", f"Line {i}"] for i in range(6)] + [["Outlet", "Coats"], ["Outlet"], [" Shop ", "Line 0"]]
    tax.prepare_categories(paths, concurrency=4)

    assert store.most_in_flight > 1, "the creates of one depth went one at a time"
    outlet = store.terms[(0, "Outlet")]
    assert sorted(store.posts) == sorted([(f"Line {i}", 7) for i in range(6)] + [("Outlet", 0), ("Coats", outlet)])
    assert tax.created == 8 and sorted(name for _, _, name in made) == sorted(name for name, _ in store.posts)
    # Products then find every path without a request, and a new run finds them in the ledger.
    store.posts.clear()
    assert tax.category_ids(paths) == [store.terms[(7, f"Line {i}")] for i in range(6)] + \
        [store.terms[(outlet, "Coats")], outlet]
    assert store.posts == []
    cached = TermCache(Ledger(tmp_path / "ledger.db")).load("category")
    assert cached[path_key(["Outlet", "Coats"])] == store.terms[(outlet, "Coats")]
    assert cached[path_key(["Shop"])] == 7


def test_a_category_made_meanwhile_is_adopted_and_a_refused_one_fails_its_product(tmp_path: Path) -> None:
    store = TermStore({}, refuse="Bad")
    tax, made = taxonomy(tmp_path, store)
    tax._load_store_categories()                      # read before another import made "Shoes"
    store.terms[(0, "Shoes")] = 55
    tax.prepare_categories([["Shoes"], ["Bad", "Child"], ["Hats"]], concurrency=3)
    assert tax.category_id(["Shoes"]) == 55 and ("category", 55, "Shoes") not in made
    assert [name for _, _, name in made] == ["Hats"]
    assert ("Child", 0) not in store.posts and not any(name == "Child" for name, _ in store.posts)
    with pytest.raises(StoreError) as refused:        # the product asking for it gets the store's answer
        tax.category_id(["Bad", "Child"])
    assert refused.value.code == "term_invalid"


def test_a_dry_run_makes_nothing_ahead(tmp_path: Path) -> None:
    store = TermStore({})
    tax = Taxonomy(store, TermCache(Ledger(tmp_path / "ledger.db")), dry_run=True)  # type: ignore[arg-type]
    tax.prepare_categories([["New", "Path"]], concurrency=4)
    assert store.posts == [] and str(tax.category_id(["New", "Path"])).startswith("new:")


def test_a_store_that_cannot_list_its_categories_leaves_them_to_the_products(tmp_path: Path) -> None:
    store = TermStore({})
    failing = {"left": 1}

    def iter_pages(endpoint: str, **_: Any):
        if failing["left"]:
            failing["left"] -= 1
            raise StoreError("busy", code="internal_server_error", status=500, endpoint=endpoint)
        return iter([])
    store.iter_pages = iter_pages  # type: ignore[method-assign]
    tax, made = taxonomy(tmp_path, store)
    tax.prepare_categories([["Shoes"]], concurrency=2)   # nothing made, nothing raised
    assert store.posts == []
    assert tax.category_id(["Shoes"]) == store.terms[(0, "Shoes")] and [n for _, _, n in made] == ["Shoes"]
