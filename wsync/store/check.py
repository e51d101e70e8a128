"""`wsync check`: connect, authenticate, and say exactly what is wrong when something is.

Each failure kind has its own exit code so scripts can tell a typo in the URL from a read-only key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wsync.errors import ConfigError, WsyncError
from wsync.redact import redact
from wsync.store import errors as E
from wsync.store.client import StoreClient
from wsync.store.settings import StoreSettings

# kind -> (exit code, what it means). Documented in docs/store.md and `wsync check --help`.
EXIT_CODES: dict[str, tuple[int, str]] = {
    "ok": (0, "connected, keys can read and write"),
    "config": (2, "configuration error (nothing was sent)"),
    "dns": (10, "the store's host name does not resolve"),
    "refused": (11, "connection refused (nothing listens on that port)"),
    "tls": (12, "TLS error (certificate not trusted or wrong host)"),
    "timeout": (13, "the store did not answer in time"),
    "not_wordpress": (14, "the URL answers, but it is not a WordPress REST API"),
    "no_woocommerce": (15, "WordPress without WooCommerce (no wc/v3 routes)"),
    "wrong_secret": (16, "the consumer secret is wrong (or the OAuth signature does not match)"),
    "unknown_key": (17, "the store does not know the consumer key"),
    "read_only": (18, "the key cannot write (read-only key or user without the capability)"),
    "plain_http_refused": (19, "plain HTTP to a non-local host refused"),
    "store_error": (20, "any other store failure (server errors, redirects, clock skew)"),
}


@dataclass
class CheckReport:
    url: str
    ok: bool = False
    kind: str = "ok"
    message: str = ""
    hint: str | None = None
    wordpress_version: str | None = None
    woocommerce_version: str | None = None
    site_name: str | None = None
    can_read: bool | None = None
    can_write: bool | None = None
    permalinks: str | None = None
    rtt_ms: float | None = None
    auth: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)
    requests: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.kind][0]

    def fail(self, kind: str, error: BaseException | str, hint: str | None = None) -> CheckReport:
        self.ok = False
        self.kind = kind
        self.message = redact(getattr(error, "message", None) or str(error))
        self.hint = redact(hint or getattr(error, "hint", None) or "") or None
        return self

    def step(self, name: str, ok: bool, detail: str) -> None:
        self.steps.append({"step": name, "ok": ok, "detail": redact(detail)})

    def as_dict(self) -> dict[str, Any]:
        return {
            "success": self.ok, "exit_code": self.exit_code, "kind": self.kind, "url": self.url,
            "message": self.message, "hint": self.hint, "site_name": self.site_name,
            "wordpress_version": self.wordpress_version, "woocommerce_version": self.woocommerce_version,
            "auth": self.auth, "can_read": self.can_read, "can_write": self.can_write,
            "permalinks": self.permalinks, "rtt_ms": self.rtt_ms, "steps": self.steps, "requests": self.requests,
        }


def _kind_of(error: WsyncError) -> str:
    if isinstance(error, E.PlainHttpRefused):
        return "plain_http_refused"
    if isinstance(error, ConfigError):
        return "config"
    if isinstance(error, E.StoreConnectionError):
        return error.kind if error.kind in ("dns", "refused", "tls", "timeout") else "store_error"
    if isinstance(error, E.NotWooCommerce):
        return "not_wordpress"
    if isinstance(error, E.StoreAuthError):
        return {"wrong_secret": "wrong_secret", "unknown_key": "unknown_key", "read_only": "read_only",
                "capability": "read_only"}.get(error.kind, "store_error")
    return "store_error"


def run_check(settings: StoreSettings) -> CheckReport:
    report = CheckReport(url=redact(settings.root_url))
    # A diagnosis should answer in seconds: at most one retry, short waits.
    settings = settings.with_changes(max_attempts=min(settings.max_attempts, 2),
                                     max_retry_wait_s=min(settings.max_retry_wait_s, 5.0))
    try:
        client = StoreClient(settings)
    except WsyncError as exc:
        report.step("settings", False, str(exc))
        return report.fail(_kind_of(exc), exc)
    report.auth = settings.effective_auth()
    try:
        with client:
            _run(client, report)
    except WsyncError as exc:
        report.fail(_kind_of(exc), exc)
    finally:
        report.requests = client.counters.as_dict()
    return report


def _run(client: StoreClient, report: CheckReport) -> None:
    # 1. Is this WordPress, and does it route wc/v3?
    index = client.get_route("/")
    data = index.data if isinstance(index.data, dict) else {}
    namespaces = data.get("namespaces")
    if not isinstance(namespaces, list):
        report.step("wordpress", False, "no REST index at /wp-json/")
        report.fail("not_wordpress", f"{report.url} answers, but not with a WordPress REST index",
                    "check that [store] url is the WordPress site root")
        return
    report.site_name = data.get("name")
    report.permalinks = "plain" if client.uses_plain_permalinks else "pretty"
    report.step("wordpress", True, f"REST index found ({report.permalinks} permalinks)")
    if client.settings.api_version not in namespaces:
        report.step("woocommerce", False, "no wc/v3 namespace")
        report.fail("no_woocommerce", f"{report.url} is WordPress, but WooCommerce's REST API "
                    f"({client.settings.api_version}) is not there", "install and activate WooCommerce")
        return
    # 2. Can the keys read? (the products list needs the same rights a sync needs)
    try:
        listing = client.get("products", params={"per_page": 1, "_fields": "id"})
    except E.NotFound as exc:
        if exc.kind == "no_route":
            report.fail("no_woocommerce", exc, "install and activate WooCommerce")
            return
        raise
    report.can_read = True
    report.rtt_ms = round(listing.elapsed * 1000, 1)
    report.step("read", True, f"keys accepted, products listed in {report.rtt_ms} ms")
    # 3. Versions, where the key may read them (system_status needs manage_woocommerce).
    try:
        status = client.get("system_status", params={"_fields": "environment"}).data
        env = status.get("environment", {}) if isinstance(status, dict) else {}
        report.wordpress_version = env.get("wp_version")
        report.woocommerce_version = env.get("version")
        report.step("versions", True, f"WordPress {report.wordpress_version}, WooCommerce {report.woocommerce_version}")
        report.step("gtin", True, gtin_note(report.woocommerce_version))
    except E.StoreError as exc:
        if isinstance(exc, (E.StoreConnectionError, E.StoreServerError)):
            raise
        report.step("versions", False, f"system status not readable ({exc.code or exc.status})")
    # 4. Can the keys write? An empty batch changes nothing but goes through the write checks.
    try:
        client.batch("products/batch", {})
    except E.StoreAuthError as exc:
        report.can_write = False
        report.step("write", False, exc.message)
        report.fail("read_only", exc, exc.hint or "create a Read/Write key")
        return
    report.can_write = True
    report.step("write", True, "keys can write")
    report.ok = True
    report.kind = "ok"
    report.message = f"{report.url}: connected, keys can read and write"


def gtin_note(version: str | None) -> str:
    """Where a feed's GTIN / UPC / EAN / ISBN lands on this store. wsync writes it as the meta
    `_global_unique_id`: WooCommerce 9.2+ keeps its own GTIN field in that meta and sets the field
    from it; older versions have no field and keep it as meta."""
    try:
        major, minor = (int(part) for part in (version or "").split(".")[:2])
    except ValueError:
        return "GTINs are written as the meta _global_unique_id (the store's version is unknown)"
    if (major, minor) >= (9, 2):
        return f"GTINs go to WooCommerce {version}'s own GTIN field (kept in the meta _global_unique_id)"
    return (f"GTINs are kept as the meta _global_unique_id: WooCommerce {version} has no GTIN field "
            "(9.2+ reads that meta as its own)")
