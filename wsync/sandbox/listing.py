"""Collection parameters shared by the list endpoints: paging, ordering, `_fields`, Link headers."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote_plus

from wsync.sandbox.rest_error import invalid_param

# MySQL returns rows that tie on the ORDER BY column in no stable order, so a real store's
# default (date) paging loses and repeats products created in the same second (recordings/24).
# Ties are broken by a hash that changes with the page asked for, to keep that hazard visible.
_UNSTABLE_TIE = "((id * 2654435761 + {seed}) % 1000003)"


def int_param(params: dict, name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid_param(name, f"{name} is not of type integer.", "rest_invalid_type", {"param": name}) from None
    if value < minimum or (maximum is not None and value > maximum):
        if maximum:
            bounds = f"between {minimum} (inclusive) and {maximum} (inclusive)"
        else:
            bounds = f"greater than {minimum - 1}"
        raise invalid_param(name, f"{name} must be {bounds}", "rest_out_of_bounds")
    return value


def id_list(raw: Any) -> list[int]:
    if raw is None or raw == "":
        return []
    items = raw if isinstance(raw, list) else str(raw).split(",")
    out = []
    for item in items:
        item = str(item).strip()
        if item.isdigit():
            out.append(int(item))
    return out


class Paging:
    def __init__(self, params: dict, default_per_page: int = 10):
        self.per_page = int_param(params, "per_page", default_per_page, 1, 100)
        self.page = int_param(params, "page", 1, 1)
        offset = params.get("offset")
        self.offset = int_param(params, "offset", 0, 0) if offset not in (None, "") else (self.page - 1) * self.per_page

    def headers(self, total: int, link_base: str, query_pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        pages = math.ceil(total / self.per_page) if total else 0
        out = [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
        links = []
        if self.page > 1:
            links.append(f'<{_with_page(link_base, query_pairs, min(self.page - 1, max(pages, 1)))}>; rel="prev"')
        if pages > self.page:
            links.append(f'<{_with_page(link_base, query_pairs, self.page + 1)}>; rel="next"')
        if links:
            out.append(("Link", ", ".join(links)))
        return out


def _with_page(base: str, pairs: list[tuple[str, str]], page: int) -> str:
    """add_query_arg('page', n, base): the request's own parameters (oauth_* included, as a real
    store copies them), `page` replaced in place or appended."""
    replaced = False
    out = []
    for key, value in pairs:
        if key == "page":
            value, replaced = str(page), True
        out.append((key, value))
    if not replaced:
        out.append(("page", str(page)))
    sep = "&" if "?" in base else "?"
    return base + sep + "&".join(f"{quote_plus(k, safe='[]')}={quote_plus(v)}" for k, v in out)


def order_clause(params: dict, allowed: dict[str, str], default: str, unstable_seed: int | None = None,
                 include: list[int] | None = None) -> str:
    orderby = params.get("orderby") or default
    if orderby not in allowed and orderby != "include":
        names = [*allowed, "include"]
        raise invalid_param("orderby", f"orderby is not one of {', '.join(names[:-1])}, and {names[-1]}.",
                            "rest_not_in_enum")
    order = (params.get("order") or "desc").lower()
    if order not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc, and desc.", "rest_not_in_enum")
    direction = order.upper()
    if orderby == "include":
        if not include:
            return f"id {direction}"
        cases = " ".join(f"WHEN {i} THEN {n}" for n, i in enumerate(include))
        return f"CASE id {cases} ELSE {len(include)} END ASC"
    column = allowed[orderby]
    if column in ("date_created", "date_modified") and unstable_seed is not None:
        return f"{column} {direction}, " + _UNSTABLE_TIE.format(seed=unstable_seed)
    return f"{column} {direction}, id {direction}"


def trim_fields(doc: dict, fields_param: str | None) -> dict:
    """`_fields=a,b`: keep only those top-level keys (nested `a.b` keeps `a`); `id` stays."""
    if not fields_param:
        return doc
    wanted = _top_level(fields_param) | {"id"}
    return {k: v for k, v in doc.items() if k in wanted}


def _top_level(fields_param: Any) -> set[str]:
    """The top-level keys a `_fields` value names (`a.b` names `a`)."""
    return {f.strip().split(".")[0] for f in str(fields_param).split(",") if f.strip()}


def trim_answer(doc: Any, fields_param: Any) -> Any:
    """WordPress's `_fields` on one answer: only the keys named (`a.b` keeps `a`), `_links` kept,
    nothing added; an error slot of a batch (`{"id": 0, "error": ...}`) is not an answer and stays."""
    if not fields_param or not isinstance(doc, dict) or "error" in doc:
        return doc
    wanted = _top_level(fields_param) | {"_links"}
    return {k: v for k, v in doc.items() if k in wanted}
