"""Splitting SKU look-ups into `sku=A,B,C` requests whose URLs stay short.

Proxies and PHP setups commonly refuse URLs much over 2 KB, so each chunk's encoded `sku=`
value is kept within that budget (commas count three bytes once encoded).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

MAX_URL_BYTES = 2000


def chunk_skus(skus: list[str], *, base_len: int, max_items: int = 100,
               max_url_bytes: int = MAX_URL_BYTES) -> Iterator[list[str]]:
    budget = max(200, max_url_bytes - base_len)
    chunk: list[str] = []
    used = 0
    for sku in skus:
        cost = len(quote(sku, safe="")) + (3 if chunk else 0)
        if chunk and (used + cost > budget or len(chunk) >= max_items):
            yield chunk
            chunk, used = [], 0
            cost = len(quote(sku, safe=""))
        chunk.append(sku)
        used += cost
    if chunk:
        yield chunk
