"""Ways a real store fails that a client must survive (recorded on WooCommerce 8.2.2: recordings 25-27).

An empty batch answers `[]`; WordPress's own routes refuse a WooCommerce key sent by Basic auth;
a batch is saved item by item and goes on after its client hung up; the SKU check and the insert
are separate steps, so concurrent creates of one SKU can both be saved.
"""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from woocommerce import API
from woocommerce.oauth import OAuth

from wsync.sandbox import LatencyModel, SandboxServer

RECORDINGS = Path(__file__).resolve().parents[3] / "shared" / "recordings"

# recordings/26: GET https://.../wp-json/ and /wp-json/wp/v2/media with Basic (key:secret)
UNKNOWN_USERNAME = {"code": "invalid_username",
                    "message": "<strong>Error:</strong> Unknown username. Check again or try your email address.",
                    "data": {"status": 401}}


def _recording(name: str) -> dict | None:
    path = RECORDINGS / name
    return json.loads(path.read_text()) if path.exists() else None


def _api(store, timeout=30) -> API:
    return API(url=store.url, consumer_key=store.consumer_key, consumer_secret=store.consumer_secret,
               version="wc/v3", timeout=timeout)


def _race_batch(prefix: str, n: int = 50) -> dict:
    # the recorded body: {"name": "Race <sku>", "sku": "<sku>", "regular_price": "9.99"} x 50
    return {"create": [{"name": f"Race {prefix}-{i:03d}", "sku": f"{prefix}-{i:03d}", "regular_price": "9.99"}
                       for i in range(n)]}


def _count_products(api: API) -> int:
    resp = api.get("products", params={"per_page": 100, "_fields": "id"})
    assert resp.status_code == 200, resp.text
    return len(resp.json())


def _wait_for(predicate, timeout_s: float = 15.0, every_s: float = 0.02):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise AssertionError(f"not reached in {timeout_s} s")


# ---------------------------------------------------------------------------------- recordings/25
def test_empty_batch_answers_an_empty_json_list(sandbox, woo_api):
    recorded = _recording("25_empty_batch.json")
    if recorded is not None:
        assert [(e["request"]["json"], e["response"]["status"], e["response"]["json"]) for e in recorded["exchanges"]] == [
            ({}, 200, []), ({"create": []}, 200, []), ({"create": [], "update": [], "delete": []}, 200, [])]
    parent = woo_api.post("products", {"name": "V", "type": "variable", "sku": "EB-V"}).json()
    attr = woo_api.post("products/attributes", {"name": "Size"}).json()
    endpoints = ["products/batch", f"products/{parent['id']}/variations/batch", "products/categories/batch",
                 "products/tags/batch", "products/attributes/batch", f"products/attributes/{attr['id']}/terms/batch"]
    for endpoint in endpoints:
        for body in ({}, {"create": []}, {"create": [], "update": [], "delete": []}):
            resp = woo_api.post(endpoint, body)
            assert (resp.status_code, resp.json()) == (200, []), (endpoint, body, resp.text)
    # a batch with work still answers an object with only its non-empty keys
    out = woo_api.post("products/batch", {"create": [{"name": "n", "sku": "EB-1"}], "update": []}).json()
    assert set(out) == {"create"}
    # the checks come first: an empty batch without write rights is refused as any write is
    ro = API(sandbox.url, sandbox.readonly_key, sandbox.readonly_secret, version="wc/v3", timeout=10)
    refused = ro.post("products/batch", {})
    assert refused.status_code == 401
    assert refused.json()["message"] == "The API key provided does not have write permissions."
    anon = requests.post(f"{sandbox.url}/wp-json/wc/v3/products/batch", json={}, timeout=5)
    assert (anon.status_code, anon.json()["code"]) == (401, "woocommerce_rest_cannot_batch")
    assert woo_api.post("products/batch", {"create": [{"sku": str(i)} for i in range(101)]}).status_code == 413


# ---------------------------------------------------------------------------------- recordings/26
@pytest.fixture(scope="module")
def tls_pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    return str(cert), str(key)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_wordpress_routes_refuse_a_woocommerce_key_in_basic_auth_over_https(tls_pair):
    recorded = _recording("26_basic_auth_on_wp_routes.json")
    if recorded is not None:
        wp = [e["response"] for e in recorded["exchanges"] if "/wc/" not in e["request"]["url"]]
        assert wp and all((r["status"], r["json"]) == (401, UNKNOWN_USERNAME) for r in wp)
    with SandboxServer(tls_cert=tls_pair[0], tls_key=tls_pair[1]) as store:
        basic = (store.consumer_key, store.consumer_secret)

        def get(path, auth=basic, **params):
            return requests.get(f"{store.url}{path}", params=params, auth=auth, verify=False, timeout=5)

        for path, params in (("/wp-json/", {}), ("/wp-json", {}), ("/wp-json/wp/v2/media", {"per_page": 1}),
                             ("/", {"rest_route": "/"})):
            resp = get(path, **params)
            assert (resp.status_code, resp.json()) == (401, UNKNOWN_USERNAME), path
            assert resp.headers["Content-Type"] == "application/json; charset=UTF-8"
        # the same header on WooCommerce's routes authenticates
        status = get("/wp-json/wc/v3/system_status", _fields="environment.version")
        assert status.status_code == 200 and "version" in status.json()["environment"]
        assert get("/wp-json/wc/v3/products").status_code == 200
        # the read-only key is refused the same way: any Basic header is read as a WordPress login
        assert get("/wp-json/", auth=(store.readonly_key, store.readonly_secret)).status_code == 401
        # without credentials the index is public
        index = get("/wp-json/", auth=None)
        assert index.status_code == 200 and "wc/v3" in index.json()["namespaces"]


def test_over_plain_http_wordpress_ignores_basic_auth(sandbox):
    # No application passwords without https: the header is ignored, as WooCommerce ignores it
    # there (recordings/01), and the index answers as without it.
    resp = requests.get(f"{sandbox.url}/wp-json/", auth=(sandbox.consumer_key, sandbox.consumer_secret), timeout=5)
    assert resp.status_code == 200 and resp.json()["url"] == sandbox.url
