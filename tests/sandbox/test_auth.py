"""Authentication matrix as recorded from a real store (recordings/01_auth_matrix.json)."""

from __future__ import annotations

import time

import requests
from woocommerce import API
from woocommerce.oauth import OAuth

from wsync.sandbox import SandboxServer


def _signed(sandbox, endpoint, method="GET", key=None, secret=None, base=None, timestamp=None):
    url = f"{base or sandbox.url}/wp-json/wc/v3/{endpoint}"
    return OAuth(url, key or sandbox.consumer_key, secret or sandbox.consumer_secret, version="wc/v3", method=method,
                 oauth_timestamp=timestamp or int(time.time())).get_oauth_url()


def test_oauth_over_http_works_and_anonymous_is_refused(sandbox, woo_api):
    assert woo_api.get("products").status_code == 200
    resp = requests.get(f"{sandbox.url}/wp-json/wc/v3/products", timeout=5)
    assert resp.status_code == 401
    assert resp.json() == {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                           "data": {"status": 401}}


def test_basic_and_query_keys_are_ignored_over_http(sandbox):
    url = f"{sandbox.url}/wp-json/wc/v3/products"
    basic = requests.get(url, auth=(sandbox.consumer_key, sandbox.consumer_secret), timeout=5)
    query = requests.get(url, params={"consumer_key": sandbox.consumer_key, "consumer_secret": sandbox.consumer_secret},
                         timeout=5)
    assert basic.status_code == query.status_code == 401
    assert basic.json()["code"] == query.json()["code"] == "woocommerce_rest_cannot_view"


def test_insecure_basic_auth_flag_enables_basic_over_http():
    with SandboxServer(insecure_basic_auth=True) as store:
        resp = requests.get(f"{store.url}/wp-json/wc/v3/products", auth=(store.consumer_key, store.consumer_secret),
                            timeout=5)
        assert resp.status_code == 200


def test_oauth_failures_have_the_real_messages(sandbox):
    def err(url):
        resp = requests.get(url, timeout=5)
        assert resp.status_code == 401
        assert resp.json()["code"] == "woocommerce_rest_authentication_error"
        return resp.json()["message"]

    mismatch = "Invalid signature - provided signature does not match."
    assert err(_signed(sandbox, "products", secret="cs_wrong")) == mismatch
    other_host = sandbox.url.replace("127.0.0.1", "localhost")
    assert err(_signed(sandbox, "products", base=other_host)) == mismatch
    assert err(_signed(sandbox, "products", key="ck_" + "0" * 40)) == "Consumer key is invalid."
    assert err(_signed(sandbox, "products", timestamp=int(time.time()) - 3600)) == "Invalid timestamp."
    url = _signed(sandbox, "products")
    assert requests.get(url, timeout=5).status_code == 200
    assert err(url) == "Invalid nonce - nonce has already been used."


def test_sha1_signatures_are_accepted(sandbox):
    from urllib.parse import urlencode

    from wsync.sandbox.auth import oauth_signature

    params = {"oauth_consumer_key": sandbox.consumer_key, "oauth_timestamp": str(int(time.time())),
              "oauth_nonce": "n1", "oauth_signature_method": "HMAC-SHA1", "per_page": "5"}
    base = f"{sandbox.url}/wp-json/wc/v3/products"
    params["oauth_signature"] = oauth_signature("GET", base, params, sandbox.consumer_secret, "sha1")
    assert requests.get(f"{base}?{urlencode(params)}", timeout=5).status_code == 200


def test_read_only_key_cannot_write(sandbox):
    api = API(sandbox.url, sandbox.readonly_key, sandbox.readonly_secret, version="wc/v3", timeout=10)
    assert api.get("products").status_code == 200
    resp = api.post("products", {"name": "x", "sku": "RO-1"})
    assert resp.status_code == 401
    assert resp.json()["message"] == "The API key provided does not have write permissions."
    assert sandbox.stats()["counts"]["products"] == 0


def test_anonymous_capability_errors_per_action(sandbox):
    base = f"{sandbox.url}/wp-json/wc/v3/products"
    cases = [("post", base, "woocommerce_rest_cannot_create"), ("put", base + "/10", "woocommerce_rest_cannot_edit"),
             ("delete", base + "/10", "woocommerce_rest_cannot_delete"),
             ("post", base + "/batch", "woocommerce_rest_cannot_batch")]
    for method, url, code in cases:
        resp = getattr(requests, method)(url, json={}, timeout=5)
        assert (resp.status_code, resp.json()["code"]) == (401, code)


def test_https_basic_and_query_auth(tmp_path):
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    with SandboxServer(tls_cert=str(cert), tls_key=str(key)) as store:
        assert store.url.startswith("https://")
        url = f"{store.url}/wp-json/wc/v3/products"
        basic = requests.get(url, auth=(store.consumer_key, store.consumer_secret), verify=False, timeout=5)
        assert basic.status_code == 200
        q = {"consumer_key": store.consumer_key, "consumer_secret": store.consumer_secret}
        assert requests.get(url, params=q, verify=False, timeout=5).status_code == 200
        # the query wins over Basic
        both = requests.get(url, params=q, auth=(store.consumer_key, "cs_wrong"), verify=False, timeout=5)
        assert both.status_code == 200
        bad = requests.get(url, auth=(store.consumer_key, "cs_wrong"), verify=False, timeout=5)
        assert bad.json()["message"] == "Consumer secret is invalid."
        unknown = requests.get(url, auth=("ck_unknown", "cs_x"), verify=False, timeout=5)
        assert unknown.json()["code"] == "woocommerce_rest_cannot_view"
