"""Variations, categories, tags, global attributes and terms (recordings 05, 06, 13-16, 19)."""

from __future__ import annotations


def _variable(api, sku="V", attributes=None):
    attrs = attributes or [{"name": "Size", "options": ["S", "M"], "variation": True},
                           {"name": "Material", "options": ["Cotton"], "variation": False}]
    resp = api.post("products", {"name": "Tee", "type": "variable", "sku": sku, "attributes": attrs})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_variation_attribute_rules(woo_api):
    parent = _variable(woo_api)
    base = f"products/{parent['id']}/variations"
    both = woo_api.post(base, {"sku": "V-S", "regular_price": "10", "attributes": [
        {"name": "Size", "option": "S"}, {"name": "Material", "option": "Cotton"}]}).json()
    assert both["attributes"] == [{"id": 0, "name": "Size", "option": "S"}]
    assert both["permalink"].endswith("/product/tee/?attribute_size=S")
    red = woo_api.post(base, {"sku": "V-C", "attributes": [{"name": "Color", "option": "Red"}]}).json()
    assert red["attributes"] == []
    xl = woo_api.post(base, {"sku": "V-XL", "attributes": [{"name": "Size", "option": "XL"}]}).json()
    assert xl["attributes"][0]["option"] == "XL"
    dup = woo_api.post(base, {"sku": "V-S"})
    assert dup.json()["data"]["resource_id"] == both["id"]
    assert woo_api.post("products", {"name": "x", "sku": "V-S"}).json()["code"] == "product_invalid_sku"
    got = woo_api.get(f"products/{parent['id']}").json()
    assert len(got["variations"]) == 3 and got["price"] == "10"
    missing = woo_api.get(f"{base}/99999999")
    assert (missing.status_code, missing.json()["code"]) == (404, "woocommerce_rest_product_variation_invalid_id")
    other = _variable(woo_api, sku="W")
    wrong = woo_api.put(f"products/{other['id']}/variations/{both['id']}", {"regular_price": "1"})
    assert wrong.json()["code"] == "woocommerce_rest_cannot_edit"


def test_global_attribute_by_id_creates_terms(woo_api):
    attr = woo_api.post("products/attributes", {"name": "RS Size"}).json()
    assert attr["slug"] == "pa_rs-size"
    dup = woo_api.post("products/attributes", {"name": "rs size"})
    assert dup.status_code == 400 and dup.json() == {"code": "woocommerce_rest_cannot_create",
                                                     "message": 'Slug "rs-size" is already in use. Change it, please.',
                                                     "data": {"status": 400}}
    parent = _variable(woo_api, attributes=[{"id": attr["id"], "options": ["S", "M", "L"], "variation": True}])
    assert parent["attributes"][0]["options"] == ["L", "M", "S"]
    terms = woo_api.get(f"products/attributes/{attr['id']}/terms").json()
    assert sorted(t["name"] for t in terms) == ["L", "M", "S"]
    again = woo_api.post(f"products/attributes/{attr['id']}/terms", {"name": "s"})
    assert again.json()["code"] == "term_exists" and again.json()["data"]["resource_id"] in [t["id"] for t in terms]
    var = woo_api.post(f"products/{parent['id']}/variations",
                       {"sku": "G-S", "attributes": [{"id": attr["id"], "option": "S"}]}).json()
    assert var["attributes"] == [{"id": attr["id"], "name": "RS Size", "option": "S"}]
    by_name = woo_api.post(f"products/{parent['id']}/variations",
                           {"sku": "G-M", "attributes": [{"name": "RS Size", "option": "M"}]}).json()
    assert by_name["attributes"] == []
    assert woo_api.get("products/attributes").headers["X-WP-Total"] == "1"


def test_variations_batch_limit_and_paging(woo_api, sandbox):
    parent = _variable(woo_api, attributes=[{"name": "N", "options": ["a"], "variation": True}])
    base = f"products/{parent['id']}/variations"
    over = woo_api.post(f"{base}/batch", {"create": [{"sku": f"N-{i}"} for i in range(101)]})
    assert over.status_code == 413 and sandbox.stats()["counts"]["variations"] == 0
    out = woo_api.post(f"{base}/batch", {"create": [{"sku": f"N-{i}", "regular_price": "1"} for i in range(30)],
                                         "update": [{"id": 99999999, "regular_price": "1"}]}).json()
    assert len(out["create"]) == 30
    assert out["update"][0]["error"]["code"] == "woocommerce_rest_product_variation_invalid_id"
    page = woo_api.get(base, params={"per_page": 20, "page": 2, "_fields": "id,sku"})
    assert page.headers["X-WP-Total"] == "30" and page.headers["X-WP-TotalPages"] == "2" and len(page.json()) == 10
    assert set(page.json()[0]) == {"id", "sku"}


def test_categories_term_exists_and_hierarchy(woo_api):
    clothing = woo_api.post("products/categories", {"name": "Clothing"}).json()
    dup = woo_api.post("products/categories", {"name": "clothing"})
    assert dup.status_code == 400 and dup.json()["code"] == "term_exists"
    assert dup.json()["data"]["resource_id"] == clothing["id"]
    child = woo_api.post("products/categories", {"name": "Shirts", "parent": clothing["id"]}).json()
    top = woo_api.post("products/categories", {"name": "Shirts"}).json()
    assert (child["slug"], top["slug"], child["parent"]) == ("shirts", "shirts-2", clothing["id"])
    assert woo_api.post("products/categories", {"name": "A > B"}).json()["name"] == "A &gt; B"
    resp = woo_api.get("products/categories", params={"per_page": 2})
    assert resp.headers["X-WP-Total"] == "5" and resp.headers["X-WP-TotalPages"] == "3"
    p = woo_api.post("products", {"name": "p", "categories": [{"id": child["id"]}, {"name": "Nope"}]}).json()
    assert [c["id"] for c in p["categories"]] == [child["id"]]
    by_name = woo_api.post("products", {"name": "q", "categories": [{"name": "Clothing"}]}).json()
    assert by_name["categories"][0]["slug"] == "uncategorized"


def test_tags_by_name_case_insensitive_and_unknown_id(woo_api):
    p = woo_api.post("products", {"name": "t", "tags": [{"name": "new-tag"}]}).json()
    tag_id = p["tags"][0]["id"]
    assert woo_api.put(f"products/{p['id']}", {"tags": [{"name": "NEW-TAG"}]}).json()["tags"][0]["id"] == tag_id
    exists = woo_api.post("products/tags", {"name": "New-Tag"})
    assert exists.json()["code"] == "term_exists" and exists.json()["data"]["resource_id"] == tag_id
    assert woo_api.put(f"products/{p['id']}", {"tags": [{"id": tag_id}, {"id": 99999999}]}).json()["tags"] == []
