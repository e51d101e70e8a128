"""Client behaviour against a scripted server: URLs, signing, paging, SKU look-ups, batches, errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import quote, unquote, urlencode

import pytest

from wsync.store import (
    BatchTooLarge,
    NotFound,
    NotWooCommerce,
    StoreAuthError,
    StoreClient,
    StoreConnectionError,
    StoreError,
    StoreResponse,
    StoreSettings,
)
from wsync.store.signing import sign, strip_auth_params
from wsync.store.skus import chunk_skus

from .conftest import TEST_KEY, TEST_SECRET
from .scripted_server import Reply


def _verify_oauth(method: str, base_url: str, query: dict) -> bool:
    """Check a signature the way class-wc-rest-authentication.php computes it: keys sorted, each key
    and value rawurlencode(rawurldecode()), `%`-encoded again, joined with %26, secret + "&"."""
    raw = lambda v: quote(v, safe="-_.~")  # noqa: E731 - PHP rawurlencode
    pairs = [f"{raw(unquote(k)).replace('%', '%25')}%3D{raw(unquote(v)).replace('%', '%25')}"
             for k, v in sorted(query.items()) if k != "oauth_signature"]
    base = f"{method}&{raw(base_url)}&{'%26'.join(pairs)}"
    digest = hmac.new(f"{TEST_SECRET}&".encode(), base.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode() == query["oauth_signature"]


def test_oauth_signature_matches_woocommerce_including_slashes(scripted, scripted_client):
    scripted_client.get("products", params={"sku": "A/B,C D", "per_page": 5, "in_stock": True})
    req = scripted.requests[0]
    assert req["path"] == "/wp-json/wc/v3/products"
    assert req["query"]["in_stock"] == "true" and req["query"]["sku"] == "A/B,C D"
    assert _verify_oauth("GET", scripted.url + req["path"], req["query"])


def test_plain_permalinks_sign_over_the_site_root(scripted, fast_settings):
    client = StoreClient(fast_settings.with_changes(permalinks="plain"))
    client.post("products/batch", {"update": [{"id": 1}]})
    req = scripted.requests[0]
    assert req["path"] == "/" and req["query"]["rest_route"] == "/wc/v3/products/batch"
    assert _verify_oauth("POST", scripted.url, req["query"])
    assert req["body"] == {"update": [{"id": 1}]}


def test_https_uses_basic_or_query_keys():
    s = StoreSettings(url="https://shop.test/", consumer_key=TEST_KEY, consumer_secret=TEST_SECRET)
    url, auth = sign(s, "GET", "https://shop.test/wp-json/wc/v3/products", [("page", "2")])
    assert url == "https://shop.test/wp-json/wc/v3/products?page=2" and auth == (TEST_KEY, TEST_SECRET)
    url, auth = sign(s.with_changes(auth="query"), "GET", "https://shop.test/wp-json/wc/v3/products", [])
    assert auth is None and f"consumer_key={TEST_KEY}" in url and f"consumer_secret={TEST_SECRET}" in url


@pytest.mark.parametrize("url,auth,words", [
    ("http://shop.example.org", "auto", "unprotected"),
    ("http://127.0.0.1:8080", "basic", "does not work over plain HTTP"),
    ("https://shop.test", "oauth", "does not work over HTTPS"),
    ("https://shop.test/wp-json/wc/v3", "auto", "site root"),
    ("ftp://shop.test", "auto", r"not an http\(s\) URL"),
])
def test_settings_that_cannot_work_are_refused(url, auth, words):
    from wsync.errors import ConfigError

    with pytest.raises(ConfigError, match=words):
        StoreClient(StoreSettings(url=url, consumer_key=TEST_KEY, consumer_secret=TEST_SECRET, auth=auth))


def test_plain_http_to_remote_host_allowed_when_asked():
    StoreClient(StoreSettings(url="http://10.1.2.3", consumer_key=TEST_KEY, consumer_secret=TEST_SECRET,
                              allow_insecure_http=True))


def test_link_next_url_loses_the_copied_credentials():
    link = ('<http://127.0.0.1:8080/wp-json/wc/v3/products?page=2&oauth_consumer_key=ck_x&oauth_nonce=n'
            '&oauth_signature=s&oauth_timestamp=1&oauth_signature_method=HMAC-SHA256>; rel="next"')
    response = StoreResponse(200, {"Link": link}, [], 0.1)
    assert response.next_url == "http://127.0.0.1:8080/wp-json/wc/v3/products?page=2"
    assert strip_auth_params("https://s/x?consumer_key=a&consumer_secret=b&sku=1") == "https://s/x?sku=1"


def test_get_url_signs_a_link_again(scripted, scripted_client):
    scripted_client.get_url(f"{scripted.url}/wp-json/wc/v3/products?page=2&per_page=3")
    req = scripted.requests[0]
    assert req["query"]["page"] == "2" and _verify_oauth("GET", scripted.url + req["path"], req["query"])


def test_iter_pages_walks_in_id_order_until_total_pages(scripted, scripted_client):
    scripted.script = [Reply(200, [{"id": 1}, {"id": 2}], {"X-WP-TotalPages": "2", "X-WP-Total": "3"}),
                       Reply(200, [{"id": 3}], {"X-WP-TotalPages": "2", "X-WP-Total": "3"}),
                       Reply(200, [{"id": 99}])]
    items = list(scripted_client.iter_pages("products", params={"status": "any"}, per_page=2, fields=["id", "sku"]))
    assert [i["id"] for i in items] == [1, 2, 3]
    q = scripted.requests[0]["query"]
    assert (q["orderby"], q["order"], q["per_page"], q["_fields"], q["page"]) == ("id", "asc", "2", "id,sku", "1")
    assert scripted.requests[1]["query"]["page"] == "2" and len(scripted.requests) == 2


def test_iter_pages_stops_on_an_empty_page(scripted, scripted_client):
    scripted.script = [Reply(200, [{"id": 1}]), Reply(200, [])]
    assert [i["id"] for i in scripted_client.iter_pages("products", per_page=1)] == [1]
    assert len(scripted.requests) == 2


def test_find_by_skus_chunks_urls_and_skips_commas(scripted, scripted_client, caplog):
    skus = [f"SKU-{n:05d}-LONG-NAME" for n in range(250)] + ["HAS,COMMA"]
    scripted.default = Reply(200, [])
    with caplog.at_level("DEBUG", logger="wsync.store"):
        scripted_client.find_by_skus(skus, fields=["id"])
    sent = [r["query"]["sku"].split(",") for r in scripted.requests]
    assert sorted(s for chunk in sent for s in chunk) == sorted(skus[:-1])
    assert all(len(chunk) <= 100 for chunk in sent) and len(sent) >= 3
    assert all(" " not in r["query"]["sku"] for r in scripted.requests)
    assert set(scripted.requests[0]["query"]["_fields"].split(",")) >= {"id", "sku", "parent_id", "type"}
    assert "HAS,COMMA" in caplog.text


def test_chunk_skus_keeps_urls_short():
    skus = ["X" * 60 + str(i) for i in range(200)]
    for chunk in chunk_skus(skus, base_len=100):
        assert 100 + len(urlencode({"sku": ",".join(chunk)})) <= 2010


def test_batch_over_100_is_refused_before_sending(scripted, scripted_client):
    with pytest.raises(BatchTooLarge):
        scripted_client.batch("products/batch", {"create": [{}] * 60, "update": [{"id": 1}] * 41})
    assert scripted.requests == []


def test_batch_asks_only_for_the_fields_it_reads(scripted, scripted_client):
    """recordings/33: the query's `_fields` reaches the creates and must name the answer's own
    keys; an update only sees its body, so each update carries the list itself."""
    scripted.script = [Reply(200, {"create": [{"id": 5, "sku": "A"}], "update": [{"id": 3, "sku": "B"}]}),
                       Reply(200, {"update": [{"id": 3}]})]
    answer = scripted_client.batch("products/batch", {"create": [{"sku": "A"}], "update": [{"id": 3, "name": "B"}]},
                                   fields=["id", "sku"])
    assert answer["update"] == [{"id": 3, "sku": "B"}]
    sent = scripted.requests[0]
    assert sent["query"]["_fields"] == "create,update,delete,id,sku"
    assert sent["body"] == {"create": [{"sku": "A"}], "update": [{"id": 3, "name": "B", "_fields": "id,sku"}]}
    scripted_client.batch("products/batch", {"update": [{"id": 3}]})  # without fields: as before
    assert "_fields" not in scripted.requests[1]["query"] and scripted.requests[1]["body"] == {"update": [{"id": 3}]}


def test_a_batch_never_repeated_asks_for_the_same_fields(scripted, scripted_client):
    """An image download batch goes as a plain POST, so that no retry downloads twice; its
    answer is restricted as any batch's is (the plain POST used to ask for whole products)."""
    from wsync.sync.push import BatchPusher, Op

    scripted.script = [Reply(200, {"update": [{"id": 3, "images": [{"id": 9}]}]})]
    pusher = BatchPusher(scripted_client, "products/batch", size=5, concurrency=1, idempotent=False,
                         fields=("id", "images"))
    body = {"id": 3, "images": [{"src": "https://img.example/a.png"}]}
    [results] = list(pusher.run([Op("update", body, sku="A")]))
    assert results[0].ok and results[0].data == {"id": 3, "images": [{"id": 9}]}
    sent = scripted.requests[0]
    assert sent["query"]["_fields"] == "create,update,delete,id,images"
    assert sent["body"] == {"update": [{**body, "_fields": "id,images"}]}


def test_batch_413_from_the_store(scripted, scripted_client):
    scripted.script = [Reply(413, {"code": "woocommerce_rest_request_entity_too_large",
                                   "message": "Unable to accept more than 100 items for this request.",
                                   "data": {"status": 413}})]
    with pytest.raises(BatchTooLarge, match="more than 100"):
        scripted_client.batch("products/batch", {"update": [{"id": 1}]})


def test_batch_many_aligns_results_with_input(scripted, scripted_client):
    def answer(n_create, n_update, n_delete, fail_create=None):
        doc = {}
        if n_create:
            doc["create"] = [{"id": 100 + i} for i in range(n_create)]
            if fail_create is not None:
                doc["create"][fail_create] = {"id": 0, "error": {"code": "product_invalid_sku", "message":
                                              "Invalid or duplicated SKU.", "data": {"status": 400, "resource_id": 7}}}
        if n_update:
            doc["update"] = [{"id": i} for i in range(n_update)]
        if n_delete:
            doc["delete"] = [{"id": i} for i in range(n_delete)]
        return doc

    # 5 creates, 3 updates, 2 deletes in chunks of 4: [c c c c] [c u u u] [d d]
    scripted.script = [Reply(200, answer(4, 0, 0, fail_create=2)), Reply(200, answer(1, 3, 0)),
                       Reply(200, answer(0, 0, 2))]
    results = scripted_client.batch_many("products/batch", creates=[{"sku": f"S{i}"} for i in range(5)],
                                         updates=[{"id": i} for i in range(3)], deletes=[10, 11], size=4,
                                         concurrency=1)
    assert [(r.op, r.index) for r in results] == [("create", i) for i in range(5)] + \
        [("update", i) for i in range(3)] + [("delete", 0), ("delete", 1)]
    failed = [r for r in results if not r.ok]
    assert len(failed) == 1 and failed[0].index == 2 and failed[0].error.code == "product_invalid_sku"
    assert failed[0].error.resource_id == 7
    assert [len(r["body"].get("create", [])) + len(r["body"].get("update", [])) + len(r["body"].get("delete", []))
            for r in scripted.requests] == [4, 4, 2]


def test_batch_many_marks_an_ambiguous_chunk_outcome_unknown(scripted, scripted_client):
    scripted.script = [Reply(502)]
    scripted.default = Reply(200, {"create": [{"id": 1}]})
    results = scripted_client.batch_many("products/batch", creates=[{"sku": "A"}, {"sku": "B"}], size=1,
                                         concurrency=1)
    assert results[0].outcome_unknown and not results[0].ok
    assert results[1].ok


def test_batch_many_runs_chunks_concurrently(scripted, scripted_client):
    scripted.default = Reply(200, {"update": [{"id": 1}]}, delay=0.05)
    results = scripted_client.batch_many("products/batch", updates=[{"id": 1}] * 6, size=1, concurrency=3)
    assert all(r.ok for r in results) and len(results) == 6
    assert len(scripted.clients) >= 2


@pytest.mark.parametrize("status,body,cls,kind", [
    (401, {"code": "woocommerce_rest_authentication_error", "message": "Consumer secret is invalid."},
     StoreAuthError, "wrong_secret"),
    (401, {"code": "woocommerce_rest_authentication_error", "message": "Invalid signature - provided signature "
           "does not match."}, StoreAuthError, "wrong_secret"),
    (401, {"code": "woocommerce_rest_authentication_error", "message": "Consumer key is invalid."},
     StoreAuthError, "unknown_key"),
    (401, {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources."},
     StoreAuthError, "unknown_key"),
    (401, {"code": "woocommerce_rest_authentication_error", "message": "The API key provided does not have write "
           "permissions."}, StoreAuthError, "read_only"),
    (403, {"code": "woocommerce_rest_cannot_create", "message": "Sorry, you are not allowed to create resources."},
     StoreAuthError, "capability"),
    (404, {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID."}, NotFound, "not_found"),
    (404, {"code": "rest_no_route", "message": "No route"}, NotFound, "no_route"),
    (400, {"code": "product_invalid_sku", "message": "Invalid or duplicated SKU.",
           "data": {"status": 400, "resource_id": 5}}, StoreError, "store_error"),
])
def test_error_answers_become_typed_errors(scripted, scripted_client, status, body, cls, kind):
    scripted.script = [Reply(status, body)]
    with pytest.raises(cls) as info:
        scripted_client.get("products/5")
    err = info.value
    assert type(err) is cls and err.kind == kind and err.status == status and err.code == body["code"]
    assert scripted.url in str(err) and body["message"] in str(err) and f"HTTP {status}" in str(err)


def test_auth_error_message_reads_plainly(scripted, scripted_client):
    scripted.script = [Reply(401, {"code": "woocommerce_rest_authentication_error",
                                   "message": "Consumer secret is invalid.", "data": {"status": 401}})]
    with pytest.raises(StoreAuthError) as info:
        scripted_client.get("products")
    assert info.value.message == (f"store {scripted.url} refused the keys: Consumer secret is invalid. "
                                  "(woocommerce_rest_authentication_error, HTTP 401)")
    assert info.value.exit_code == 3


def test_html_answer_is_not_woocommerce(scripted, scripted_client):
    scripted.script = [Reply(200, raw=b"<html>shop</html>")]
    with pytest.raises(NotWooCommerce, match="text/html"):
        scripted_client.get("products")


def test_redirect_is_reported_not_followed(scripted, scripted_client):
    scripted.script = [Reply(301, None, {"Location": "https://shop.test/wp-json/wc/v3/products"})]
    with pytest.raises(StoreConnectionError) as info:
        scripted_client.post("products/batch", {"update": [{"id": 1}]})
    assert info.value.kind == "redirect" and "https://shop.test" in str(info.value)


def test_secret_never_in_errors_or_logs(scripted, scripted_client, caplog):
    scripted.script = [Reply(502), Reply(401, {"code": "x", "message": f"echo {TEST_SECRET} {TEST_KEY}"})]
    with caplog.at_level("DEBUG"), pytest.raises(StoreAuthError) as info:
        scripted_client.get("products")
    for text in (str(info.value), caplog.text, json.dumps(info.value.as_dict())):
        assert TEST_SECRET not in text and TEST_KEY not in text


def test_basic_header_is_sent_over_https_only_as_configured():
    s = StoreSettings(url="https://shop.test", consumer_key=TEST_KEY, consumer_secret=TEST_SECRET)
    _, auth = sign(s, "GET", "https://shop.test/wp-json/wc/v3/products", [])
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    assert token  # requests turns the tuple into the Authorization header
