"""WordPress text rules the store applies: slugs, price formatting, term-name escaping, autop."""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Any

_NOT_SLUG = re.compile(r"[^a-z0-9_-]+")
_DASHES = re.compile(r"-+")
_NOT_DECIMAL = re.compile(r"[^0-9.\-]")


def sanitize_title(value: str) -> str:
    """sanitize_title(): accents removed, lower case, anything else becomes a dash."""
    value = unicodedata.normalize("NFKD", html.unescape(str(value))).encode("ascii", "ignore").decode()
    value = _NOT_SLUG.sub("-", value.lower().replace(".", "-"))
    return _DASHES.sub("-", value).strip("-")


def format_decimal(value: Any) -> str:
    """wc_format_decimal() without a locale: a JSON number prints like PHP (10.0 -> "10"); a
    string keeps only digits, dots and minus ("12,50" -> "1250", "abc" -> "")."""
    if value is None or value is False:
        return ""
    if value is True:
        return "1"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return _NOT_DECIMAL.sub("", str(value))


def to_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def esc_term_name(name: str) -> str:
    """Term names are stored HTML-escaped (`A > B` is answered as `A &gt; B`)."""
    return html.escape(html.unescape(str(name)).strip(), quote=False)


def autop(text: str) -> str:
    """wpautop() for plain text, as a fresh read renders `description`: paragraphs in <p>."""
    if not text or text.lstrip().startswith("<"):
        return text
    paras = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join("<p>" + p.replace("\n", "<br />\n") + "</p>\n" for p in paras)


def stock_amount(value: Any) -> int | None:
    """wc_stock_amount(): integer part; null stays null."""
    if value is None or value == "":
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0
