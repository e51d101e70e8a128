"""The wc/v3 routes: which handler answers which path and method, and the capability each needs."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wsync.sandbox.catalog import PRODUCT_TYPES, Catalog
from wsync.sandbox.faults import LatencyModel
from wsync.sandbox.listing import Paging, id_list, order_clause, trim_answer, trim_fields
from wsync.sandbox.pacing import Pacer, Staged
from wsync.sandbox.rest_error import RestError, invalid_param
from wsync.sandbox.taxonomy import CATEGORY, SHIPPING_CLASS, TAG, Taxonomy, attr_taxonomy

BATCH_LIMIT = 100
WC_VERSION = "9.4.0"
WP_VERSION = "6.7.1"


@dataclass
class Request:
    method: str
    route: str                 # e.g. /wc/v3/products/12
    params: dict               # query parameters (last value wins; `x[]` lists kept as lists)
    pairs: list                # query parameters in order, for Link headers
    body: dict
    link_base: str             # URL of the route as the client reached it
    counters: dict = field(default_factory=dict)


@dataclass
class Answer:
    status: int
    body: object
    headers: list = field(default_factory=list)


# A route's handler: the request and the path's named groups -> the answer.
Handler = Callable[[Request, dict[str, str]], Answer]
# HTTP method -> (handler, the capability it needs: view, view_list, create, edit, delete, batch).
Methods = dict[str, tuple[Handler, str]]
Route = tuple[str, Methods, str]  # (path pattern, methods, route class)
# One item of a batch -> its answer (a create may return Staged: checked, inserted later).
Step = Callable[[Any], Any]


class ItemCounter:
    """Items written by one request, for stats."""

    def __init__(self) -> None:
        self.written = 0


def _too_large() -> RestError:
    return RestError("woocommerce_rest_request_entity_too_large",
                     "Unable to accept more than 100 items for this request.", 413)


def batch_size(body: dict) -> int:
    return sum(len(body.get(k) or []) for k in ("create", "update", "delete") if isinstance(body.get(k), list))


def run_batch(body: dict[str, Any], create: Step, update: Step, delete: Step, counter: ItemCounter, pacer: Pacer,
              variation: bool = False) -> dict[str, list[Any]] | list[Any]:
    """Creates, then updates, then deletes, each in input order; a failing item does not stop the
    others (no transaction). Only non-empty keys are answered; with none, the answer is `[]`, a
    JSON list (PHP's empty array; recordings/25).

    Each step runs under the database lock and takes its own share of the latency, slept with
    the lock released (see pacing.py): readers see the items appear one by one. A create step may
    return `Staged` (checked, not yet inserted). Nothing here looks at the client's connection:
    a batch whose client hung up is saved to the end, as on a real store (recordings/27)."""
    if not isinstance(body, dict):
        raise RestError("rest_invalid_json", "Invalid JSON body passed.", 400)
    if batch_size(body) > BATCH_LIMIT:
        raise _too_large()
    work = [(key, fn, body[key]) for key, fn in (("create", create), ("update", update), ("delete", delete))
            if isinstance(body.get(key), list) and body[key]]
    if not work:
        return []
    costs = {key: [pacer.item_cost(key, item, variation) for item in items] for key, _fn, items in work}
    answer: dict = {}
    sleeper = pacer.sleeper()
    with pacer.whole(c for cs in costs.values() for c in cs):
        for key, fn, items in work:
            out = []
            for item, cost in zip(items, costs[key], strict=True):
                if key == "create":
                    item_id = 0
                elif key == "update":
                    item_id = item.get("id", 0) if isinstance(item, dict) else 0
                else:
                    item_id = item.get("id", 0) if isinstance(item, dict) else item
                try:
                    out.append(pacer.run(functools.partial(fn, item), cost, sleeper))
                    counter.written += 1
                except RestError as err:
                    out.append({"id": _as_int(item_id), "error": {"code": err.code, "message": err.message,
                                                                  "data": {"status": err.status, **err.data}}})
            answer[key] = out
    return answer


def _as_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


_PRODUCT_ORDER = {"date": "date_created", "id": "id", "title": "name", "slug": "slug", "modified": "date_modified",
                  "menu_order": "menu_order"}
_TERM_ORDER = {"name": "name", "id": "id", "slug": "slug"}


class Router:
    def __init__(self, catalog: Catalog, taxonomy: Taxonomy, base_url: Callable[[], str],
                 pacer: Pacer | None = None):
        self.cat = catalog
        self.tax = taxonomy
        self.base_url = base_url
        self.pacer = pacer or Pacer(catalog.db.lock, _no_latency)
        # Faults.variations_under_url: every batch item filed under the URL's product.
        self.variations_under_url = False
        self.routes: list[Route] = [
            (r"/wc/v3/system_status", {"GET": (self.system_status, "view")}, "system_status"),
            (r"/wc/v3/products",
             {"GET": (self.list_products, "view_list"), "POST": (self.create_product, "create")}, "products"),
            (r"/wc/v3/products/batch", _batch_methods(self.batch_products), "products/batch"),
            (r"/wc/v3/products/(?P<id>\d+)",
             _item_methods(self.get_product, self.update_product, self.delete_product), "products/{id}"),
            (r"/wc/v3/products/(?P<pid>\d+)/variations",
             {"GET": (self.list_variations, "view_list"), "POST": (self.create_variation, "create")}, "variations"),
            (r"/wc/v3/products/(?P<pid>\d+)/variations/batch",
             _batch_methods(self.batch_variations), "variations/batch"),
            (r"/wc/v3/products/(?P<pid>\d+)/variations/(?P<id>\d+)",
             _item_methods(self.get_variation, self.update_variation, self.delete_variation), "variations/{id}"),
            (r"/wc/v3/products/attributes", {"GET": (self.list_attributes, "view_list"),
                                             "POST": (self.create_attribute, "create")}, "attributes"),
            (r"/wc/v3/products/attributes/batch", _batch_methods(self.batch_attributes), "attributes/batch"),
            (r"/wc/v3/products/attributes/(?P<id>\d+)",
             _item_methods(self.get_attribute, self.update_attribute, self.delete_attribute), "attributes/{id}"),
        ]
        for name, fixed in (("categories", CATEGORY), ("tags", TAG), ("shipping_classes", SHIPPING_CLASS)):
            self.routes += self._term_routes(rf"/wc/v3/products/{name}", name, _always(fixed))
        self.routes += self._term_routes(r"/wc/v3/products/attributes/(?P<aid>\d+)/terms", "attribute_terms",
                                         self._attr_taxonomy)
        self.compiled = [(re.compile(pattern + r"/?\Z"), methods, name) for pattern, methods, name in self.routes]

    def _term_routes(self, prefix: str, name: str, taxonomy_of: Callable[[dict[str, str]], str]) -> list[Route]:
        return [
            (prefix, {"GET": (lambda r, m: self.list_terms(r, m, taxonomy_of(m)), "view_list"),
                      "POST": (lambda r, m: self.create_term(r, m, taxonomy_of(m)), "create")}, name),
            (prefix + "/batch", _batch_methods(lambda r, m: self.batch_terms(r, m, taxonomy_of(m))), f"{name}/batch"),
            (prefix + r"/(?P<id>\d+)", _item_methods(
                lambda r, m: self.get_term(r, m, taxonomy_of(m)), lambda r, m: self.update_term(r, m, taxonomy_of(m)),
                lambda r, m: self.delete_term(r, m, taxonomy_of(m))), f"{name}/{{id}}"),
        ]

    def match(self, method: str, route: str) -> tuple[Handler, str, str, dict[str, str]]:
        """-> (handler, capability action, route class, path args) or raise rest_no_route."""
        for pattern, methods, name in self.compiled:
            m = pattern.match(route)
            if m:
                if method in methods:
                    handler, action = methods[method]
                    return handler, action, name, m.groupdict()
                break
        raise RestError("rest_no_route", "No route was found matching the URL and request method.", 404)

    def route_class(self, route: str) -> str:
        for pattern, _methods, name in self.compiled:
            if pattern.match(route):
                return name
        return "other"

    # ------------------------------------------------------------------ system status
    def system_status(self, req: Request, m: dict) -> Answer:
        return Answer(200, {
            "environment": {"home_url": self.base_url(), "site_url": self.base_url(), "version": WC_VERSION,
                            "wp_version": WP_VERSION, "wp_multisite": False, "wp_memory_limit": 268435456,
                            "wp_debug_mode": False, "language": "en_US", "server_info": "wsync-sandbox",
                            "php_version": "8.2.0", "php_max_execution_time": 30, "max_upload_size": 67108864},
            "database": {"wc_database_version": WC_VERSION},
            "active_plugins": [{"plugin": "woocommerce/woocommerce.php", "name": "WooCommerce", "version": WC_VERSION,
                                "version_latest": WC_VERSION, "url": "https://woocommerce.com/",
                                "author_name": "Automattic"}],
            "settings": {"api_enabled": True, "currency": "USD", "currency_symbol": "&#36;", "decimal_separator": ".",
                         "thousand_separator": ",", "number_of_decimals": 2},
        })

    # ------------------------------------------------------------------ products
    def list_products(self, req: Request, m: dict) -> Answer:
        p = req.params
        paging = Paging(p)
        where, args = ["kind = 'product'"], []
        skus = [s for s in str(p.get("sku") or "").split(",") if s] if p.get("sku") else []
        if skus:
            # Exact match on any listed SKU, products and variations alike.
            where = [f"kind IN ('product','variation') AND sku IN ({','.join('?' * len(skus))})"]
            args += skus
        status = p.get("status") or "any"
        if status == "any":
            where.append("status != 'trash'")
        else:
            if status not in ("any", "future", "trash", "draft", "pending", "private", "publish"):
                raise invalid_param("status", "status is not one of any, future, trash, draft, pending, private, "
                                    "and publish.", "rest_not_in_enum")
            where.append("status = ?")
            args.append(status)
        if p.get("type"):
            if p["type"] not in PRODUCT_TYPES:
                raise invalid_param("type", "type is not one of simple, grouped, external, and variable.",
                                    "rest_not_in_enum")
            where.append("type = ?")
            args.append(p["type"])
        include, exclude = id_list(p.get("include")), id_list(p.get("exclude"))
        if include:
            where.append(f"id IN ({','.join(str(i) for i in include)})")
        if exclude:
            where.append(f"id NOT IN ({','.join(str(i) for i in exclude)})")
        if p.get("parent"):
            where.append(f"parent_id IN ({','.join(str(i) for i in id_list(p['parent'])) or '-1'})")
        if p.get("search"):
            where.append("(name LIKE ? OR json_extract(doc, '$.description') LIKE ?"
                         " OR json_extract(doc, '$.short_description') LIKE ?)")
            args += [f"%{p['search']}%"] * 3
        if p.get("search_sku"):
            where.append("sku LIKE ?")
            args.append(f"%{p['search_sku']}%")
        for key, column in (("category", "categories"), ("tag", "tags")):
            if p.get(key):
                ids = ",".join(str(i) for i in id_list(p[key])) or "-1"
                where.append(f"EXISTS (SELECT 1 FROM json_each(posts.doc, '$.{column}') WHERE value IN ({ids}))")
        for key, op, column in (("modified_after", ">", "date_modified"), ("modified_before", "<", "date_modified"),
                                ("after", ">", "date_created"), ("before", "<", "date_created")):
            if p.get(key):
                where.append(f"{column} {op} ?")
                args.append(str(p[key])[:19])
        order = order_clause(p, _PRODUCT_ORDER, "date", unstable_seed=paging.offset, include=include)
        clause = " AND ".join(where)
        with self.cat.db.lock:
            total = self.cat.db.count_posts(clause, tuple(args))
            posts = self.cat.db.query_posts(clause, tuple(args), order, paging.per_page, paging.offset)
            items = [self._trim(self.cat.render_product(post, fresh_read=True), p) for post in posts]
        return Answer(200, items, paging.headers(total, req.link_base, req.pairs))

    @staticmethod
    def _trim(doc: dict, params: dict) -> dict:
        if params.get("_fields"):
            doc = trim_fields(doc, params["_fields"])
            doc.pop("_links", None)
        return doc

    def get_product(self, req: Request, m: dict) -> Answer:
        with self.cat.db.lock:
            post = self.cat.get_product_post(m["id"])
            doc = self.cat.render_product(post, fresh_read=True)
        # One object's `_fields` keeps its `_links` (recordings/33); a listing's items lose them.
        return Answer(200, trim_answer(doc, req.params.get("_fields")))

    def create_product(self, req: Request, m: dict) -> Answer:
        self.cat.validate_single(req.body)
        cat = self.cat

        def prepare() -> Staged:
            post = cat.prepare_product(req.body)
            return Staged(lambda: (post, cat.render_product(cat.insert_product(post))))

        post, doc = self.pacer.run(prepare, self.pacer.item_cost("create", req.body))
        req.counters["written"] = 1
        return Answer(201, doc, [("Location", f"{self.base_url()}/wp-json/wc/v3/products/{post['id']}")])

    def update_product(self, req: Request, m: dict) -> Answer:
        self.cat.validate_single(req.body)
        with self.cat.db.lock:
            post = self.cat.update_product(m["id"], req.body)
            doc = self.cat.render_product(post)
        req.counters["written"] = 1
        return Answer(200, doc)

    def delete_product(self, req: Request, m: dict) -> Answer:
        force = str(req.params.get("force", "")).lower() in ("1", "true", "yes")
        with self.cat.db.lock:
            doc = self.cat.delete_product(m["id"], force)
        req.counters["written"] = 1
        return Answer(200, doc)

    def batch_products(self, req: Request, m: dict) -> Answer:
        counter = ItemCounter()
        cat = self.cat
        # recordings/33: the batch's query `_fields` reaches each create (and filters the batch
        # answer's own keys); an update sees only its own body, so only a `_fields` inside it.
        query_fields = req.params.get("_fields")

        def update(item: Any) -> dict[str, Any]:
            if not isinstance(item, dict):
                raise RestError("woocommerce_rest_product_invalid_id", "Invalid ID.", 400)
            body = {k: v for k, v in item.items() if k != "_fields"}
            return trim_answer(cat.render_product(cat.update_product(item.get("id", 0), body)), item.get("_fields"))

        def delete(item: Any) -> dict[str, Any]:
            item_id = item.get("id") if isinstance(item, dict) else item
            return cat.delete_product(item_id, force=True)

        def create(item: Any) -> Staged:
            post = cat.prepare_product(_item(item))
            return Staged(lambda: trim_answer(cat.render_product(cat.insert_product(post)), query_fields))

        answer = run_batch(req.body, create, update, delete, counter, self.pacer)
        req.counters["written"] = counter.written
        if query_fields and isinstance(answer, dict):
            answer = trim_answer(answer, query_fields) or []  # nothing left: PHP's empty array, `[]`
        return Answer(200, answer)

    # ------------------------------------------------------------------ variations
    def list_variations(self, req: Request, m: dict) -> Answer:
        p = req.params
        paging = Paging(p)
        with self.cat.db.lock:
            parent = self.cat.parent_for_variations(m["pid"])
            where, args = ["kind = 'variation' AND parent_id = ?"], [parent["id"]]
            status = p.get("status") or "any"
            where.append("status != 'trash'" if status == "any" else "status = ?")
            if status != "any":
                args.append(status)
            if p.get("sku"):
                skus = [s for s in str(p["sku"]).split(",") if s]
                where.append(f"sku IN ({','.join('?' * len(skus))})")
                args += skus
            include, exclude = id_list(p.get("include")), id_list(p.get("exclude"))
            if include:
                where.append(f"id IN ({','.join(str(i) for i in include)})")
            if exclude:
                where.append(f"id NOT IN ({','.join(str(i) for i in exclude)})")
            order = order_clause(p, _PRODUCT_ORDER, "date", include=include)
            clause = " AND ".join(where)
            total = self.cat.db.count_posts(clause, tuple(args))
            posts = self.cat.db.query_posts(clause, tuple(args), order, paging.per_page, paging.offset)
            items = [self._trim(self.cat.render_variation(post, parent, fresh_read=True), p) for post in posts]
        return Answer(200, items, paging.headers(total, req.link_base, req.pairs))

    def get_variation(self, req: Request, m: dict) -> Answer:
        with self.cat.db.lock:
            parent = self.cat.parent_for_variations(m["pid"])
            post = self.cat.get_variation(parent, m["id"])
            doc = self.cat.render_variation(post, parent, fresh_read=True)
        # One object's `_fields` keeps its `_links` (recordings/33); a listing's items lose them.
        return Answer(200, trim_answer(doc, req.params.get("_fields")))

    def create_variation(self, req: Request, m: dict) -> Answer:
        self.cat.validate_single(req.body, variation=True)
        cat = self.cat

        def prepare() -> Staged:
            parent = cat.parent_for_variations(m["pid"])
            post = cat.prepare_variation(parent, req.body)
            return Staged(lambda: (post, parent, cat.render_variation(cat.insert_variation(parent, post), parent)))

        post, parent, doc = self.pacer.run(prepare, self.pacer.item_cost("create", req.body, variation=True))
        req.counters["written"] = 1
        location = f"{self.base_url()}/wp-json/wc/v3/products/{parent['id']}/variations/{post['id']}"
        return Answer(201, doc, [("Location", location)])

    def update_variation(self, req: Request, m: dict) -> Answer:
        self.cat.validate_single(req.body, variation=True)
        with self.cat.db.lock:
            parent = self.cat.parent_for_variations(m["pid"])
            post = self.cat.update_variation(parent, m["id"], req.body)
            doc = self.cat.render_variation(post, parent)
        req.counters["written"] = 1
        return Answer(200, doc)

    def delete_variation(self, req: Request, m: dict) -> Answer:
        force = str(req.params.get("force", "")).lower() in ("1", "true", "yes")
        with self.cat.db.lock:
            parent = self.cat.parent_for_variations(m["pid"])
            doc = self.cat.delete_variation(parent, m["id"], force)
        req.counters["written"] = 1
        return Answer(200, doc)

    def batch_variations(self, req: Request, m: dict) -> Answer:
        counter = ItemCounter()
        cat = self.cat
        if batch_size(req.body if isinstance(req.body, dict) else {}) > BATCH_LIMIT:
            raise _too_large()
        with cat.db.lock:
            url_parent = cat.parent_for_variations(m["pid"])

        def parent_of(item: dict[str, Any]) -> dict:
            # WooCommerce merges the URL's product_id under each create and update item, so an
            # item naming its own is filed under that product (recordings/34); a product_id that
            # is no product fails the item as a parent that cannot take attributes.
            own = item.get("product_id")
            if self.variations_under_url or own in (None, "") or str(own) == str(url_parent["id"]):
                return url_parent
            with cat.db.lock:
                try:
                    return cat.parent_for_variations(own)
                except RestError:
                    raise RestError("woocommerce_rest_product_variation_invalid_parent",
                                    "Cannot set attributes due to invalid parent product.", 404) from None

        def create(item: Any) -> Staged:
            body = _item(item)
            parent = parent_of(body)
            post = cat.prepare_variation(parent, body)
            return Staged(lambda: cat.render_variation(cat.insert_variation(parent, post), parent))

        def update(item: Any) -> dict[str, Any]:
            if not isinstance(item, dict):
                raise RestError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 400)
            parent = parent_of(item)
            return cat.render_variation(cat.update_variation(parent, item.get("id", 0), item), parent)

        def delete(item: Any) -> dict[str, Any]:
            # A delete is a plain id: it stays with the URL's product.
            item_id = item.get("id") if isinstance(item, dict) else item
            return cat.delete_variation(url_parent, item_id, force=True)

        answer = run_batch(req.body, create, update, delete, counter, self.pacer, variation=True)
        req.counters["written"] = counter.written
        return Answer(200, answer)

    # ------------------------------------------------------------------ terms
    def _attr_taxonomy(self, m: dict) -> str:
        if self.cat.db.get_attribute(int(m["aid"])) is None:
            raise RestError("woocommerce_rest_taxonomy_invalid", "Taxonomy does not exist.", 404)
        return attr_taxonomy(int(m["aid"]))

    def _term_route(self, m: dict, taxonomy: str) -> str:
        if taxonomy == CATEGORY:
            return "products/categories"
        if taxonomy == TAG:
            return "products/tags"
        if taxonomy == SHIPPING_CLASS:
            return "products/shipping_classes"
        return f"products/attributes/{m['aid']}/terms"

    def list_terms(self, req: Request, m: dict, taxonomy: str) -> Answer:
        p = req.params
        paging = Paging(p)
        with self.cat.db.lock:
            terms = self.cat.db.terms(taxonomy)
            if p.get("search"):
                needle = str(p["search"]).lower()
                terms = [t for t in terms if needle in t["name"].lower() or needle in t["slug"]]
            if p.get("slug"):
                slugs = str(p["slug"]).split(",")
                terms = [t for t in terms if t["slug"] in slugs]
            if p.get("parent") not in (None, ""):
                terms = [t for t in terms if t["parent"] == int(p["parent"])]
            include, exclude = id_list(p.get("include")), id_list(p.get("exclude"))
            if include:
                terms = [t for t in terms if t["id"] in include]
            if exclude:
                terms = [t for t in terms if t["id"] not in exclude]
            route = self._term_route(m, taxonomy)
            if str(p.get("hide_empty", "")).lower() in ("1", "true"):
                terms = [t for t in terms if self.tax.count(t) > 0]
            orderby = p.get("orderby") or "name"
            if orderby in ("id", "slug"):
                terms.sort(key=lambda t: t[orderby])
            if (p.get("order") or "asc").lower() == "desc":
                terms.reverse()
            total = len(terms)
            page = terms[paging.offset:paging.offset + paging.per_page]
            items = [self._trim(self.tax.render_term(t, route), p) for t in page]
        return Answer(200, items, paging.headers(total, req.link_base, req.pairs))

    def _get_term(self, m: dict, taxonomy: str, status: int = 404) -> dict:
        term = self.cat.db.get_term(int(m["id"]), taxonomy)
        if term is None:
            raise RestError("woocommerce_rest_term_invalid", "Resource does not exist.", status)
        return term

    def get_term(self, req: Request, m: dict, taxonomy: str) -> Answer:
        with self.cat.db.lock:
            return Answer(200, self.tax.render_term(self._get_term(m, taxonomy), self._term_route(m, taxonomy)))

    def create_term(self, req: Request, m: dict, taxonomy: str) -> Answer:
        with self.cat.db.lock:
            term = self.tax.create_term(taxonomy, req.body)
            route = self._term_route(m, taxonomy)
            doc = self.tax.render_term(term, route)
        req.counters["written"] = 1
        return Answer(201, doc, [("Location", f"{self.base_url()}/wp-json/wc/v3/{route}/{term['id']}")])

    def update_term(self, req: Request, m: dict, taxonomy: str) -> Answer:
        with self.cat.db.lock:
            term = self.tax.update_term(self._get_term(m, taxonomy), req.body)
            doc = self.tax.render_term(term, self._term_route(m, taxonomy))
        req.counters["written"] = 1
        return Answer(200, doc)

    def delete_term(self, req: Request, m: dict, taxonomy: str) -> Answer:
        if str(req.params.get("force", "")).lower() not in ("1", "true", "yes"):
            raise RestError("woocommerce_rest_trash_not_supported", "Resource does not support trashing.", 501)
        with self.cat.db.lock:
            term = self._get_term(m, taxonomy)
            doc = self.tax.render_term(term, self._term_route(m, taxonomy))
            self.tax.delete_term(term)
        req.counters["written"] = 1
        return Answer(200, doc)

    def batch_terms(self, req: Request, m: dict, taxonomy: str) -> Answer:
        counter = ItemCounter()
        route = self._term_route(m, taxonomy)
        answer = run_batch(
            req.body,
            lambda item: self.tax.render_term(self.tax.create_term(taxonomy, _item(item)), route),
            lambda item: self.tax.render_term(self.tax.update_term(self._get_term(_item(item), taxonomy, 400), item),
                                              route),
            lambda item: self._delete_term_item(item, taxonomy, route),
            counter, self.pacer)
        req.counters["written"] = counter.written
        return Answer(200, answer)

    def _delete_term_item(self, item: Any, taxonomy: str, route: str) -> dict[str, Any]:
        term = self._get_term({"id": item.get("id") if isinstance(item, dict) else item}, taxonomy)
        doc = self.tax.render_term(term, route)
        self.tax.delete_term(term)
        return doc

    # ------------------------------------------------------------------ attributes
    def _get_attribute(self, attr_id: Any, status: int = 404) -> dict[str, Any]:
        attr = self.cat.db.get_attribute(int(attr_id))
        if attr is None:
            raise RestError("woocommerce_rest_invalid_id", "Invalid resource ID.", status)
        return attr

    def list_attributes(self, req: Request, m: dict) -> Answer:
        with self.cat.db.lock:
            attrs = [self._trim(self.tax.render_attribute(a), req.params) for a in self.cat.db.attributes()]
        return Answer(200, attrs, [("X-WP-Total", str(len(attrs))), ("X-WP-TotalPages", "1" if attrs else "0")])

    def get_attribute(self, req: Request, m: dict) -> Answer:
        with self.cat.db.lock:
            return Answer(200, self.tax.render_attribute(self._get_attribute(m["id"])))

    def create_attribute(self, req: Request, m: dict) -> Answer:
        with self.cat.db.lock:
            attr = self.tax.create_attribute(req.body)
        req.counters["written"] = 1
        return Answer(201, self.tax.render_attribute(attr),
                      [("Location", f"{self.base_url()}/wp-json/wc/v3/products/attributes/{attr['id']}")])

    def update_attribute(self, req: Request, m: dict) -> Answer:
        with self.cat.db.lock:
            attr = self.tax.update_attribute(self._get_attribute(m["id"], 400), req.body)
        req.counters["written"] = 1
        return Answer(200, self.tax.render_attribute(attr))

    def delete_attribute(self, req: Request, m: dict) -> Answer:
        with self.cat.db.lock:
            doc = self._delete_attribute(m["id"])
        req.counters["written"] = 1
        return Answer(200, doc)

    def _delete_attribute(self, attr_id: Any) -> dict[str, Any]:
        attr = self._get_attribute(attr_id)
        doc = self.tax.render_attribute(attr)
        self.cat.db.conn.execute("DELETE FROM attributes WHERE id = ?", (attr["id"],))
        self.cat.db.conn.execute("DELETE FROM terms WHERE taxonomy = ?", (attr_taxonomy(attr["id"]),))
        return doc

    def batch_attributes(self, req: Request, m: dict) -> Answer:
        counter = ItemCounter()
        answer = run_batch(
            req.body,
            lambda item: self.tax.render_attribute(self.tax.create_attribute(_item(item))),
            lambda item: self.tax.render_attribute(
                self.tax.update_attribute(self._get_attribute(_item(item).get("id", 0), 400), item)),
            lambda item: self._delete_attribute(item.get("id") if isinstance(item, dict) else item),
            counter, self.pacer)
        req.counters["written"] = counter.written
        return Answer(200, answer)


def _no_latency() -> LatencyModel:
    return LatencyModel.none()


def _always(taxonomy: str) -> Callable[[dict[str, str]], str]:
    """The taxonomy of a route that serves one (categories, tags, shipping classes)."""
    return lambda _m: taxonomy


def _item(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise RestError("rest_invalid_param", "Invalid parameter(s): item", 400)
    return item


def _batch_methods(handler: Handler) -> Methods:
    return {method: (handler, "batch") for method in ("POST", "PUT", "PATCH")}


def _item_methods(get: Handler, update: Handler, delete: Handler) -> Methods:
    return {"GET": (get, "view"), "POST": (update, "edit"), "PUT": (update, "edit"), "PATCH": (update, "edit"),
            "DELETE": (delete, "delete")}
