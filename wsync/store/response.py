"""What one request brought back, and the request counters kept for reports."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from wsync.store.signing import strip_auth_params

_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass
class StoreResponse:
    status: int
    headers: Any            # case-insensitive mapping (requests' CaseInsensitiveDict)
    data: Any               # decoded JSON
    elapsed: float          # seconds, for the request that answered (not counting retries)
    attempts: int = 1

    def _int_header(self, name: str) -> int | None:
        value = self.headers.get(name) if self.headers is not None else None
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    @property
    def total(self) -> int | None:
        return self._int_header("X-WP-Total")

    @property
    def total_pages(self) -> int | None:
        return self._int_header("X-WP-TotalPages")

    @property
    def next_url(self) -> str | None:
        """The Link header's next page, without the oauth_*/consumer_* params it copies from the request."""
        link = self.headers.get("Link") if self.headers is not None else None
        match = _LINK_NEXT.search(link or "")
        return strip_auth_params(match.group(1)) if match else None


@dataclass
class Counters:
    """Requests actually sent (every attempt that reached the store), by kind. Thread-safe."""

    read: int = 0
    write: int = 0
    retries: int = 0
    longest_s: float = 0.0  # the longest any answered request took: a lower bound of the store's limit
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, method: str) -> None:
        with self._lock:
            if method.upper() in ("GET", "HEAD", "OPTIONS"):
                self.read += 1
            else:
                self.write += 1

    def answered_in(self, seconds: float) -> None:
        with self._lock:
            self.longest_s = max(self.longest_s, seconds)

    def count_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {"read": self.read, "write": self.write, "retries": self.retries}
