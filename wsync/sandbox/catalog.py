"""Products and variations: the rules a WooCommerce 9.4 store applies on save, and the
`context=edit` answer shapes recorded from a real store."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from wsync.sandbox.db import Database
from wsync.sandbox.media import Media
from wsync.sandbox.rest_error import RestError, invalid_id, invalid_param
from wsync.sandbox.taxonomy import Taxonomy
from wsync.sandbox.text import autop, format_decimal, sanitize_title, stock_amount, to_float

PRODUCT_TYPES = ("simple", "grouped", "external", "variable")
POST_STATUSES = ("draft", "pending", "private", "publish", "future")

_PRODUCT_DEFAULTS = {
    "featured": False, "catalog_visibility": "visible", "description": "", "short_description": "",
    "regular_price": "", "sale_price": "", "virtual": False, "downloadable": False, "external_url": "",
    "button_text": "", "tax_status": "taxable", "tax_class": "", "manage_stock": False, "stock_quantity": None,
    "stock_status": "instock", "backorders": "no", "low_stock_amount": None, "sold_individually": False,
    "weight": "", "dimensions": {"length": "", "width": "", "height": ""}, "shipping_class": "",
    "reviews_allowed": True, "purchase_note": "", "categories": [], "tags": [], "images": [], "attributes": [],
    "default_attributes": [], "meta_data": [], "upsell_ids": [], "cross_sell_ids": [], "grouped_products": [],
    "downloads": [], "download_limit": -1, "download_expiry": -1, "date_on_sale_from": None, "date_on_sale_to": None,
    "shipping_class_id": 0,
}
_VARIATION_DEFAULTS = {
    "description": "", "regular_price": "", "sale_price": "", "virtual": False, "downloadable": False,
    "tax_status": "taxable", "tax_class": "", "manage_stock": False, "stock_quantity": None, "stock_status": "instock",
    "backorders": "no", "low_stock_amount": None, "weight": "", "dimensions": {"length": "", "width": "", "height": ""},
    "shipping_class": "", "image": None, "attributes": [], "meta_data": [],
    "downloads": [], "download_limit": -1, "download_expiry": -1, "date_on_sale_from": None, "date_on_sale_to": None,
    "shipping_class_id": 0,
}
_PLAIN_FIELDS = {
    "description": str, "short_description": str, "featured": bool, "catalog_visibility": str, "virtual": bool,
    "downloadable": bool, "external_url": str, "button_text": str, "tax_status": str, "tax_class": str,
    "backorders": str, "sold_individually": bool, "weight": str, "reviews_allowed": bool,
    "purchase_note": str, "manage_stock": bool, "menu_order": int,
}


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class Catalog:
    def __init__(self, db: Database, taxonomy: Taxonomy, media: Media, base_url: Callable[[], str]):
        self.db = db
        self.tax = taxonomy
        self.media = media
        self.base_url = base_url

    # ================================================================== validation
    @staticmethod
    def validate_single(body: dict, variation: bool = False) -> None:
        """Schema checks a single request gets and a batch item skips (recordings/23)."""
        for key in ("regular_price", "sale_price", "sku", "name"):
            if key in body and body[key] is not None and not isinstance(body[key], str):
                raise invalid_param(key, f"{key} is not of type string.", "rest_invalid_type", {"param": key})
        if "status" in body:
            allowed = ("draft", "pending", "private", "publish") if variation else POST_STATUSES
            if body["status"] not in allowed:
                raise invalid_param("status", f"status is not one of {', '.join(allowed[:-1])}, and {allowed[-1]}.",
                                    "rest_not_in_enum")

    # ================================================================== SKUs
    def _check_sku(self, sku: str, own_id: int) -> None:
        if not sku:
            return
        holder = self.db.sku_holder(sku, own_id)
        if holder is not None:
            n = 1
            while self.db.sku_holder(f"{sku}-{n}") is not None:
                n += 1
            raise RestError("product_invalid_sku", "Invalid or duplicated SKU.", 400, resource_id=holder,
                            unique_sku=f"{sku}-{n}")

    def _check_sku_lock(self, sku: str) -> None:
        """WooCommerce 9.3+: a REST product create takes a lookup-table lock on its SKU, which a
        trashed product still holds."""
        if sku and self.db.count_posts("sku = ? AND status = 'trash' AND kind IN ('product','variation')", (sku,)):
            raise RestError("woocommerce_rest_product_not_created",
                            f"The product with SKU ({sku}) you are trying to insert is already present in the lookup "
                            "table",
                            400)

    # ================================================================== products: write
    def create_product(self, body: dict) -> dict:
        return self.insert_product(self.prepare_product(body))

    def prepare_product(self, body: dict) -> dict:
        """A create's first step: every check (SKU included) and the side effects (tags, terms,
        image downloads). Nothing holds the SKU until `insert_product()`, which checks nothing
        again: two creates of one SKU prepared before either is inserted are both saved, as on
        a real store (recordings/27)."""
        if body.get("id"):
            raise RestError("woocommerce_rest_product_exists", "Cannot create existing product.", 400)
        now = self.db.now()
        post: dict[str, Any] = {
            "id": 0, "kind": "product", "parent_id": 0, "type": "simple", "status": "publish", "sku": "",
            "name": "", "slug": "", "date_created": now, "date_modified": now, "menu_order": 0,
            **copy.deepcopy(_PRODUCT_DEFAULTS)}
        self._apply_product(post, body, creating=True)
        post["_slug_source"] = sanitize_title(body.get("slug") or post["name"])
        return post

    def insert_product(self, post: dict) -> dict:
        post["id"] = self.db.next_id("post")
        post["date_created"] = post["date_modified"] = self.db.now()
        post["slug"] = self._unique_slug(post.pop("_slug_source") or str(post["id"]), post["id"])
        self._finish_product(post)
        self.db.save_post(post)
        return post

    def update_product(self, product_id: Any, body: dict) -> dict:
        post = self._product_for_write(product_id, 400)
        before_status = post["status"]
        self._apply_product(post, body, creating=False)
        post["date_modified"] = self.db.now()
        if body.get("slug"):
            post["slug"] = self._unique_slug(sanitize_title(body["slug"]), post["id"])
        if before_status == "trash" and post["status"] != "trash":
            self._untrash(post)
        self._finish_product(post)
        self.db.save_post(post)
        return post

    def delete_product(self, product_id: Any, force: bool) -> dict:
        """Returns the answer: the product as it was before the delete."""
        post = self._product_for_write(product_id, 404)
        answer = self.render_product(post)
        if force:
            for child in self.db.query_posts("kind = 'variation' AND parent_id = ?", (post["id"],)):
                self.db.delete_post(child["id"])
            self.db.delete_post(post["id"])
            return answer
        if post["status"] == "trash":
            raise RestError("woocommerce_rest_already_trashed", "The product has already been deleted.", 410)
        post["pre_trash_status"] = post["status"]
        post["status"] = "trash"
        post["slug"] = post["slug"] + "__trashed"
        post["date_modified"] = self.db.now()
        self.db.save_post(post)
        for child in self.db.query_posts("kind = 'variation' AND parent_id = ? AND status != 'trash'", (post["id"],)):
            child["pre_trash_status"] = child["status"]
            child["status"] = "trash"
            self.db.save_post(child)
        return answer

    def _untrash(self, post: dict) -> None:
        post["slug"] = post["slug"].removesuffix("__trashed")
        post.pop("pre_trash_status", None)
        for child in self.db.query_posts("kind = 'variation' AND parent_id = ? AND status = 'trash'", (post["id"],)):
            child["status"] = child.pop("pre_trash_status", "publish")
            self.db.save_post(child)

    def get_product_post(self, product_id: Any) -> dict:
        try:
            post = self.db.get_post(int(product_id))
        except (TypeError, ValueError):
            post = None
        if post is None or post["kind"] not in ("product", "variation"):
            raise invalid_id(404)
        return post

    def _product_for_write(self, product_id: Any, missing_status: int) -> dict:
        try:
            post = self.db.get_post(int(product_id))
        except (TypeError, ValueError):
            post = None
        if post is None or post["kind"] not in ("product", "variation"):
            raise invalid_id(missing_status)
        if post["kind"] == "variation":
            raise RestError("woocommerce_rest_invalid_product_id",
                            "To manipulate product variations you should use the "
                            "/products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.",
                            404)
        return post

    def _unique_slug(self, slug: str, own_id: int) -> str:
        candidate, n = slug, 1
        while True:
            row = self.db.conn.execute("SELECT id FROM posts WHERE kind = 'product' AND slug = ? AND id != ?",
                                       (candidate, own_id)).fetchone()
            if row is None:
                return candidate
            n += 1
            candidate = f"{slug}-{n}"

    def _apply_product(self, post: dict, body: dict, creating: bool) -> None:
        if "name" in body:
            post["name"] = str(body["name"] or "")
        if "type" in body or creating:
            ptype = body.get("type") or post.get("type") or "simple"
            post["type"] = ptype if ptype in PRODUCT_TYPES else "simple"
        if body.get("status"):
            status = str(body["status"])
            post["status"] = status if status in POST_STATUSES or status == "trash" else "publish"
        if "sku" in body:
            sku = str(body["sku"] or "").strip()
            self._check_sku(sku, post["id"])
            if creating:
                self._check_sku_lock(sku)
            post["sku"] = sku
        self._apply_common(post, body)
        if "categories" in body:
            post["categories"] = self.tax.product_categories(body["categories"])
        elif creating:
            post["categories"] = self.tax.product_categories([])
        if "tags" in body:
            post["tags"] = self.tax.product_tags(body["tags"])
        if "attributes" in body:
            post["attributes"] = self._product_attributes(body["attributes"] or [])
        if "default_attributes" in body:
            post["default_attributes"] = [
                {"id": int(a.get("id") or 0), "name": str(a.get("name") or ""), "option": str(a.get("option") or "")}
                for a in body["default_attributes"] or [] if isinstance(a, dict)]
        for key in ("upsell_ids", "cross_sell_ids", "grouped_products"):
            # Stored as sent, never checked: an unknown id, a variation's, the product's own (recordings/29, 30).
            if key in body:
                post[key] = [int(i) for i in body[key] or [] if str(i).isdigit()]
        if post["type"] == "external" and post["manage_stock"]:
            # Asked for: refused. Left from a product that became external: dropped (recordings/29).
            if body.get("manage_stock") in (True, "true", "1", 1):
                raise RestError("product_external_invalid_manage_stock", "External products cannot be stock managed.",
                                400)
            post["manage_stock"] = False
        if "images" in body:
            # Downloads happen last, after every other check: a failure leaves earlier
            # attachments behind (orphans) and the product unsaved.
            parent = 0 if creating else post["id"]
            post["images"] = [self.media.resolve(spec, parent, "woocommerce_product_image_upload_error")
                              for spec in body["images"] or []]

    def _apply_common(self, post: dict, body: dict) -> None:
        for key, kind in _PLAIN_FIELDS.items():
            if (key in body and key in post) or (key in body and key == "menu_order"):
                value = body[key]
                post[key] = _bool(value) if kind is bool else (int(value or 0) if kind is int else str(value or ""))
        for key in ("regular_price", "sale_price"):
            if key in body:
                post[key] = format_decimal(body[key])
        if "stock_quantity" in body:
            post["stock_quantity"] = stock_amount(body["stock_quantity"])
        if "stock_status" in body and body["stock_status"] in ("instock", "outofstock", "onbackorder"):
            post["stock_status"] = body["stock_status"]
        if "low_stock_amount" in body:
            post["low_stock_amount"] = stock_amount(body["low_stock_amount"])
        if isinstance(body.get("dimensions"), dict):
            for dim in ("length", "width", "height"):
                if dim in body["dimensions"]:
                    post["dimensions"][dim] = format_decimal(body["dimensions"][dim])
        if "weight" in body:
            post["weight"] = format_decimal(body["weight"])
        if "meta_data" in body and isinstance(body["meta_data"], list):
            self._apply_meta(post, body["meta_data"])
        if "shipping_class" in body:
            # A slug; an unknown one clears the class without a word (recordings/30).
            term = self.tax.shipping_class(body["shipping_class"])
            post["shipping_class"], post["shipping_class_id"] = (term["slug"], term["id"]) if term else ("", 0)
        for key in ("download_limit", "download_expiry"):
            if key in body:
                post[key] = abs(int(body[key])) if body[key] not in (None, "") else -1
        for key in ("date_on_sale_from", "date_on_sale_to"):
            if key in body:
                post[key] = _sale_date(body[key])
        if "downloads" in body and isinstance(body["downloads"], list):
            post["downloads"] = [{"id": str(d.get("id") or _download_id(str(d.get("file") or ""))),
                                  "name": str(d.get("name") or ""), "file": str(d.get("file") or "")}
                                 for d in body["downloads"] if isinstance(d, dict) and d.get("file")]
        if not post.get("downloadable"):
            post["downloads"] = []  # downloads without downloadable: true are dropped

    def _apply_meta(self, post: dict, items: list) -> None:
        meta = post.setdefault("meta_data", [])
        for item in items:
            if not isinstance(item, dict) or not item.get("key"):
                continue
            existing = next((m for m in meta if (item.get("id") and m["id"] == item["id"]) or m["key"] == item["key"]),
                            None)
            if existing is not None:
                if item.get("value") is None:
                    meta.remove(existing)
                else:
                    existing["value"] = item["value"]
            elif item.get("value") is not None:
                meta.append({"id": self.db.next_id("meta"), "key": str(item["key"]), "value": item["value"]})

    def _product_attributes(self, specs: list) -> list[dict]:
        result = []
        for position, spec in enumerate(specs):
            if not isinstance(spec, dict):
                continue
            options = spec.get("options", [])
            if isinstance(options, str):
                options = [o.strip() for o in options.split("|")]
            options = [str(o).strip() for o in options or [] if str(o).strip()]
            entry: dict[str, Any] = {"position": int(spec.get("position", position) or 0),
                                     "visible": _bool(spec.get("visible", False)),
                                     "variation": _bool(spec.get("variation", False))}
            attr_id = int(spec.get("id") or 0)
            if attr_id:
                attr = self.db.get_attribute(attr_id)
                if attr is None or not options:
                    continue  # unknown global attribute, or one with no options: dropped
                entry.update(id=attr_id, name=attr["name"], options=self.tax.ensure_attribute_terms(attr_id, options))
            else:
                name = str(spec.get("name") or "").strip()
                if not name:
                    continue
                entry.update(id=0, name=name, options=options)
            result.append(entry)
        return result

    def _finish_product(self, post: dict) -> None:
        _normalise_prices(post, variable=post["type"] in ("variable", "grouped"))
        _normalise_stock(post)

    # ================================================================== variations: write
    def parent_for_variations(self, product_id: Any) -> dict:
        try:
            parent = self.db.get_post(int(product_id), "product")
        except (TypeError, ValueError):
            parent = None
        if parent is None:
            raise RestError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return parent

    def get_variation(self, parent: dict, variation_id: Any, missing_status: int = 404) -> dict:
        try:
            post = self.db.get_post(int(variation_id), "variation")
        except (TypeError, ValueError):
            post = None
        if post is None:
            raise RestError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", missing_status)
        return post

    def create_variation(self, parent: dict, body: dict) -> dict:
        return self.insert_variation(parent, self.prepare_variation(parent, body))

    def prepare_variation(self, parent: dict, body: dict) -> dict:
        """As `prepare_product()`: the checks; `insert_variation()` saves without checking again."""
        if body.get("id"):
            raise RestError("woocommerce_rest_product_variation_exists", "Cannot create existing product_variation.",
                            400)
        now = self.db.now()
        post: dict[str, Any] = {
            "id": 0, "kind": "variation", "parent_id": parent["id"], "type": "variation", "status": "publish",
            "sku": "", "name": "", "slug": "", "date_created": now, "date_modified": now, "menu_order": 0,
            **copy.deepcopy(_VARIATION_DEFAULTS)}
        self._apply_variation(parent, post, body, creating=True)
        return post

    def insert_variation(self, parent: dict, post: dict) -> dict:
        post["id"] = self.db.next_id("post")
        post["date_created"] = post["date_modified"] = self.db.now()
        self._finish_variation(parent, post)
        self.db.save_post(post)
        self._touch_parent(parent)
        return post

    def update_variation(self, parent: dict, variation_id: Any, body: dict) -> dict:
        post = self.get_variation(parent, variation_id, 400)
        if post["parent_id"] != parent["id"]:
            raise RestError("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource.", 400)
        self._apply_variation(parent, post, body, creating=False)
        post["date_modified"] = self.db.now()
        self._finish_variation(parent, post)
        self.db.save_post(post)
        self._touch_parent(parent)
        return post

    def delete_variation(self, parent: dict, variation_id: Any, force: bool) -> dict:
        post = self.get_variation(parent, variation_id, 404)
        if post["parent_id"] != parent["id"]:
            raise RestError("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource.",
                            401)
        answer = self.render_variation(post, parent)
        if force:
            self.db.delete_post(post["id"])
        else:
            if post["status"] == "trash":
                raise RestError("woocommerce_rest_already_trashed", "The product_variation has already been deleted.",
                                410)
            post["pre_trash_status"] = post["status"]
            post["status"] = "trash"
            self.db.save_post(post)
        self._touch_parent(parent)
        return answer

    def _touch_parent(self, parent: dict) -> None:
        """A variation save syncs the parent (price lookup, date_modified)."""
        fresh = self.db.get_post(parent["id"])
        if fresh is not None:
            fresh["date_modified"] = self.db.now()
            self.db.save_post(fresh)

    def _apply_variation(self, parent: dict, post: dict, body: dict, creating: bool) -> None:
        if "sku" in body:
            sku = str(body["sku"] or "").strip()
            self._check_sku(sku, post["id"])
            post["sku"] = sku
        if "status" in body and body["status"] in ("draft", "pending", "private", "publish"):
            post["status"] = body["status"]
        self._apply_common(post, body)
        if "attributes" in body:
            post["attributes"] = self._variation_attributes(parent, body["attributes"] or [])
        if "image" in body:
            spec = body["image"]
            if not spec:
                post["image"] = None
            else:
                parent_id = 0 if creating else post["id"]
                code = "woocommerce_variation_image_upload_error"
                try:
                    post["image"] = self.media.resolve(spec, parent_id, code)
                except RestError as err:
                    if err.code == "woocommerce_product_image_upload_error":
                        err.code = code
                    raise

    def _variation_attributes(self, parent: dict, specs: list) -> list[dict]:
        """Only attributes the parent marks `variation: true` are kept; others are silently
        dropped ("Any"). A global attribute matches by id only; options are not checked."""
        result = []
        for spec in specs:
            if not isinstance(spec, dict):
                continue
            option = str(spec.get("option") or "")
            attr_id = int(spec.get("id") or 0)
            if attr_id:
                match = next((a for a in parent.get("attributes", []) if a["id"] == attr_id and a["variation"]), None)
                if match is None:
                    continue
                result.append({"id": attr_id, "name": match["name"], "option": self.tax.term_slug(attr_id, option)})
            else:
                key = sanitize_title(spec.get("name") or "")
                match = next((a for a in parent.get("attributes", [])
                              if a["id"] == 0 and sanitize_title(a["name"]) == key and a["variation"]), None)
                if match is None or not key:
                    continue
                result.append({"id": 0, "name": match["name"], "option": option})
        return result

    def _finish_variation(self, parent: dict, post: dict) -> None:
        _normalise_prices(post, variable=False)
        _normalise_stock(post)
        values = [self._option_label(a) for a in post["attributes"] if a["option"]]
        post["name"] = parent["name"] + (" - " + ", ".join(values) if values else "")
        post["slug"] = sanitize_title(post["name"])

    def _option_label(self, attr: dict) -> str:
        if attr["id"]:
            row = self.db.conn.execute("SELECT name FROM terms WHERE taxonomy = ? AND slug = ?",
                                       (f"pa:{attr['id']}", attr["option"])).fetchone()
            return row[0] if row else attr["option"]
        return attr["option"]

    # ================================================================== rendering
    def permalink(self, post: dict) -> str:
        if post["status"] == "trash":
            return f"{self.base_url()}/?post_type=product&p={post['id']}"
        return f"{self.base_url()}/product/{post['slug']}/"

    def _images(self, ids: list) -> list[dict]:
        out = []
        for att_id in ids:
            att = self.media.get(att_id)
            if att is not None:
                out.append(self.media.render(att))
        return out

    def _children(self, parent_id: int, live_only: bool = True) -> list[dict]:
        where = "kind = 'variation' AND parent_id = ?" + (" AND status != 'trash'" if live_only else "")
        return self.db.query_posts(where, (parent_id,), "menu_order ASC, id ASC")

    def render_product(self, post: dict, fresh_read: bool = False) -> dict:
        if post["kind"] == "variation":
            parent = self.db.get_post(post["parent_id"]) or {"id": post["parent_id"], "name": "", "slug": "",
                                                             "status": "publish", "attributes": []}
            return self._variation_as_product(post, parent, fresh_read)
        base = self.base_url()
        variable = post["type"] == "variable"
        children = self._children(post["id"]) if variable else []
        price, regular, sale = post.get("price", ""), post["regular_price"], post["sale_price"]
        on_sale = _on_sale(post)
        if variable:
            prices = [c["price"] for c in children if c.get("price") not in ("", None) and c["status"] == "publish"]
            price = min(prices, key=float) if prices else ""
            on_sale = any(_on_sale(c) for c in children)
        stock_status = post["stock_status"]
        if variable:
            stock_status = "instock" if any(c["stock_status"] == "instock" for c in children) else "outofstock"
        description = autop(post["description"]) if fresh_read else post["description"]
        short = autop(post["short_description"]) if fresh_read else post["short_description"]
        doc = {
            "id": post["id"], "name": post["name"], "slug": post["slug"], "permalink": self.permalink(post),
            "date_created": post["date_created"], "date_created_gmt": post["date_created"],
            "date_modified": post["date_modified"], "date_modified_gmt": post["date_modified"],
            "type": post["type"], "status": post["status"], "featured": post["featured"],
            "catalog_visibility": post["catalog_visibility"], "description": description, "short_description": short,
            "sku": post["sku"], "price": price, "regular_price": regular, "sale_price": sale,
            **_sale_dates(post),
            "on_sale": on_sale, "purchasable": price != "", "total_sales": 0, "virtual": post["virtual"],
            "downloadable": post["downloadable"], "downloads": [dict(d) for d in post.get("downloads", [])],
            "download_limit": post.get("download_limit", -1), "download_expiry": post.get("download_expiry", -1),
            "external_url": post["external_url"], "button_text": post["button_text"], "tax_status": post["tax_status"],
            "tax_class": post["tax_class"], "manage_stock": post["manage_stock"],
            "stock_quantity": post["stock_quantity"],
            "backorders": post["backorders"], "backorders_allowed": post["backorders"] != "no",
            "backordered": False, "low_stock_amount": post["low_stock_amount"],
            "sold_individually": post["sold_individually"], "weight": post["weight"],
            "dimensions": dict(post["dimensions"]), "shipping_required": not post["virtual"],
            "shipping_taxable": post["tax_status"] in ("taxable", "shipping"), "shipping_class": post["shipping_class"],
            "shipping_class_id": post.get("shipping_class_id", 0), "reviews_allowed": post["reviews_allowed"],
            "average_rating": "0", "rating_count": 0,
            "upsell_ids": post["upsell_ids"], "cross_sell_ids": post["cross_sell_ids"], "parent_id": 0,
            "purchase_note": post["purchase_note"], "categories": self.tax.category_refs(post["categories"]),
            "tags": self.tax.category_refs(post["tags"]), "images": self._images(post["images"]),
            "attributes": [dict(a) for a in post["attributes"]], "default_attributes": post["default_attributes"],
            "variations": [c["id"] for c in children], "grouped_products": list(post.get("grouped_products", [])),
            "menu_order": post["menu_order"],
            "price_html": _price_html(price, regular, sale, on_sale), "related_ids": [],
            "meta_data": post["meta_data"], "stock_status": stock_status,
            "has_options": variable or bool(post["attributes"]), "post_password": "",
            "_links": {"self": [{"href": f"{base}/wp-json/wc/v3/products/{post['id']}"}],
                       "collection": [{"href": f"{base}/wp-json/wc/v3/products"}]},
        }
        return doc

    def _variation_query(self, post: dict, parent: dict) -> str:
        parts = []
        for attr in post["attributes"]:
            if attr["id"]:
                a = self.db.get_attribute(attr["id"])
                key = f"pa_{a['slug']}" if a else f"pa_{attr['id']}"
            else:
                key = sanitize_title(attr["name"])
            parts.append(f"attribute_{key}={attr['option']}")
        link = self.permalink(parent)
        return link + ("?" + "&".join(parts) if parts else "")

    def _variation_attrs_out(self, post: dict) -> list[dict]:
        return [{"id": a["id"], "name": a["name"], "option": self._option_label(a)} for a in post["attributes"]]

    def _variation_as_product(self, post: dict, parent: dict, fresh_read: bool) -> dict:
        """A variation found by `/products?sku=`: product shape with type "variation" and parent_id."""
        base = self.base_url()
        doc = self.render_product({**post, "kind": "product", "type": "variation", "short_description": "",
                                   "featured": False, "catalog_visibility": "visible", "external_url": "",
                                   "button_text": "", "sold_individually": False, "reviews_allowed": False,
                                   "purchase_note": "", "categories": [], "tags": [],
                                   "images": [post["image"]] if post.get("image") else [],
                                   "default_attributes": [], "upsell_ids": [], "cross_sell_ids": [],
                                   "grouped_products": []}, fresh_read)
        doc["permalink"] = self._variation_query(post, parent)
        doc["attributes"] = self._variation_attrs_out(post)
        doc["parent_id"] = post["parent_id"]
        doc["has_options"] = False
        doc["average_rating"] = "0.00"
        doc["_links"]["up"] = [{"href": f"{base}/wp-json/wc/v3/products/{post['parent_id']}"}]
        return doc

    def render_variation(self, post: dict, parent: dict | None = None, fresh_read: bool = False) -> dict:
        parent = parent or self.db.get_post(post["parent_id"]) or {"id": post["parent_id"], "slug": "",
                                                                   "status": "publish"}
        base = self.base_url()
        image = self.media.get(post["image"]) if post.get("image") else None
        on_sale = _on_sale(post)
        return {
            "id": post["id"], "date_created": post["date_created"], "date_created_gmt": post["date_created"],
            "date_modified": post["date_modified"], "date_modified_gmt": post["date_modified"],
            "description": autop(post["description"]) if fresh_read else post["description"],
            # Without a SKU of its own a variation answers its parent's (recordings/31).
            "permalink": self._variation_query(post, parent), "sku": post["sku"] or parent.get("sku", ""),
            "price": post.get("price", ""),
            "regular_price": post["regular_price"], "sale_price": post["sale_price"],
            **_sale_dates(post),
            "on_sale": on_sale, "status": post["status"], "purchasable": post.get("price", "") != "",
            "virtual": post["virtual"], "downloadable": post["downloadable"],
            "downloads": [dict(d) for d in post.get("downloads", [])], "download_limit": post.get("download_limit", -1),
            "download_expiry": post.get("download_expiry", -1), "tax_status": post["tax_status"],
            "tax_class": post["tax_class"],
            "manage_stock": post["manage_stock"], "stock_quantity": post["stock_quantity"],
            "stock_status": post["stock_status"], "backorders": post["backorders"],
            "backorders_allowed": post["backorders"] != "no", "backordered": False,
            "low_stock_amount": post["low_stock_amount"], "weight": post["weight"],
            "dimensions": dict(post["dimensions"]),
            "shipping_class": post["shipping_class"], "shipping_class_id": post.get("shipping_class_id", 0),
            "image": self.media.render(image) if image else None, "attributes": self._variation_attrs_out(post),
            "menu_order": post["menu_order"], "meta_data": post["meta_data"],
            "_links": {"self": [{"href": f"{base}/wp-json/wc/v3/products/{parent['id']}/variations/{post['id']}"}],
                       "collection": [{"href": f"{base}/wp-json/wc/v3/products/{parent['id']}/variations"}],
                       "up": [{"href": f"{base}/wp-json/wc/v3/products/{parent['id']}"}]},
        }


def _sale_date(value: Any) -> str | None:
    """WooCommerce reads a sale date with strtotime: a date alone is midnight, an unreadable one is
    stored as no date without an error (recordings/30)."""
    import re

    m = re.match(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?))?", str(value or ""))
    if not m:
        return None
    clock = m.group(2) or "00:00:00"
    return f"{m.group(1)}T{clock if clock.count(':') == 2 else clock + ':00'}"


def _sale_dates(post: dict) -> dict:
    start, end = post.get("date_on_sale_from"), post.get("date_on_sale_to")
    return {"date_on_sale_from": start, "date_on_sale_from_gmt": start, "date_on_sale_to": end,
            "date_on_sale_to_gmt": end}


def _download_id(file: str) -> str:
    import hashlib

    return hashlib.md5(file.encode()).hexdigest()  # WooCommerce names a new download by its file's md5


def _on_sale(post: dict) -> bool:
    sale, regular = to_float(post.get("sale_price")), to_float(post.get("regular_price"))
    return sale is not None and regular is not None and sale < regular


def _normalise_prices(post: dict, variable: bool) -> None:
    """Variable/grouped parents hold no prices; a sale price not below the regular price is blanked."""
    if variable:
        post["regular_price"] = post["sale_price"] = post["price"] = ""
        return
    sale, regular = to_float(post["sale_price"]), to_float(post["regular_price"])
    if post["sale_price"] != "" and (regular is None or sale is None or sale >= regular):
        post["sale_price"] = ""
    post["price"] = post["sale_price"] if post["sale_price"] != "" else post["regular_price"]


def _normalise_stock(post: dict) -> None:
    if post["manage_stock"] and post["stock_quantity"] is not None:
        if post["stock_quantity"] > 0:
            post["stock_status"] = "instock"
        else:
            post["stock_status"] = "onbackorder" if post["backorders"] != "no" else "outofstock"
    if not post["manage_stock"]:
        post["stock_quantity"] = None


def _money(value: str) -> str:
    amount = to_float(value) or 0.0
    return ('<span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">'
            f"&#36;</span>{amount:.2f}</bdi></span>")


def _price_html(price: str, regular: str, sale: str, on_sale: bool) -> str:
    if price == "":
        return ""
    if on_sale and regular:
        return f'<del aria-hidden="true">{_money(regular)}</del> <ins>{_money(sale)}</ins>'
    return _money(price)
