"""Typed store errors: what WooCommerce answered (code, message, HTTP status, data) in plain words.

Every message names the store (URL redacted), the endpoint and the cause. `kind` is a short
machine-readable cause that `wsync check` turns into its own exit code.
"""

from __future__ import annotations

from typing import Any

from wsync.errors import EXIT_STORE, ConfigError, WsyncError
from wsync.redact import redact


class StoreError(WsyncError):
    """The store answered with an error (or no usable answer) for one request."""

    kind = "store_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        data: dict[str, Any] | None = None,
        endpoint: str | None = None,
        store_url: str | None = None,
        kind: str | None = None,
        hint: str | None = None,
    ):
        super().__init__(redact(message), hint=redact(hint) if hint else None)
        self.status = status
        self.code = code
        self.data = data or {}
        self.endpoint = endpoint
        self.store_url = redact(store_url) if store_url else None
        if kind:
            self.kind = kind

    @property
    def resource_id(self) -> int | None:
        value = self.data.get("resource_id")
        return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else None

    def as_dict(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "kind": self.kind, "status": self.status, "code": self.code,
                "message": self.message, "data": self.data, "endpoint": self.endpoint}

    @classmethod
    def from_body(cls, body: dict[str, Any], *, status: int | None = None, **kwargs: Any) -> StoreError:
        """An item error inside a batch answer: `{"code", "message", "data": {"status", ...}}`."""
        raw = body.get("data")
        data = raw if isinstance(raw, dict) else {}
        return cls(str(body.get("message") or body.get("code") or "unknown error"),
                   status=data.get("status", status), code=body.get("code"), data=data, **kwargs)


class StoreServerError(StoreError):
    """The store kept failing (429/5xx) after every allowed retry: nothing more can be sent now."""

    exit_code = EXIT_STORE
    kind = "server_error"


class StoreAuthError(StoreError):
    """401/403: the keys were refused, or lack the capability (read-only key, wrong user role)."""

    exit_code = EXIT_STORE
    kind = "auth"


class StoreConnectionError(StoreError):
    """No answer at all: DNS, refused, TLS, or timeouts after every retry."""

    exit_code = EXIT_STORE
    kind = "connection"


class OutcomeUnknown(StoreError):
    """A non-idempotent write was sent and no trustworthy answer came back: it may have landed.
    Reconcile by SKU before sending it again."""

    exit_code = EXIT_STORE
    kind = "outcome_unknown"


class NotFound(StoreError):
    kind = "not_found"


class BatchTooLarge(StoreError):
    """More items than one batch request accepts (413 `woocommerce_rest_request_entity_too_large`)."""

    kind = "batch_too_large"


class NotWooCommerce(StoreError):
    """The URL answers, but not as a WooCommerce REST API (HTML page, WordPress without WooCommerce)."""

    exit_code = EXIT_STORE
    kind = "not_woocommerce"


class PlainHttpRefused(ConfigError):
    """Keys would travel over plain HTTP to another machine."""

    kind = "plain_http_refused"
