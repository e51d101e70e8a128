"""Durations as people write them on a command line: 90, 30s, 5m, 2h, 1d, 1h30m."""

from __future__ import annotations

import re

from wsync.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(text: str, *, option: str = "duration") -> float:
    """Seconds in `text`. A bare number is seconds. Raises UsageError naming the option."""
    raw = str(text).strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return float(raw)
    parts = _PART.findall(raw)
    if not raw or not parts or "".join(n + u for n, u in parts) != raw:
        raise UsageError(f"{option}: {text!r} is not a duration",
                         hint="write it as seconds or with a unit: 30s, 5m, 2h, 1d, 1h30m")
    return float(sum(float(n) * _UNITS[u] for n, u in parts))
