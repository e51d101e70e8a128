"""Product categories, tags, global attributes and their terms.

Term ids come from one sequence (WordPress term_id); a case-insensitive name clash under the
same parent is `term_exists` with the existing id; a slug clash only suffixes `-2`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from wsync.sandbox.db import UNCATEGORIZED_ID, Database
from wsync.sandbox.rest_error import RestError
from wsync.sandbox.text import esc_term_name, sanitize_title

CATEGORY = "product_cat"
TAG = "product_tag"
SHIPPING_CLASS = "product_shipping_class"


def attr_taxonomy(attr_id: int) -> str:
    return f"pa:{attr_id}"


class Taxonomy:
    def __init__(self, db: Database, base_url: Callable[[], str]):
        self.db = db
        self.base_url = base_url

    # -- terms ---------------------------------------------------------------------------
    def find_by_name(self, taxonomy: str, name: str, parent: int | None = None) -> dict | None:
        wanted = esc_term_name(name).lower()
        for term in self.db.terms(taxonomy):
            if term["name"].lower() == wanted and (parent is None or term["parent"] == parent):
                return term
        return None

    def create_term(self, taxonomy: str, body: dict) -> dict:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RestError("rest_missing_callback_param", "Missing parameter(s): name", 400, params=["name"])
        parent = 0
        if taxonomy == CATEGORY:
            parent = int(body.get("parent") or 0)
            if parent and self.db.get_term(parent, CATEGORY) is None:
                raise RestError("missing_parent", "Parent term does not exist.", 400)
        clash = self.find_by_name(taxonomy, name, parent if taxonomy == CATEGORY else None)
        if clash is not None:
            message = ("A term with the name provided already exists with this parent." if taxonomy == CATEGORY
                       else "A term with the name provided already exists in this taxonomy.")
            raise RestError("term_exists", message, 400, resource_id=clash["id"])
        slug = self._unique_slug(taxonomy, sanitize_title(body.get("slug") or name) or "term")
        term = {"id": self.db.next_id("term"), "taxonomy": taxonomy, "name": esc_term_name(name), "slug": slug,
                "parent": parent, "description": str(body.get("description") or ""),
                "menu_order": int(body.get("menu_order") or 0)}
        if taxonomy == CATEGORY:
            term.update(display=body.get("display") or "default", image=None)
        self.db.save_term(term)
        return term

    def update_term(self, term: dict, body: dict) -> dict:
        if body.get("name"):
            siblings_of = term["parent"] if term["taxonomy"] == CATEGORY else None
            clash = self.find_by_name(term["taxonomy"], body["name"], siblings_of)
            if clash is not None and clash["id"] != term["id"]:
                raise RestError("duplicate_term_slug", "A term with the name provided already exists.", 400)
            term["name"] = esc_term_name(body["name"])
        if body.get("slug"):
            term["slug"] = self._unique_slug(term["taxonomy"], sanitize_title(body["slug"]), term["id"])
        for key in ("description", "display"):
            if key in body:
                term[key] = str(body[key])
        if "menu_order" in body:
            term["menu_order"] = int(body["menu_order"] or 0)
        if term["taxonomy"] == CATEGORY and "parent" in body:
            parent = int(body["parent"] or 0)
            if parent and self.db.get_term(parent, CATEGORY) is None:
                raise RestError("missing_parent", "Parent term does not exist.", 400)
            term["parent"] = parent
        self.db.save_term(term)
        return term

    def delete_term(self, term: dict) -> None:
        self.db.conn.execute("DELETE FROM terms WHERE id = ?", (term["id"],))
        if term["taxonomy"] == CATEGORY:
            self.db.conn.execute("UPDATE terms SET parent = ? WHERE parent = ? AND taxonomy = ?",
                                 (term["parent"], term["id"], CATEGORY))

    def _unique_slug(self, taxonomy: str, slug: str, own_id: int = 0) -> str:
        candidate, n = slug, 1
        while True:
            row = self.db.conn.execute("SELECT id FROM terms WHERE taxonomy = ? AND slug = ?",
                                       (taxonomy, candidate)).fetchone()
            if row is None or row[0] == own_id:
                return candidate
            n += 1
            candidate = f"{slug}-{n}"

    def count(self, term: dict) -> int:
        key = {CATEGORY: "categories", TAG: "tags"}.get(term["taxonomy"])
        if key is None:
            return 0
        # json_each over the product documents: counts published/draft products using the term.
        return self.db.conn.execute(
            f"SELECT COUNT(*) FROM posts, json_each(posts.doc, '$.{key}') WHERE posts.kind = 'product'"
            " AND posts.status != 'trash' AND json_each.value = ?", (term["id"],)).fetchone()[0]

    def render_term(self, term: dict, route: str) -> dict:
        base = f"{self.base_url()}/wp-json/wc/v3/{route}"
        if term["taxonomy"] == CATEGORY:
            doc = {"id": term["id"], "name": term["name"], "slug": term["slug"], "parent": term["parent"],
                   "description": term.get("description", ""), "display": term.get("display", "default"),
                   "image": term.get("image"), "menu_order": term.get("menu_order", 0), "count": self.count(term)}
        elif term["taxonomy"] in (TAG, SHIPPING_CLASS):
            doc = {"id": term["id"], "name": term["name"], "slug": term["slug"],
                   "description": term.get("description", ""), "count": self.count(term)}
        else:
            doc = {"id": term["id"], "name": term["name"], "slug": term["slug"],
                   "description": term.get("description", ""), "menu_order": term.get("menu_order", 0), "count": 0}
        links = {"self": [{"href": f"{base}/{term['id']}"}], "collection": [{"href": base}]}
        if term.get("parent"):
            links["up"] = [{"href": f"{base}/{term['parent']}"}]
        doc["_links"] = links
        return doc

    # -- what products reference ---------------------------------------------------------
    def shipping_class(self, slug: Any) -> dict[str, Any] | None:
        """A product's `shipping_class` is a slug; an unknown one is dropped without a word (recordings/30)."""
        wanted = str(slug or "").strip().lower()
        return next((t for t in self.db.terms(SHIPPING_CLASS) if t["slug"] == wanted), None) if wanted else None

    def product_categories(self, specs: Any) -> list[int]:
        """Only `id` is read; unknown ids and names are ignored; none left -> Uncategorized."""
        ids = []
        for spec in specs or []:
            if isinstance(spec, dict) and spec.get("id"):
                try:
                    term = self.db.get_term(int(spec["id"]), CATEGORY)
                except (TypeError, ValueError):
                    term = None
                if term and term["id"] not in ids:
                    ids.append(term["id"])
        return ids or [UNCATEGORIZED_ID]

    def product_tags(self, specs: Any) -> list[int]:
        """`name` (looked up case-insensitively, created when missing) wins over `id`; `slug` is
        ignored; a single unknown id makes the whole assignment fail silently (no tags)."""
        ids = []
        for spec in specs or []:
            if not isinstance(spec, dict):
                continue
            term: dict[str, Any] | None
            if spec.get("name"):
                term = self.find_by_name(TAG, spec["name"]) or self.create_term(TAG, {"name": spec["name"]})
            elif spec.get("id"):
                try:
                    term = self.db.get_term(int(spec["id"]), TAG)
                except (TypeError, ValueError):
                    term = None
                if term is None:
                    return []
            else:
                continue
            if term["id"] not in ids:
                ids.append(term["id"])
        return ids

    def category_refs(self, ids: Iterable[int]) -> list[dict[str, Any]]:
        terms = (self.db.get_term(i) for i in ids)
        return [{"id": t["id"], "name": t["name"], "slug": t["slug"]} for t in terms if t]

    # -- global attributes ---------------------------------------------------------------
    def create_attribute(self, body: dict) -> dict:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise RestError("rest_missing_callback_param", "Missing parameter(s): name", 400, params=["name"])
        slug = sanitize_title(body.get("slug") or name)[:28]
        if slug.startswith("pa_"):
            slug = slug[3:]
        if self.db.conn.execute("SELECT 1 FROM attributes WHERE slug = ?", (slug,)).fetchone():
            raise RestError("woocommerce_rest_cannot_create", f'Slug "{slug}" is already in use. Change it, please.',
                            400)
        attr = {"id": self.db.next_id("attribute"), "name": name.strip(), "slug": slug,
                "type": body.get("type") or "select", "order_by": body.get("order_by") or "menu_order",
                "has_archives": bool(body.get("has_archives", False))}
        self.db.save_attribute(attr)
        return attr

    def update_attribute(self, attr: dict, body: dict) -> dict:
        if body.get("slug"):
            slug = sanitize_title(body["slug"])[:28].removeprefix("pa_")
            row = self.db.conn.execute("SELECT id FROM attributes WHERE slug = ?", (slug,)).fetchone()
            if row and row[0] != attr["id"]:
                raise RestError("woocommerce_rest_cannot_edit",
                                f'Slug "{slug}" is already in use. Change it, please.', 400)
            attr["slug"] = slug
        for key in ("name", "type", "order_by"):
            if body.get(key):
                attr[key] = str(body[key])
        if "has_archives" in body:
            attr["has_archives"] = bool(body["has_archives"])
        self.db.save_attribute(attr)
        return attr

    def render_attribute(self, attr: dict) -> dict:
        base = f"{self.base_url()}/wp-json/wc/v3/products/attributes"
        return {"id": attr["id"], "name": attr["name"], "slug": f"pa_{attr['slug']}", "type": attr["type"],
                "order_by": attr["order_by"], "has_archives": attr["has_archives"],
                "_links": {"self": [{"href": f"{base}/{attr['id']}"}], "collection": [{"href": base}]}}

    def ensure_attribute_terms(self, attr_id: int, options: list[str]) -> list[str]:
        """A product referencing a global attribute creates the missing option terms on save;
        the answer lists the term names in term order (by name)."""
        taxonomy = attr_taxonomy(attr_id)
        names = []
        for option in options:
            option = str(option)
            term = self.find_by_name(taxonomy, option)
            if term is None:
                found = self.db.conn.execute("SELECT id FROM terms WHERE taxonomy = ? AND slug = ?",
                                             (taxonomy, sanitize_title(option))).fetchone()
                term = (self.db.get_term(found[0]) if found else None) or self.create_term(taxonomy, {"name": option})
            if term["name"] not in names:
                names.append(term["name"])
        return sorted(names, key=str.lower)

    def term_slug(self, attr_id: int, option: str) -> str:
        term = self.find_by_name(attr_taxonomy(attr_id), option)
        return term["slug"] if term else sanitize_title(option)
