"""A paginated JSON HTTP API as a record stream: page/per_page, offset/limit, or next links.

`pagination = {type = "page" | "offset" | "next", page_param = "page", size_param = "per_page",
page_size = 100, start = 1, offset_param = "offset", limit_param = "limit", next_path = "links.next",
max_pages = 1000}`; with type "next" and no next_path the HTTP Link header (rel="next") is followed.
Items sit at `items_path` in each page. Paging stops on an empty page, a short page, a missing
next link, or `max_pages` (a safety bound against a server that never stops).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from wsync.errors import FeedRefused
from wsync.feeds.json_format import locate_items
from wsync.feeds.sources import auth_for, http_session, request_with_retries
from wsync.mapping.values import get_path
from wsync.redact import redact


def _with_params(url: str, params: dict[str, Any]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update({k: str(v) for k, v in params.items()})
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def iter_api(url: str, *, label: str, pagination: dict[str, Any], items_path: str | None, auth: dict[str, Any] | None,
             headers_env: dict[str, Any] | None, timeout: float, retries: int, retry_wait: float,
             verify: bool = True) -> Iterator[tuple[str, Any]]:
    basic, headers = auth_for(auth, headers_env, label)
    headers.setdefault("Accept", "application/json")
    session = http_session()
    kind = pagination.get("type", "page")
    size = int(pagination.get("page_size", 100))
    max_pages = int(pagination.get("max_pages", 1000))
    page_number = int(pagination.get("start", 1 if kind == "page" else 0))
    next_url: str | None = url
    for page in range(1, max_pages + 1):
        if kind == "page":
            request_url = _with_params(url, {pagination.get("page_param", "page"): page_number,
                                             pagination.get("size_param", "per_page"): size})
        elif kind == "offset":
            request_url = _with_params(url, {pagination.get("offset_param", "offset"): page_number,
                                             pagination.get("limit_param", "limit"): size})
        else:
            if not next_url:
                return
            request_url = next_url
        response = request_with_retries(session, request_url, label=label, retries=retries, retry_wait=retry_wait,
                                        timeout=timeout, stream=False, verify=verify, headers=headers, auth=basic)
        if response.status_code >= 400:
            raise FeedRefused(redact(f"{label} page {page}: the API answered HTTP {response.status_code}"),
                              hint="check the API URL and credentials")
        body = response.text
        if body.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
            raise FeedRefused(f"{label} page {page}: got an HTML page instead of JSON")
        try:
            document = json.loads(body)
        except json.JSONDecodeError as exc:
            raise FeedRefused(f"{label} page {page} line {exc.lineno} column {exc.colno}: invalid JSON "
                              f"({exc.msg})") from None
        items, _ = locate_items(document, items_path, f"{label} page {page}")
        for index, item in enumerate(items, 1):
            yield f"api page {page} item {index}", item
        if not items:
            return
        if kind == "page":
            page_number += 1
            if len(items) < size:
                return
        elif kind == "offset":
            page_number += len(items)
            if len(items) < size:
                return
        else:
            link = get_path(document, pagination["next_path"]) if pagination.get("next_path") \
                else response.links.get("next", {}).get("url")
            next_url = urljoin(request_url, link) if isinstance(link, str) and link else None
    raise FeedRefused(f"{label}: stopped after max_pages = {max_pages} pages without reaching the end",
                      hint="raise pagination.max_pages if the API really has more pages")
