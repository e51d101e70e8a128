"""Which failures are worth another attempt, and how long to wait before it.

A transient failure is either *provably not run* (the connection never opened, 429, 503 with
Retry-After: the store refused before doing anything) or *ambiguous* (read timeout, connection
dropped after the request went out, 500/502/504: the write may have landed). Idempotent requests
are retried on both; a create is retried only on the first kind, otherwise the caller gets
OutcomeUnknown and reconciles by SKU.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class Transient(Exception):
    """One failed attempt that another attempt might fix."""

    cause: str                       # plain words: "HTTP 503", "read timeout", "connection refused"
    kind: str                        # timeout | refused | dropped | status
    provably_not_run: bool
    status: int | None = None
    retry_after: float | None = None
    response: Any = None             # the StoreResponse of a status failure
    error: BaseException | None = None

    def __str__(self) -> str:
        return self.cause


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def classify_status(status: int, headers: Any) -> Transient | None:
    if status not in RETRY_STATUSES:
        return None
    retry_after = parse_retry_after(headers.get("Retry-After") if headers is not None else None)
    # 429 is a gate in front of the application; 503 with Retry-After is a maintenance/overload
    # answer given instead of running the request. Other 5xx may come after the work was done.
    not_run = status == 429 or (status == 503 and retry_after is not None)
    return Transient(cause=f"HTTP {status}", kind="status", provably_not_run=not_run,
                     status=status, retry_after=retry_after)


def classify_exception(exc: requests.RequestException) -> Transient | None:
    """Transient network failures; None for those no retry can fix (DNS, TLS, bad URL)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return None
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Transient(cause="connect timeout", kind="timeout", provably_not_run=True, error=exc)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Transient(cause="read timeout (no answer in time)", kind="timeout", provably_not_run=False, error=exc)
    if isinstance(exc, requests.exceptions.ConnectionError):
        if is_dns_failure(exc):
            return None
        if is_connect_failure(exc):
            return Transient(cause="connection refused", kind="refused", provably_not_run=True, error=exc)
        return Transient(cause="connection dropped before an answer", kind="dropped", provably_not_run=False,
                         error=exc)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return Transient(cause="answer cut off", kind="dropped", provably_not_run=False, error=exc)
    return None


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo.extend([item.__cause__, item.__context__])
        todo.extend(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return seen


def is_dns_failure(exc: BaseException) -> bool:
    import socket

    from urllib3.exceptions import NameResolutionError

    return any(isinstance(e, (NameResolutionError, socket.gaierror)) for e in _chain(exc))


def is_connect_failure(exc: BaseException) -> bool:
    """The TCP connection never opened, so the request was never sent."""
    from urllib3.exceptions import NewConnectionError

    return any(isinstance(e, (NewConnectionError, ConnectionRefusedError)) for e in _chain(exc))


def is_tls_failure(exc: BaseException) -> bool:
    import ssl

    return isinstance(exc, requests.exceptions.SSLError) or any(isinstance(e, ssl.SSLError) for e in _chain(exc))


def backoff_wait(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Full-jitter exponential backoff, or the store's own Retry-After; never above `cap`."""
    if retry_after is not None:
        return min(retry_after, cap)
    return min(cap, random.uniform(0, base * (2 ** (attempt - 1))) + base / 2)
