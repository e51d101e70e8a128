"""WooCommerce REST authentication as class-wc-rest-authentication.php does it.

Plain HTTP: OAuth 1.0a one-legged (HMAC-SHA1/SHA256) signed over the store's own base URL.
HTTPS: Basic auth or `consumer_key`/`consumer_secret` in the query (query wins).
An unknown key given by Basic/query runs anonymously; an unknown OAuth key is an error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, unquote

from wsync.sandbox.rest_error import RestError

NONCE_WINDOW_S = 15 * 60
_OAUTH_PARAMS = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method")


@dataclass(frozen=True)
class ApiKey:
    consumer_key: str
    consumer_secret: str
    permissions: str  # "read_write" | "read"


def generate_key_pair() -> tuple[str, str]:
    return "ck_" + secrets.token_hex(20), "cs_" + secrets.token_hex(20)


def auth_error(message: str) -> RestError:
    return RestError("woocommerce_rest_authentication_error", message, 401)


def _rfc3986(value: str, safe: str = "") -> str:
    return quote(value, safe="-_.~" + safe)


def oauth_signature(method: str, base_url: str, params: dict[str, str], secret: str, algorithm: str,
                    keep_slashes: bool = False) -> str:
    """The signature WooCommerce expects: rawurlencode(URL), params sorted by key, each key and
    value rawurlencode(rawurldecode()), `key=value` encoded again, joined by %26.

    `keep_slashes` reproduces the `woocommerce` PyPI client, which leaves `/` unencoded in
    parameter values (it matters only for values holding a slash, such as `rest_route`)."""
    pairs = []
    safe = "/" if keep_slashes else ""
    for key in sorted(params):
        if key == "oauth_signature":
            continue
        k = _rfc3986(unquote(key), safe)
        v = _rfc3986(unquote(params[key]), safe)
        if keep_slashes:
            pairs.append(k.replace("%", "%25") + "%3D" + v.replace("%", "%25"))
        else:
            pairs.append(_rfc3986(f"{k}={v}"))
    string_to_sign = f"{method.upper()}&{_rfc3986(base_url)}&{'%26'.join(pairs)}"
    digest = hmac.new((secret + "&").encode(), string_to_sign.encode(), getattr(hashlib, algorithm)).digest()
    return base64.b64encode(digest).decode()


class Authenticator:
    def __init__(self, keys: list[ApiKey], clock: Callable[[], float] = time.time):
        self._keys = {k.consumer_key: k for k in keys}
        self._nonces: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self.clock = clock

    def authenticate(self, *, method: str, base_url: str, path: str, query: dict[str, str],
                     basic: tuple[str, str] | None, https: bool, insecure_basic: bool) -> ApiKey | None:
        """Return the key the request runs as, None for anonymous; raise RestError on a failed attempt."""
        if https:
            ck, cs = query.get("consumer_key"), query.get("consumer_secret")
            if not (ck and cs) and basic:
                ck, cs = basic
            return self._by_secret(ck, cs)
        if any(name in query for name in _OAUTH_PARAMS):
            return self._oauth(method, base_url + path, query)
        if insecure_basic and basic:
            return self._by_secret(*basic)
        return None

    def _by_secret(self, ck: str | None, cs: str | None) -> ApiKey | None:
        if not ck or not cs:
            return None
        key = self._keys.get(ck)
        if key is None:
            return None
        if not hmac.compare_digest(key.consumer_secret.encode(), cs.encode()):
            raise auth_error("Consumer secret is invalid.")
        return key

    def _oauth(self, method: str, url: str, params: dict[str, str]) -> ApiKey:
        missing = [p for p in _OAUTH_PARAMS if not params.get(p)]
        if missing:
            raise auth_error(f"Missing OAuth parameter {', '.join(missing)}")
        key = self._keys.get(params["oauth_consumer_key"])
        if key is None:
            raise auth_error("Consumer key is invalid.")
        sig_method = params["oauth_signature_method"]
        if sig_method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise auth_error("Invalid signature - signature method is invalid.")
        algorithm = sig_method[5:].lower()
        given = unquote(params["oauth_signature"].replace(" ", "+")).encode()
        candidates = {oauth_signature(method, url, params, key.consumer_secret, algorithm, keep_slashes=slashes)
                      for slashes in (False, True)}
        if not any(hmac.compare_digest(c.encode(), given) for c in candidates):
            raise auth_error("Invalid signature - provided signature does not match.")
        now = self.clock()
        try:
            stamp = int(params["oauth_timestamp"])
        except ValueError:
            raise auth_error("Invalid timestamp.") from None
        if stamp < now - NONCE_WINDOW_S or stamp > now + NONCE_WINDOW_S:
            raise auth_error("Invalid timestamp.")
        nonce_key = (key.consumer_key, params["oauth_nonce"])
        with self._lock:
            for old, seen in list(self._nonces.items()):
                if seen < now - NONCE_WINDOW_S:
                    del self._nonces[old]
            if nonce_key in self._nonces:
                raise auth_error("Invalid nonce - nonce has already been used.")
            self._nonces[nonce_key] = now
        return key


CAPABILITY_MESSAGES = {
    "view_list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
    "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
    "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
    "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
    "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
    "batch": ("woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource."),
}


def capability_error(action: str) -> RestError:
    code, message = CAPABILITY_MESSAGES[action]
    return RestError(code, message, 401)
