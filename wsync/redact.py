"""Keep secrets out of everything wsync prints, logs or stores.

Every secret wsync learns (consumer key and secret, feed passwords and tokens) is registered
here the moment it is read; `redact()` is applied to every message before it reaches a
terminal, a log file, an exception text or the ledger. Query-string credentials and OAuth
signatures are scrubbed by pattern too, since URLs end up in error messages.
"""

from __future__ import annotations

import logging
import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()

_QUERY_SECRET = re.compile(
    r"(?i)\b(consumer_key|consumer_secret|oauth_signature|oauth_consumer_key|oauth_nonce|"
    r"access_token|api_key|apikey|token|password|secret)=([^&\s\"'#]+)"
)
_QUERY_WORDS = ("consumer_", "oauth_", "token", "api_key", "apikey", "password", "secret")
_BASIC_IN_URL = re.compile(r"(?i)\b(https?://)([^/\s:@]+):([^/\s@]+)@")
_AUTH_HEADER = re.compile(r"(?i)\b(authorization['\"]?\s*[:=]\s*['\"]?)(basic|bearer)\s+[A-Za-z0-9._~+/=-]+")


def register_secret(value: str | None) -> None:
    """Remember a secret so it is masked wherever it would appear. Short values are ignored
    (masking "a" everywhere would garble output without protecting anything)."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def mask(value: str | None) -> str:
    """Display form of a secret: its prefix and last four characters (`ck_…1a2b`)."""
    if not value:
        return ""
    if len(value) <= 8:
        return "…" + value[-2:] if len(value) > 4 else "…"
    prefix = value[:3] if value[:3] in ("ck_", "cs_") else ""
    return f"{prefix}…{value[-4:]}"


def redact(text: object) -> str:
    s = str(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in s:
            s = s.replace(secret, mask(secret) if len(secret) > 8 else "…")
    # Each pattern scans the whole text, and plans print megabytes through here: run a pattern
    # only where the words it needs are there at all (a lower-cased copy costs far less).
    low = s.lower()
    if "=" in s and any(word in low for word in _QUERY_WORDS):
        s = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}=REDACTED", s)
    if "@" in s and "://" in s:
        s = _BASIC_IN_URL.sub(lambda m: f"{m.group(1)}REDACTED@", s)
    if "authorization" in low:
        s = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)} REDACTED", s)
    return s


class RedactingFilter(logging.Filter):
    """A logging filter that renders the record and scrubs it, so no handler ever sees a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call must not crash the job
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
