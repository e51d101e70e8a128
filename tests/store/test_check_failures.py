"""`wsync check`: each network-level failure gets its own exit code (local servers, closed ports)."""

from __future__ import annotations

import ssl

import pytest

from wsync.store import StoreSettings
from wsync.store.check import EXIT_CODES, run_check

from .conftest import TEST_KEY, TEST_SECRET
from .scripted_server import Reply, ScriptedServer


def settings(url: str, **kw) -> StoreSettings:
    kw.setdefault("backoff_base_s", 0.001)
    kw.setdefault("connect_timeout", 2)
    kw.setdefault("read_timeout", 2)
    return StoreSettings(url=url, consumer_key=TEST_KEY, consumer_secret=TEST_SECRET, **kw)


def code(kind: str) -> int:
    return EXIT_CODES[kind][0]


def test_exit_codes_are_distinct():
    codes = [c for c, _ in EXIT_CODES.values()]
    assert len(codes) == len(set(codes))


def test_dns_failure():
    report = run_check(settings("https://no-such-store.invalid"))
    assert (report.kind, report.exit_code) == ("dns", code("dns"))
    assert "does not resolve" in report.message


def test_connection_refused(free_port):
    report = run_check(settings(f"http://127.0.0.1:{free_port}"))
    assert (report.kind, report.exit_code) == ("refused", code("refused"))
    assert "refused the connection" in report.message


def test_plain_http_to_a_remote_host_is_refused_before_sending():
    report = run_check(settings("http://shop.example.org"))
    assert (report.kind, report.exit_code) == ("plain_http_refused", code("plain_http_refused"))
    assert "unprotected" in report.message and report.requests == {}


def test_timeout(scripted):
    scripted.default = Reply(200, {"namespaces": ["wc/v3"]}, delay=0.8)
    report = run_check(settings(scripted.url, read_timeout=0.2))
    assert (report.kind, report.exit_code) == ("timeout", code("timeout"))


def test_not_a_wordpress_site(scripted):
    scripted.default = Reply(404, raw=b"<html><body>Not Found</body></html>")
    report = run_check(settings(scripted.url))
    assert (report.kind, report.exit_code) == ("not_wordpress", code("not_wordpress"))
    assert "text/html" in report.message


def test_json_that_is_not_a_wordpress_index(scripted):
    scripted.default = Reply(200, {"hello": "world"})
    report = run_check(settings(scripted.url))
    assert report.kind == "not_wordpress"


def test_wordpress_without_woocommerce(scripted):
    scripted.routes["/wp-json/"] = Reply(200, {"name": "Blog", "namespaces": ["oembed/1.0", "wp/v2"]})
    scripted.default = Reply(404, {"code": "rest_no_route", "message": "No route was found matching the URL "
                                   "and request method.", "data": {"status": 404}})
    report = run_check(settings(scripted.url))
    assert (report.kind, report.exit_code) == ("no_woocommerce", code("no_woocommerce"))
    assert "WooCommerce" in report.message


def test_plain_permalinks_are_found(scripted):
    """/wp-json/ is not routed (an HTML 404), but ?rest_route= works: the client switches for good."""
    scripted.routes["/wp-json/"] = Reply(404, raw=b"<html>404</html>")
    scripted.default = Reply(200, {"namespaces": ["wp/v2"]})
    report = run_check(settings(scripted.url))
    assert report.permalinks == "plain" and report.kind == "no_woocommerce"
    assert scripted.requests[-1]["query"]["rest_route"] == "/"


def test_tls_certificate_not_trusted(self_signed_cert):
    cert, key = self_signed_cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ScriptedServer(Reply(200, {"namespaces": ["wc/v3"]}), tls_context=context).start()
    try:
        report = run_check(settings(server.url))
        assert (report.kind, report.exit_code) == ("tls", code("tls"))
        assert "TLS" in report.message and "--insecure" in (report.hint or "")
        # With verification off the same server is reached (and found to be no WooCommerce store).
        report = run_check(settings(server.url, verify_tls=False))
        assert report.kind != "tls"
    finally:
        server.stop()


def _real_store_routes(scripted: ScriptedServer) -> None:
    """Answers as WooCommerce 8.2.2 gave them (recordings 25 and 26)."""
    scripted.routes["/wp-json/"] = Reply(200, {"name": "Shop", "namespaces": ["wp/v2", "wc/v3"]})
    scripted.routes["/wp-json/wc/v3/products"] = Reply(200, [], headers={"X-WP-Total": "0", "X-WP-TotalPages": "0"})
    scripted.routes["/wp-json/wc/v3/system_status"] = Reply(
        200, {"environment": {"wp_version": "6.4.1", "version": "8.2.2"}})
    # An empty batch answers [], a JSON list, not {} (recordings/25).
    scripted.routes["/wp-json/wc/v3/products/batch"] = Reply(200, [])


def test_check_passes_on_a_store_whose_empty_batch_answers_a_list(scripted):
    _real_store_routes(scripted)
    report = run_check(settings(scripted.url, permalinks="pretty"))
    assert (report.kind, report.exit_code, report.can_write) == ("ok", 0, True), report.message


def test_check_sends_no_keys_to_wordpress_routes(self_signed_cert):
    """Over https WordPress reads any Basic header on its own routes as an application password
    and answers 401 invalid_username for a WooCommerce key (recordings/26): the index is public,
    so it is asked without credentials, and the wc/v3 routes with them."""
    cert, key = self_signed_cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ScriptedServer(tls_context=context).start()
    try:
        _real_store_routes(server)
        for auth in ("basic", "query"):
            server.requests.clear()
            report = run_check(settings(server.url, permalinks="pretty", verify_tls=False, auth=auth))
            assert (report.kind, report.exit_code) == ("ok", 0), report.message
            by_path = {r["path"]: r for r in server.requests}
            index = by_path["/wp-json/"]
            assert "Authorization" not in index["headers"] and "consumer_key" not in index["query"]
            products = by_path["/wp-json/wc/v3/products"]
            assert ("Authorization" in products["headers"]) == (auth == "basic")
            assert ("consumer_key" in products["query"]) == (auth == "query")
    finally:
        server.stop()


def test_a_non_empty_batch_answered_with_a_list_is_still_refused(scripted_client, scripted):
    from wsync.store import errors as E

    scripted.default = Reply(200, [])
    with pytest.raises(E.NotWooCommerce, match="without a batch result"):
        scripted_client.batch("products/batch", {"update": [{"id": 1, "name": "x"}]})


def test_check_says_where_a_gtin_goes_by_the_stores_version():
    from wsync.store.check import gtin_note

    assert "no GTIN field" in gtin_note("8.2.2") and "_global_unique_id" in gtin_note("8.2.2")
    assert "own GTIN field" in gtin_note("9.4.0") and "own GTIN field" in gtin_note("10.0")
    assert "unknown" in gtin_note(None)
