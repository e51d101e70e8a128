"""Products: CRUD, SKU rules, listing, batches, prices (recordings 07-12, 18, 20, 22-24)."""

from __future__ import annotations

import threading

import requests


def _create(api, **body):
    resp = api.post("products", {"name": body.pop("name", "P"), **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_create_get_update_answer_shapes(sandbox, woo_api):
    resp = woo_api.post("products", {"name": "RS Simple Red", "sku": "S-1", "regular_price": "19.99",
                                     "description": "plain text", "manage_stock": True, "stock_quantity": 7})
    assert resp.status_code == 201
    doc = resp.json()
    assert resp.headers["Location"] == f"{sandbox.url}/wp-json/wc/v3/products/{doc['id']}"
    assert doc["slug"] == "rs-simple-red" and doc["price"] == "19.99" and doc["stock_status"] == "instock"
    assert doc["categories"] == [{"id": 15, "name": "Uncategorized", "slug": "uncategorized"}]
    for key in ("date_created_gmt", "date_modified_gmt", "dimensions", "meta_data", "images", "variations",
                "parent_id"):
        assert key in doc
    read = woo_api.get(f"products/{doc['id']}").json()
    assert read["description"] == "<p>plain text</p>\n"
    sandbox.db.clock = lambda: 4102444800.0  # a later second: every save bumps date_modified
    upd = woo_api.put(f"products/{doc['id']}", {}).json()
    assert upd["date_modified"] == "2100-01-01T00:00:00" and upd["date_created"] == doc["date_created"]


def test_prices_rules(sandbox, woo_api):
    p = _create(woo_api, sku="PR-1", regular_price="10.00", sale_price="12.00")
    assert p["sale_price"] == "" and p["price"] == "10.00"
    assert _create(woo_api, sku="PR-2", regular_price="12,50")["regular_price"] == "1250"
    assert _create(woo_api, sku="PR-3", regular_price="abc")["regular_price"] == ""
    num = woo_api.post("products", {"name": "n", "sku": "PR-4", "regular_price": 12.5})
    assert num.status_code == 400 and num.json()["code"] == "rest_invalid_param"
    assert num.json()["data"]["params"] == {"regular_price": "regular_price is not of type string."}
    batch = woo_api.post("products/batch", {"create": [{"name": "b", "sku": "PR-5", "regular_price": 10.0}]}).json()
    assert batch["create"][0]["regular_price"] == "10"
    var = _create(woo_api, sku="PR-6", type="variable", regular_price="5")
    assert var["regular_price"] == "" and var["price"] == ""
    assert _create(woo_api, sku="PR-7", type="nonsense")["type"] == "simple"


def test_duplicate_sku_single_update_and_batch(sandbox, woo_api):
    a = _create(woo_api, sku="DUP-A")
    b = _create(woo_api, sku="DUP-B")
    resp = woo_api.post("products", {"name": "x", "sku": "DUP-A"})
    assert resp.status_code == 400
    assert resp.json() == {"code": "product_invalid_sku", "message": "Invalid or duplicated SKU.",
                           "data": {"status": 400, "resource_id": a["id"], "unique_sku": "DUP-A-1"}}
    upd = woo_api.put(f"products/{b['id']}", {"sku": "DUP-A"})
    assert upd.status_code == 400 and upd.json()["data"]["resource_id"] == a["id"]
    out = woo_api.post("products/batch", {"create": [{"name": "1", "sku": "DUP-A"}, {"name": "2", "sku": "NEW"},
                                                     {"name": "3", "sku": "NEW"}],
                                          "update": [{"id": b["id"], "sku": "DUP-A"},
                                                     {"id": 99999999, "name": "n"}]}).json()
    assert set(out) == {"create", "update"}
    assert out["create"][0]["id"] == 0 and out["create"][0]["error"]["code"] == "product_invalid_sku"
    assert out["create"][2]["error"]["data"] == {"status": 400, "resource_id": out["create"][1]["id"],
                                                 "unique_sku": "NEW-1"}
    assert out["update"][1] == {"id": 99999999, "error": {"code": "woocommerce_rest_product_invalid_id",
                                                          "message": "Invalid ID.", "data": {"status": 400}}}


def test_delete_trash_force_and_trashed_sku_lock(sandbox, woo_api):
    p = _create(woo_api, sku="DEL-1")
    trashed = woo_api.delete(f"products/{p['id']}")
    assert trashed.status_code == 200 and trashed.json()["status"] == "publish"
    again = woo_api.delete(f"products/{p['id']}")
    assert (again.status_code, again.json()["code"]) == (410, "woocommerce_rest_already_trashed")
    got = woo_api.get(f"products/{p['id']}").json()
    assert got["status"] == "trash" and got["slug"].endswith("__trashed")
    assert woo_api.get("products", params={"sku": "DEL-1"}).json() == []
    assert len(woo_api.get("products", params={"sku": "DEL-1", "status": "trash"}).json()) == 1
    lock = woo_api.post("products", {"name": "reuse", "sku": "DEL-1"})
    assert lock.status_code == 400 and lock.json()["code"] == "woocommerce_rest_product_not_created"
    assert lock.json()["message"] == ("The product with SKU (DEL-1) you are trying to insert is already present in the"
                                      " lookup table")
    assert woo_api.delete(f"products/{p['id']}", params={"force": "true"}).status_code == 200
    gone = woo_api.get(f"products/{p['id']}")
    assert (gone.status_code, gone.json()["code"]) == (404, "woocommerce_rest_product_invalid_id")
    put = woo_api.put(f"products/{p['id']}", {"regular_price": "1"})
    assert (put.status_code, put.json()["code"]) == (400, "woocommerce_rest_product_invalid_id")
    exists = woo_api.post("products", {"id": 5, "name": "x"})
    assert exists.json()["code"] == "woocommerce_rest_product_exists"


def test_sku_filter_paging_headers_and_fields(sandbox, woo_api):
    out = woo_api.post("products/batch", {"create": [{"name": f"P{i}", "sku": f"F-{i}"} for i in range(25)]}).json()
    ids = [c["id"] for c in out["create"]]
    resp = woo_api.get("products", params={"sku": "F-1,F-2,F-3", "per_page": 1, "page": 2})
    assert resp.headers["X-WP-Total"] == "3" and resp.headers["X-WP-TotalPages"] == "3"
    assert 'rel="prev"' in resp.headers["Link"] and 'rel="next"' in resp.headers["Link"]
    assert "page=3" in resp.links["next"]["url"] and "page=1" in resp.links["prev"]["url"]
    assert len(woo_api.get("products", params={"sku": "F-1, F-2"}).json()) == 1
    trimmed = woo_api.get("products", params={"_fields": "sku,nonexistent", "orderby": "id", "order": "asc",
                                              "per_page": 100})
    assert trimmed.json()[0] == {"id": ids[0], "sku": "F-0"}
    assert woo_api.get("products").headers["X-WP-TotalPages"] == "3"
    over = woo_api.get("products", params={"per_page": 101})
    assert over.status_code == 400
    assert over.json()["data"]["params"]["per_page"].startswith("per_page must be between 1")
    assert woo_api.get("products", params={"type": "variation"}).json()["code"] == "rest_invalid_param"
    inc = woo_api.get("products", params={"include": f"{ids[3]},{ids[1]}", "orderby": "include"}).json()
    assert [p["id"] for p in inc] == [ids[3], ids[1]]
    exc = woo_api.get("products", params={"exclude": ",".join(map(str, ids[1:])), "per_page": 100}).json()
    assert [p["id"] for p in exc] == [ids[0]]
    off = woo_api.get("products", params={"orderby": "id", "order": "asc", "offset": 20, "per_page": 100}).json()
    assert [p["id"] for p in off] == ids[20:]
    assert [p["sku"] for p in woo_api.get("products", params={"search": "P24"}).json()] == ["F-24"]
    past = woo_api.get("products", params={"page": 9})
    assert past.json() == [] and past.headers["X-WP-Total"] == "25"


def test_batch_limit_and_order(sandbox, woo_api):
    too_many = woo_api.post("products/batch", {"create": [{"name": str(i), "sku": f"L-{i}"} for i in range(60)],
                                               "update": [{"id": i} for i in range(41)]})
    assert too_many.status_code == 413
    assert too_many.json() == {"code": "woocommerce_rest_request_entity_too_large",
                               "message": "Unable to accept more than 100 items for this request.",
                               "data": {"status": 413}}
    assert sandbox.stats()["counts"]["products"] == 0
    a = _create(woo_api, sku="O-1")
    # the delete runs after the create and the update: the update still finds the product
    out = woo_api.post("products/batch", {"delete": [a["id"]], "update": [{"id": a["id"], "regular_price": "3"}],
                                          "create": [{"name": "n", "sku": "O-2"}]}).json()
    assert out["update"][0]["regular_price"] == "3" and out["delete"][0]["id"] == a["id"]
    assert woo_api.get(f"products/{a['id']}").status_code == 404  # batch delete is permanent
    stats = sandbox.stats()
    assert stats["items_written"] == 4 and stats["requests"]["by_route"]["POST products/batch"] == 2


def test_concurrent_batches_with_one_new_sku_create_one_product(sandbox, woo_api):
    results = []

    def push():
        results.append(woo_api.post("products/batch", {"create": [{"name": "c", "sku": "RACE-1"}]}).json())

    threads = [threading.Thread(target=push) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if "error" not in r["create"][0]]
    assert len(ok) == 1
    assert len(woo_api.get("products", params={"sku": "RACE-1"}).json()) == 1


def test_rest_route_form_index_system_status_and_html_404(sandbox):
    import time

    from woocommerce.oauth import OAuth

    url = OAuth(f"{sandbox.url}/?rest_route=/wc/v3/products", sandbox.consumer_key, sandbox.consumer_secret,
                version="wc/v3", method="GET", oauth_timestamp=int(time.time())).get_oauth_url()
    assert requests.get(url, timeout=5).json() == []
    index = requests.get(f"{sandbox.url}/wp-json/", timeout=5).json()
    assert "wc/v3" in index["namespaces"] and index["url"] == sandbox.url
    nf = requests.get(f"{sandbox.url}/shop/", timeout=5)
    assert nf.status_code == 404 and nf.headers["Content-Type"].startswith("text/html")


def test_system_status_reports_versions(woo_api):
    env = woo_api.get("system_status").json()["environment"]
    assert env["version"] == "9.4.0" and env["wp_version"]


def test_variation_id_on_products_route(sandbox, woo_api):
    parent = _create(woo_api, sku="VP", type="variable",
                     attributes=[{"name": "Size", "options": ["S"], "variation": True}])
    var = woo_api.post(f"products/{parent['id']}/variations", {"sku": "VP-S", "regular_price": "1",
                                                              "attributes": [{"name": "Size", "option": "S"}]}).json()
    resp = woo_api.delete(f"products/{var['id']}", params={"force": "true"})
    assert (resp.status_code, resp.json()["code"]) == (404, "woocommerce_rest_invalid_product_id")
    found = woo_api.get("products", params={"sku": "VP-S", "_fields": "id,type,parent_id"}).json()
    assert found == [{"id": var["id"], "type": "variation", "parent_id": parent["id"]}]
