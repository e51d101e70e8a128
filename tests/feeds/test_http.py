"""HTTP sources against a local server: conditional fetch, gzip, auth, failures, HTML, paginated APIs."""

from __future__ import annotations

import json

import pytest

from wsync.errors import FeedRefused
from wsync.feeds import FeedSpec, load_catalogue
from wsync.redact import redact

CSV = b"sku,name,price\nA1,Lamp,10.00\nA2,Chair,20.00\n"


def url_spec(server, path, tmp_path, **table):
    return FeedSpec.from_config("http", {"source": server.url + path, "retry_wait": 0, "retries": 2, **table},
                                tmp_path)


def test_etag_round_trip_gives_not_modified(feed_server, tmp_path):
    feed_server.routes["/feed.csv"] = {"body": CSV, "etag": '"v1"',
                                       "headers": {"Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}}
    s = url_spec(feed_server, "/feed.csv", tmp_path)
    first = load_catalogue(s)
    assert first.counts["products"] == 2 and first.fetch_state["etag"] == '"v1"'
    second = load_catalogue(s, fetch_state=first.fetch_state)
    assert second.not_modified and second.products == []
    assert feed_server.requests[-1]["headers"]["If-None-Match"] == '"v1"'
    assert feed_server.requests[-1]["headers"]["If-Modified-Since"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    forced = load_catalogue(s, fetch_state=first.fetch_state, force=True)
    assert not forced.not_modified and forced.counts["products"] == 2
    assert "If-None-Match" not in feed_server.requests[-1]["headers"]


def test_gzip_content_encoding_and_gzip_file(feed_server, tmp_path):
    import gzip

    feed_server.routes["/enc.csv"] = {"body": CSV, "gzip": True}
    feed_server.routes["/file.csv.gz"] = {"body": gzip.compress(CSV), "headers": {"Content-Type": "application/gzip"}}
    assert load_catalogue(url_spec(feed_server, "/enc.csv", tmp_path)).counts["products"] == 2
    assert load_catalogue(url_spec(feed_server, "/file.csv.gz", tmp_path, format="csv")).counts["products"] == 2


def test_auth_headers_from_environment_are_sent_and_redacted(feed_server, tmp_path, monkeypatch):
    monkeypatch.setenv("SUPPLIER_TOKEN", "tok-very-secret-123456")
    monkeypatch.setenv("SUPPLIER_KEY", "key-very-secret-654321")
    feed_server.routes["/bearer.csv"] = {"body": CSV,
                                         "require_header": ("Authorization", "Bearer tok-very-secret-123456")}
    feed_server.routes["/key.csv"] = {"body": CSV, "require_header": ("X-Api-Key", "key-very-secret-654321")}
    s = url_spec(feed_server, "/bearer.csv", tmp_path, auth={"type": "bearer", "token_env": "SUPPLIER_TOKEN"})
    assert load_catalogue(s).counts["products"] == 2
    s = url_spec(feed_server, "/key.csv", tmp_path, headers_env={"X-Api-Key": "SUPPLIER_KEY"})
    assert load_catalogue(s).counts["products"] == 2
    assert "very-secret" not in redact("token tok-very-secret-123456 and key-very-secret-654321")
    monkeypatch.setenv("FEED_USER", "reseller")
    monkeypatch.setenv("FEED_PASS", "basic-pass-secret")
    feed_server.routes["/basic.csv"] = {"body": CSV, "require_header": (
        "Authorization", "Basic cmVzZWxsZXI6YmFzaWMtcGFzcy1zZWNyZXQ=")}
    s = url_spec(feed_server, "/basic.csv", tmp_path, auth={"type": "basic", "username_env": "FEED_USER",
                                                           "password_env": "FEED_PASS"})
    assert load_catalogue(s).counts["products"] == 2


def test_wrong_credentials_and_missing_env(feed_server, tmp_path, monkeypatch):
    feed_server.routes["/key.csv"] = {"body": CSV, "require_header": ("X-Api-Key", "right")}
    monkeypatch.setenv("SUPPLIER_KEY", "wrong-key-value")
    with pytest.raises(FeedRefused, match="HTTP 401") as exc:
        load_catalogue(url_spec(feed_server, "/key.csv", tmp_path, headers_env={"X-Api-Key": "SUPPLIER_KEY"}))
    assert "wrong-key-value" not in str(exc.value)
    monkeypatch.delenv("SUPPLIER_KEY")
    with pytest.raises(FeedRefused, match="SUPPLIER_KEY"):
        load_catalogue(url_spec(feed_server, "/key.csv", tmp_path, headers_env={"X-Api-Key": "SUPPLIER_KEY"}))


def test_server_error_is_retried_then_refused(feed_server, tmp_path):
    feed_server.routes["/broken.csv"] = {"body": b"oops", "status": 500}
    with pytest.raises(FeedRefused, match=r"HTTP 500.*after 2 attempt"):
        load_catalogue(url_spec(feed_server, "/broken.csv", tmp_path))
    assert sum(r["path"] == "/broken.csv" for r in feed_server.requests) == 2


def test_html_error_page_with_200_is_refused(feed_server, tmp_path):
    feed_server.routes["/feed.csv"] = {"body": b"<html><head><title>Login</title></head><body>sign in</body></html>",
                                       "headers": {"Content-Type": "text/html"}}
    with pytest.raises(FeedRefused, match=r"HTML page.*Login"):
        load_catalogue(url_spec(feed_server, "/feed.csv", tmp_path))


def _items(n, start=0):
    return [{"sku": f"P{i}", "name": f"Product {i}", "price": "1.00"} for i in range(start, start + n)]


def test_api_page_pagination_stops_on_short_page(feed_server, tmp_path):
    def handler(query, headers):
        page = int(query["page"][0])
        size = int(query["per_page"][0])
        items = _items(size, (page - 1) * size) if page < 3 else _items(1, 100)
        return 200, {"Content-Type": "application/json"}, json.dumps({"data": {"products": items}}).encode()

    feed_server.routes["/api/products"] = {"handler": handler}
    s = url_spec(feed_server, "/api/products", tmp_path, items_path="data.products",
                 pagination={"type": "page", "page_size": 2})
    result = load_catalogue(s)
    assert result.counts["products"] == 5
    assert [r["query"]["page"] for r in feed_server.requests] == [["1"], ["2"], ["3"]]


def test_api_offset_and_next_link(feed_server, tmp_path):
    def offset_handler(query, headers):
        offset = int(query["offset"][0])
        items = _items(3, offset) if offset < 6 else []
        return 200, {}, json.dumps(items).encode()

    feed_server.routes["/api/off"] = {"handler": offset_handler}
    s = url_spec(feed_server, "/api/off", tmp_path, pagination={"type": "offset", "page_size": 3})
    assert load_catalogue(s).counts["products"] == 6

    def next_handler(query, headers):
        page = int(query.get("p", ["1"])[0])
        body = {"items": _items(2, page * 10), "next": f"/api/next?p={page + 1}" if page < 3 else None}
        link = {"Link": f'<{feed_server.url}/api/link?p={page + 1}>; rel="next"'} if page < 2 else {}
        return 200, link, json.dumps(body).encode()

    feed_server.routes["/api/next"] = {"handler": next_handler}
    feed_server.routes["/api/link"] = {"handler": next_handler}
    s = url_spec(feed_server, "/api/next", tmp_path, pagination={"type": "next", "next_path": "next"})
    assert load_catalogue(s).counts["products"] == 6
    s = url_spec(feed_server, "/api/link", tmp_path, pagination={"type": "next"})
    assert load_catalogue(s).counts["products"] == 4


def test_api_max_pages_bound_and_error_places(feed_server, tmp_path):
    def endless(query, headers):
        page = int(query["page"][0])
        return 200, {}, json.dumps([{"sku": f"S{page}", "name": "x", "price": "bad" if page == 2 else "1"}]).encode()

    feed_server.routes["/api/endless"] = {"handler": endless}
    s = url_spec(feed_server, "/api/endless", tmp_path, pagination={"type": "page", "page_size": 1, "max_pages": 4})
    with pytest.raises(FeedRefused, match="max_pages = 4"):
        load_catalogue(s)
    s = url_spec(feed_server, "/api/endless", tmp_path,
                 pagination={"type": "page", "page_size": 5, "max_pages": 4})
    result = load_catalogue(s)  # first page is short: one item, stops
    assert result.counts["products"] == 1
