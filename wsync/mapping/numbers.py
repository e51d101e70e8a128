"""Locale-aware parsing of the numbers wholesalers write: "1.234,50", "12,50 €", "1,234.50", "$15".

Without an explicit locale the separators are guessed (documented in docs/feeds.md):
  * both "," and "." present: the one that comes last is the decimal separator;
  * only one kind, used more than once ("1.234.567"): thousands separators;
  * a single "," or "." followed by exactly three digits ("1,234", "1.234"): a "," is read as a
    thousands separator (en price lists), a "." as the decimal point (machine exports);
  * otherwise the single separator is the decimal separator ("12,50" -> 12.50).
An explicit `decimal = ","` / `locale = "de"` (or "." / "en") removes all guessing.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Currency marks and codes that may surround a price; stripped before parsing.
_CURRENCY = re.compile(r"(?i)(€|\$|£|¥|₹|₽|zł|kč|chf|eur|usd|gbp|sek|nok|dkk|pln|czk|huf|jpy|cad|aud|nzd|us\$|a\$|c\$)")
_SPACES = re.compile(r"[\s\u00a0\u202f']+")
_NUMBER = re.compile(r"^[+-]?\d[\d.,]*$|^[+-]?[.,]\d+$")

COMMA_LOCALES = {"de", "fr", "es", "it", "nl", "pt", "pl", "cs", "sk", "da", "sv", "fi", "nb", "no",
                 "ru", "tr", "hu", "ro", "bg", "hr", "sl", "el", "uk", "id", "vi"}
DOT_LOCALES = {"en", "us", "gb", "ch", "ja", "zh", "ko", "he", "th", "hi", "ms", "mx"}

TWO_PLACES = Decimal("0.01")


class NumberError(ValueError):
    """A value that is not a usable number; the message is the reason shown to the user."""


def decimal_separator_for(locale: str | None, decimal: str | None) -> str | None:
    """The decimal separator implied by the feed options, or None to use the heuristic."""
    if decimal:
        return decimal
    if not locale:
        return None
    lang = re.split(r"[-_]", locale.strip().lower())[0]
    if lang in COMMA_LOCALES:
        return ","
    if lang in DOT_LOCALES:
        return "."
    return None


_PLAIN = re.compile(r"\d{1,15}(?:\.\d{1,10})?\Z")
# The same in a "," locale ("54,30"): the comma is the decimal separator, there is no other.
_PLAIN_COMMA = re.compile(r"\d{1,15}(?:,\d{1,10})?\Z")


def parse_decimal(text: str, decimal: str | None = None) -> Decimal:
    """Parse a human-written number into a Decimal; raises NumberError with a reason."""
    raw = str(text).strip()
    # Most feed values are plain ("12.50", "7"): read them directly. A dotted value is plain
    # only where the dot is the decimal separator (a "," locale reads "1.234" as 1234).
    if _PLAIN.match(raw) and (decimal != "," or "." not in raw):
        return Decimal(raw)
    if decimal == "," and _PLAIN_COMMA.match(raw):
        return Decimal(raw.replace(",", "."))
    s = _CURRENCY.sub("", raw)
    s = _SPACES.sub("", s)
    negative = False
    if s.startswith("(") and s.endswith(")"):  # accounting notation for negatives
        negative, s = True, s[1:-1]
    if s.endswith("-") and s[:-1].replace(",", "").replace(".", "").isdigit():
        negative, s = True, s[:-1]
    if not s or not _NUMBER.match(s):
        raise NumberError("not a number")
    if s[0] in "+-":
        negative = negative or s[0] == "-"
        s = s[1:]
    s = _normalise_separators(s, decimal)
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise NumberError("not a number") from None
    if not value.is_finite():
        raise NumberError("not a finite number")
    return -value if negative else value


def _normalise_separators(s: str, decimal: str | None) -> str:
    if decimal in (",", "."):
        thousands = "." if decimal == "," else ","
        if s.count(decimal) > 1:
            raise NumberError(f"more than one decimal separator {decimal!r}")
        return s.replace(thousands, "").replace(decimal, ".")
    has_comma, has_dot = "," in s, "." in s
    if has_comma and has_dot:
        dec = "," if s.rfind(",") > s.rfind(".") else "."
        thousands = "." if dec == "," else ","
        if s.count(dec) > 1:
            raise NumberError("ambiguous separators")
        return s.replace(thousands, "").replace(dec, ".")
    sep = "," if has_comma else "." if has_dot else None
    if sep is None:
        return s
    if s.count(sep) > 1:
        return s.replace(sep, "")
    head, tail = s.split(sep)
    if sep == "," and len(tail) == 3 and head:
        return head + tail
    return head + "." + tail


def parse_price(text: str, decimal: str | None = None) -> str:
    """A price as WooCommerce wants it: a decimal string with two places; negative is refused."""
    value = parse_decimal(text, decimal)
    if value < 0:
        raise NumberError("negative price")
    return format_price(value)


def format_price(value: Decimal) -> str:
    return str(value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP))


def parse_measure(text: str, decimal: str | None = None) -> str:
    """A weight or dimension as a plain decimal string ("1.5"), without trailing zeros."""
    value = parse_decimal(re.sub(r"(?i)\s*(kg|g|lbs?|oz|cm|mm|m|in)\s*$", "", str(text)), decimal)
    if value < 0:
        raise NumberError("negative measure")
    normalised = value.normalize()
    return format(normalised, "f")


def parse_int(text: str, decimal: str | None = None) -> int:
    """A stock quantity: a whole number ("12", "12.0", "1.200" in a comma locale)."""
    if text.__class__ is str and text.isascii() and text.isdigit():
        return int(text)
    value = parse_decimal(text, decimal)
    if value != value.to_integral_value():
        raise NumberError("not a whole number")
    return int(value)
