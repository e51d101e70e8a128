"""Request URLs and authentication for wc/v3, following the `woocommerce` package's layout.

Over HTTPS the keys go as Basic auth (or in the query string for hosts whose FastCGI setup
strips the Authorization header). Over plain HTTP WooCommerce checks an OAuth 1.0a one-legged
signature over the exact URL and query parameters, so every attempt is signed anew (fresh nonce
and timestamp: the store refuses a nonce it has seen).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from woocommerce.oauth import OAuth

from wsync.store.settings import StoreSettings

AUTH_QUERY_PARAMS = frozenset({
    "oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature_method", "oauth_signature",
    "oauth_version", "consumer_key", "consumer_secret",
})


class _WooOAuth(OAuth):
    """The package's signer with one fix: values are encoded like PHP's rawurlencode (which
    WooCommerce uses), so a "/" in a value (rest_route=/wc/v3/..., SKUs like A/B) is encoded too.
    The package keeps "/" literal and its signatures for such URLs would not match."""

    @staticmethod
    def generate_nonce() -> str:
        # The package draws 8 random digits (10^8 values); a store remembers every nonce for
        # 15 minutes, so a long import collides within tens of thousands of requests and gets
        # "nonce has already been used". 128 random bits never do.
        return secrets.token_hex(16)

    @staticmethod
    def normalize_parameters(params: Mapping[str, Any]) -> dict[str, str]:
        normalized: dict[str, str] = {}
        for key, value in (params or {}).items():
            text = value if isinstance(value, str) else _php_string(value)
            key_enc = quote(unquote(str(key)), safe="").replace("%", "%25")
            normalized[key_enc] = quote(unquote(text), safe="").replace("%", "%25")
        return normalized


def _php_string(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value % 1 == 0:
        return str(int(value))
    return str(value)


def query_value(value: Any) -> str:
    """What a parameter value looks like on the wire: booleans as WordPress reads them, lists comma-joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set)):
        return ",".join(query_value(v) for v in value)
    return str(value)


def normalize_params(params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> list[tuple[str, str]]:
    if not params:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    return [(str(k), query_value(v)) for k, v in items if v is not None]


def endpoint_url(settings: StoreSettings, endpoint: str, plain: bool) -> tuple[str, list[tuple[str, str]]]:
    """(URL without query, route params) for an endpoint like "products/batch".

    Pretty permalinks: {root}/wp-json/wc/v3/products. Plain permalinks: {root}?rest_route=/wc/v3/products,
    whose OAuth base URL is the site root (WordPress signs over home_url of the request path)."""
    route = f"/{settings.api_version.strip('/')}/{endpoint.lstrip('/')}".rstrip("/")
    return route_url(settings, route, plain)


def route_url(settings: StoreSettings, route: str, plain: bool) -> tuple[str, list[tuple[str, str]]]:
    if plain:
        return settings.root_url, [("rest_route", route)]
    return f"{settings.root_url}/wp-json{route}", []


def sign(settings: StoreSettings, method: str, url: str, params: list[tuple[str, str]],
         authenticate: bool = True) -> tuple[str, Any]:
    """Return (full URL, requests auth) for one attempt; with authenticate=False, no credentials."""
    if not authenticate:
        return _with_query(url, params), None
    auth_style = settings.effective_auth()
    if auth_style == "basic":
        return _with_query(url, params), (settings.consumer_key, settings.consumer_secret)
    if auth_style == "query":
        creds = [("consumer_key", settings.consumer_key), ("consumer_secret", settings.consumer_secret)]
        return _with_query(url, params + creds), None
    oauth = _WooOAuth(_with_query(url, params), settings.consumer_key, settings.consumer_secret,
                      version=settings.api_version, method=method.upper(), oauth_timestamp=int(time.time()))
    return oauth.get_oauth_url(), None


def _with_query(url: str, params: list[tuple[str, str]]) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def is_woocommerce_route(route: str) -> bool:
    """WooCommerce keys authenticate only its own namespaces (wc/v3, wc/store, wc-admin, ...).
    WordPress's routes (the index at /, wp/v2/...) read any Basic header as an application
    password and answer 401 invalid_username for a WooCommerce key (recordings/26), so those
    are sent without credentials: the index is public."""
    return route.strip("/").startswith("wc")


def strip_auth_params(url: str) -> str:
    """A URL the store handed back (Link header) without the request's credentials: sign it again."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in AUTH_QUERY_PARAMS]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), ""))


def split_url(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), parse_qsl(parts.query, keep_blank_values=True)
