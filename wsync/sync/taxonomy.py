"""Categories, global attributes and shipping classes: resolved once, ids cached in the ledger.

WooCommerce has no create-by-name for categories (a product's `categories` takes ids only), so
each path is created parents first: before a window's products are planned, every category they
need and the store lacks is made, one depth at a time and several requests at once
(`prepare_categories`); a product whose path is still unknown then makes it itself. A
`term_exists` answer carries the existing term's id in `data.resource_id`: that is adopted
rather than treated as a failure, which also makes two concurrent imports safe. Tags need no
resolution: a product's `tags: [{name}]` creates them.
A product names its shipping class by slug, and an unknown slug is silently dropped (even
clearing the class it had: recordings/30), so shipping classes are created by name first, the
same way (`term_exists` with `resource_id` on a duplicate name, any case).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from wsync.ledger.items import TermCache
from wsync.store.errors import StoreError

if TYPE_CHECKING:
    from wsync.store import StoreClient

log = logging.getLogger("wsync.sync.taxonomy")


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def path_key(path: list[str]) -> str:
    return " > ".join(_norm(p) for p in path)


def _slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:28] or "attr"


class Taxonomy:
    """Resolves category paths and attribute names to ids; `dry_run` never writes."""

    def __init__(self, client: StoreClient, cache: TermCache, *, dry_run: bool = False):
        self.client = client
        self.cache = cache
        self.dry_run = dry_run
        self._lock = threading.Lock()
        self._categories = cache.load("category")
        self._attributes = cache.load("attribute")
        self._store_categories: dict[tuple[int, str], int] | None = None
        self._store_attributes: dict[str, int] | None = None
        self._shipping_classes: dict[str, str] | None = None  # name (normalised) -> slug
        self.created = 0
        self.planned: set[str] = set()
        # A dry run's answer for a path the store lacks, by the path as spelled: asked again for
        # every product of the path (a plan of a million rows asks 200,000 times for 50 paths).
        self._planned_ids: dict[str, str] = {}
        # Told of each term this makes: (kind, store id, name). `wsync undo` deletes them again.
        self.on_create: Any = None

    def _created(self, kind: str, store_id: int, name: str) -> None:
        if self.on_create is not None:
            self.on_create(kind, store_id, name)

    # -- categories --------------------------------------------------------------------
    def _load_store_categories(self) -> dict[tuple[int, str], int]:
        if self._store_categories is None:
            found: dict[tuple[int, str], int] = {}
            for term in self.client.iter_pages("products/categories", fields=["id", "name", "parent"]):
                found[(int(term.get("parent") or 0), _norm(_unescape(term.get("name", ""))))] = int(term["id"])
            self._store_categories = found
        return self._store_categories

    def category_ids(self, paths: list[list[str]]) -> list[int | str]:
        ids: list[int | str] = []
        for path in paths:
            cid = self.category_id(path)
            if cid is not None and cid not in ids:
                ids.append(cid)
        return ids

    def category_id(self, path: list[str]) -> int | str | None:
        path = [p.strip() for p in path if p and p.strip()]
        if not path:
            return None
        key = path_key(path)
        cached = self._categories.get(key)
        if cached is not None:
            return cached
        planned = self._planned_ids.get(" > ".join(path))
        if planned is not None:
            return planned
        with self._lock:
            cached = self._categories.get(key)
            if cached is not None:
                return cached
            parent = 0
            for depth in range(1, len(path) + 1):
                sub_key = path_key(path[:depth])
                known = self._categories.get(sub_key)
                if known is None:
                    store = self._load_store_categories()
                    known = store.get((parent, _norm(path[depth - 1])))
                    if known is None:
                        if self.dry_run:
                            for deeper in range(depth, len(path) + 1):
                                self.planned.add(" > ".join(path[:deeper]))
                            spelled = " > ".join(path)
                            self._planned_ids[spelled] = f"new:{spelled}"
                            return self._planned_ids[spelled]
                        known = self._create_category(path[depth - 1], parent)
                        store[(parent, _norm(path[depth - 1]))] = known
                    self._categories[sub_key] = known
                    self.cache.save("category", sub_key, known)
                parent = known
            return parent

    def prepare_categories(self, paths: Iterable[list[str]], concurrency: int) -> None:
        """Make the categories `paths` need that neither the ledger nor the store has, the
        categories of one depth at a time, up to `concurrency` requests at once.

        `category_id` makes them one request after another as products ask, which on a first
        import left the store's second core idle for seconds (20 categories of the bench
        catalogue on the real store: 3.7 s with one request in flight). A path whose create
        fails here is left to `category_id`, which tries again and fails that product with the
        store's message."""
        if self.dry_run:
            return
        wanted: dict[str, list[str]] = {}
        for path in paths:
            path = [p.strip() for p in path if p and p.strip()]
            if path and path_key(path) not in self._categories:
                wanted.setdefault(path_key(path), path)
        if not wanted:
            return
        with self._lock:
            try:
                store = self._load_store_categories()
            except StoreError as exc:
                log.debug("categories not made ahead: %s", exc)
                return  # each product asks again, and one that cannot be served fails with it
            for depth in range(1, max(len(p) for p in wanted.values()) + 1):
                todo: dict[str, tuple[str, int]] = {}  # path key -> (name, parent id)
                for path in wanted.values():
                    sub_key = path_key(path[:depth])
                    if len(path) < depth or sub_key in self._categories or sub_key in todo:
                        continue
                    parent = self._categories.get(path_key(path[:depth - 1])) if depth > 1 else 0
                    if parent is None:
                        continue  # its parent could not be made: left to category_id
                    known = store.get((parent, _norm(path[depth - 1])))
                    if known is not None:
                        self._remember(sub_key, known)
                    else:
                        todo[sub_key] = (path[depth - 1], parent)
                if not todo:
                    continue
                with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(todo))),
                                        thread_name_prefix="wsync-terms") as pool:
                    answers = list(pool.map(lambda item: self._try_post_category(*item), todo.values()))
                # The ledger and the undo record are written here, on the job's own thread.
                for (sub_key, (name, parent)), answer in zip(todo.items(), answers, strict=True):
                    if answer is None:
                        continue
                    cid, created = answer
                    if created:
                        self.created += 1
                        self._created("category", cid, name)
                    store[(parent, _norm(name))] = cid
                    self._remember(sub_key, cid)

    def _remember(self, key: str, cid: int) -> None:
        self._categories[key] = cid
        self.cache.save("category", key, cid)

    def _try_post_category(self, name: str, parent: int) -> tuple[int, bool] | None:
        try:
            return self._post_category(name, parent)
        except StoreError as exc:
            log.debug("category %r not made ahead: %s", name, exc)
            return None

    def _create_category(self, name: str, parent: int) -> int:
        cid, created = self._post_category(name, parent)
        if created:
            self.created += 1
            self._created("category", cid, name)
        return cid

    def _post_category(self, name: str, parent: int) -> tuple[int, bool]:
        """The category's id, and whether this request made it (False: it was there already)."""
        body: dict[str, Any] = {"name": name}
        if parent:
            body["parent"] = parent
        try:
            response = self.client.post("products/categories", body, idempotent=True)
            return int(response.data["id"]), True
        except StoreError as exc:
            resource = (exc.data or {}).get("resource_id") if isinstance(exc.data, dict) else None
            if exc.code == "term_exists" and resource:
                return int(resource), False
            raise

    # -- shipping classes --------------------------------------------------------------
    def shipping_class_slug(self, name: str) -> str:
        """The slug of the shipping class called `name`, created when the store has none.

        Read once per job (a store has a handful); a dry run plans the new ones."""
        key = _norm(name)
        with self._lock:
            if self._shipping_classes is None:
                self._shipping_classes = {}
                for term in self.client.iter_pages("products/shipping_classes", fields=["id", "name", "slug"]):
                    self._shipping_classes[_norm(_unescape(term.get("name", "")))] = str(term.get("slug", ""))
            slug = self._shipping_classes.get(key)
            if slug is not None:
                return slug
            if self.dry_run:
                self.planned.add(f"shipping class {name}")
                return _slugify(name)
            try:
                response = self.client.post("products/shipping_classes", {"name": name}, idempotent=True)
                self.created += 1
                self._created("shipping_class", int(response.data["id"]), name)
                slug = str(response.data["slug"])
            except StoreError as exc:
                resource = (exc.data or {}).get("resource_id") if isinstance(exc.data, dict) else None
                if exc.code != "term_exists" or not resource:
                    raise
                slug = str(self.client.get(f"products/shipping_classes/{int(resource)}").data["slug"])
            self._shipping_classes[key] = slug
            return slug

    # -- global attributes -------------------------------------------------------------
    def attribute_id(self, name: str) -> int | None:
        key = _norm(name)
        cached = self._attributes.get(key)
        if cached is not None:
            return cached
        with self._lock:
            if key in self._attributes:
                return self._attributes[key]
            store = self._load_store_attributes()
            found = store.get(key) or store.get("slug:" + _slugify(name))
            if found is None:
                if self.dry_run:
                    self.planned.add(f"attribute {name}")
                    return None
                found = self._create_attribute(name)
            self._attributes[key] = found
            self.cache.save("attribute", key, found)
            return found

    def _load_store_attributes(self, refresh: bool = False) -> dict[str, int]:
        if self._store_attributes is None or refresh:
            found: dict[str, int] = {}
            # No paging here: the endpoint returns every global attribute at once.
            for attr in self.client.get("products/attributes").data or []:
                found[_norm(_unescape(attr.get("name", "")))] = int(attr["id"])
                slug = str(attr.get("slug", "")).removeprefix("pa_")
                found["slug:" + slug] = int(attr["id"])
            self._store_attributes = found
        return self._store_attributes

    def _create_attribute(self, name: str) -> int:
        try:
            response = self.client.post("products/attributes", {"name": name, "slug": _slugify(name)}, idempotent=True)
            self.created += 1
            self._created("attribute", int(response.data["id"]), name)
            return int(response.data["id"])
        except StoreError as exc:
            # 'Slug "x" is already in use' carries no id: read the list again and take it from there.
            if exc.code == "woocommerce_rest_cannot_create":
                store = self._load_store_attributes(refresh=True)
                found = store.get(_norm(name)) or store.get("slug:" + _slugify(name))
                if found is not None:
                    return found
            raise


def _unescape(text: str) -> str:
    # The store answers names HTML-escaped ("A &amp; B").
    import html

    return html.unescape(text)
