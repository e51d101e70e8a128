"""Deleting attachments: the one write wc/v3 has no route for.

WooCommerce's REST API creates attachments (a product's `images[].src`) but cannot delete them,
and deleting a product leaves its attachments behind. WordPress's own `wp/v2/media/ID?force=true`
can, and it authenticates a WordPress user's application password, never a WooCommerce key
(recordings/26). So `wsync undo` deletes the attachments a job made when WSYNC_WP_USER and
WSYNC_WP_APP_PASSWORD name one (Users > Profile > Application Passwords), and otherwise says how
many it left.
"""

from __future__ import annotations

import os
from typing import Any

import requests

from wsync.redact import register_secret
from wsync.store.errors import StoreError

ENV_USER = "WSYNC_WP_USER"
ENV_PASSWORD = "WSYNC_WP_APP_PASSWORD"


class MediaClient:
    def __init__(self, root_url: str, user: str, password: str, *, verify: Any = True, timeout: float = 60.0,
                 pretty: bool = True):
        self.root_url = root_url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (user, password)
        self.session.verify = verify
        self.timeout = timeout
        self.pretty = pretty
        self.deleted = 0

    @classmethod
    def for_settings(cls, settings: Any, client: Any = None) -> MediaClient | None:
        user, password = os.environ.get(ENV_USER), os.environ.get(ENV_PASSWORD)
        store = getattr(settings, "store", None)
        if not user or not password or store is None:
            return None
        register_secret(password)
        pretty = not bool(getattr(client, "uses_plain_permalinks", False))
        verify: Any = store.verify_tls
        if verify and os.environ.get("REQUESTS_CA_BUNDLE"):
            verify = os.environ["REQUESTS_CA_BUNDLE"]
        return cls(store.root_url, user, password, verify=verify, timeout=store.read_timeout, pretty=pretty)

    def _url(self, attachment_id: int) -> tuple[str, dict[str, str]]:
        if self.pretty:
            return f"{self.root_url}/wp-json/wp/v2/media/{int(attachment_id)}", {"force": "true"}
        return f"{self.root_url}/", {"rest_route": f"/wp/v2/media/{int(attachment_id)}", "force": "true"}

    def delete(self, attachment_id: int) -> bool:
        """Delete one attachment and its files; True when it is gone (also when it already was)."""
        url, params = self._url(attachment_id)
        for attempt in range(3):
            try:
                response = self.session.delete(url, params=params, timeout=(10, self.timeout))
                break
            except requests.RequestException as exc:  # a delete is idempotent: try again
                if attempt == 2:
                    raise StoreError(f"DELETE wp/v2/media/{attachment_id}: {exc}",
                                     code="wsync_media_unreachable") from exc
        if response.status_code == 404:
            return True
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 400 or not (isinstance(body, dict) and body.get("deleted")):
            code = body.get("code") if isinstance(body, dict) else None
            message = body.get("message") if isinstance(body, dict) else response.text[:200]
            raise StoreError(message or f"HTTP {response.status_code}", status=response.status_code, code=code)
        self.deleted += 1
        return True
