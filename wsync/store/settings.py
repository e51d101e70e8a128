"""How to reach one store: URL, keys, auth style, TLS, timeouts, retry budget, concurrency."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from wsync.errors import ConfigError
from wsync.store.errors import PlainHttpRefused

AUTH_STYLES = ("auto", "basic", "query", "oauth")
PERMALINK_STYLES = ("auto", "pretty", "plain")


@dataclass
class StoreSettings:
    url: str
    consumer_key: str
    consumer_secret: str
    auth: str = "auto"
    verify_tls: bool = True
    allow_insecure_http: bool = False
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    # The longest a request may keep running on the store, answered or not (PHP goes on after
    # its client is gone): a write sent longer ago than this cannot land any more.
    max_request_s: float = 300.0
    max_attempts: int = 5
    max_retry_wait_s: float = 120.0
    backoff_base_s: float = 0.5
    concurrency: int = 2
    api_version: str = "wc/v3"
    permalinks: str = "auto"
    user_agent: str = field(default="wsync")

    @property
    def root_url(self) -> str:
        """The site root without a trailing slash: the base every signature is computed over."""
        return self.url.strip().rstrip("/")

    @property
    def is_https(self) -> bool:
        return urlsplit(self.root_url).scheme == "https"

    @property
    def host(self) -> str:
        return urlsplit(self.root_url).hostname or ""

    def effective_auth(self) -> str:
        if self.auth == "auto":
            return "basic" if self.is_https else "oauth"
        return self.auth

    def with_changes(self, **changes: Any) -> StoreSettings:
        """A copy with some fields changed (dataclasses.replace checks the names)."""
        return replace(self, **changes)

    def validate(self) -> None:
        """Refuse settings that cannot work or would leak the keys, before anything is sent."""
        parts = urlsplit(self.root_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"store url {self.url!r} is not an http(s) URL", key="store.url",
                              hint="write the site's address, e.g. url = \"https://shop.example.com\"")
        if parts.query or parts.fragment:
            raise ConfigError("store url must not carry a query string or fragment", key="store.url",
                              hint="give the site root; wsync adds /wp-json/wc/v3/... itself")
        if "/wp-json" in parts.path:
            raise ConfigError("store url must be the site root, not the REST API address", key="store.url",
                              hint=f"use {parts.scheme}://{parts.netloc}{parts.path.split('/wp-json')[0]}")
        if not self.consumer_key or not self.consumer_secret:
            raise ConfigError("consumer_key and consumer_secret are required", key="store",
                              hint="create a REST API key in WooCommerce > Settings > Advanced > REST API, "
                                   "or set WSYNC_CONSUMER_KEY / WSYNC_CONSUMER_SECRET")
        if self.auth not in AUTH_STYLES:
            raise ConfigError(f"auth must be one of {', '.join(AUTH_STYLES)}, not {self.auth!r}", key="store.auth")
        if self.permalinks not in PERMALINK_STYLES:
            raise ConfigError(f"permalinks must be one of {', '.join(PERMALINK_STYLES)}, not {self.permalinks!r}",
                              key="store.permalinks")
        if not self.is_https and not self.allow_insecure_http and not is_loopback(parts.hostname):
            raise PlainHttpRefused(
                f"refusing plain HTTP to {parts.hostname}: the consumer key and every product would cross "
                "the network unprotected", key="store.url",
                hint="use https://, or set allow_insecure_http = true in [store] if the network is trusted")
        auth = self.effective_auth()
        # WooCommerce only parses Basic/query keys over TLS and only checks OAuth without it.
        if not self.is_https and auth in ("basic", "query"):
            raise ConfigError(f"auth = {auth!r} does not work over plain HTTP (WooCommerce ignores the keys)",
                              key="store.auth", hint="use auth = \"oauth\" or \"auto\", or an https:// URL")
        if self.is_https and auth == "oauth":
            raise ConfigError("auth = \"oauth\" does not work over HTTPS (WooCommerce expects Basic or query keys)",
                              key="store.auth", hint="use auth = \"basic\", \"query\" or \"auto\"")
        for name in ("connect_timeout", "read_timeout", "max_retry_wait_s", "backoff_base_s", "max_request_s"):
            if float(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must not be negative", key=f"store.{name}")
        if self.max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1", key="store.max_attempts")
        if self.concurrency < 1:
            raise ConfigError("concurrency must be at least 1", key="store.concurrency")


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
