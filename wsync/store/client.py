"""StoreClient: one pooled HTTP session to one WooCommerce store, with signing, retries and typed errors.

The `woocommerce` package opens a new connection per call (and a 5 s timeout); wsync keeps its
URL layout and OAuth signer but sends through a keep-alive `requests.Session` sized for the
configured concurrency, with separate connect and read timeouts.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypedDict

import requests
from requests.adapters import HTTPAdapter
from tenacity import RetryCallState, Retrying, retry_if_exception

from wsync.redact import RedactingFilter, redact, register_secret
from wsync.store import errors as E
from wsync.store.batches import BatchItemResult, batch_many
from wsync.store.limiter import Attempt, items_in
from wsync.store.response import Counters, StoreResponse
from wsync.store.retry import (
    Transient,
    backoff_wait,
    classify_exception,
    classify_status,
    is_connect_failure,
    is_dns_failure,
    is_tls_failure,
)
from wsync.store.settings import StoreSettings
from wsync.store.signing import endpoint_url, is_woocommerce_route, normalize_params, route_url, sign, split_url
from wsync.store.skus import chunk_skus

log = logging.getLogger("wsync.store")

BATCH_LIMIT = 100


def make_session(settings: StoreSettings, pool_size: int = 0) -> requests.Session:
    session = requests.Session()
    # One pool per host, as many kept-alive connections as requests in flight (at the most:
    # `pool_size`, the ceiling of an adaptive limit).
    adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(2, settings.concurrency, pool_size), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update({"Accept": "application/json", "User-Agent": settings.user_agent})
    return session


def _guard_loggers() -> None:
    """urllib3 logs whole request lines (with oauth/consumer params) at DEBUG: scrub at the source
    too, so even a handler wsync did not install never sees a key."""
    for name in ("urllib3.connectionpool", "wsync.store"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


def answer_fields(body: dict[str, list[Any]], fields: Sequence[str] | None
                  ) -> tuple[dict[str, list[Any]], dict[str, str] | None]:
    """A batch body and query that ask the store to build only `fields` of each saved item's
    answer: the query reaches the creates and filters the batch answer's own keys, so it names
    them too; an update sees only its own body, so each update carries the list (recordings/33)."""
    if not fields or not body:
        return body, None
    wanted = ",".join(fields)
    if body.get("update"):
        body = {**body, "update": [{**item, "_fields": wanted} if isinstance(item, dict) else item
                                   for item in body["update"]]}
    return body, {"_fields": ",".join(("create", "update", "delete", *fields))}


class StoreClient:
    def __init__(self, settings: StoreSettings, session: requests.Session | None = None, pool_size: int = 0):
        _guard_loggers()
        register_secret(settings.consumer_key)
        register_secret(settings.consumer_secret)
        settings.validate()
        self.settings = settings
        self.session = session or make_session(settings, pool_size)
        self.counters = Counters()
        # Told of every HTTP attempt, retried ones included (wsync.store.limiter.Attempt).
        self.observers: list[Callable[[Attempt], None]] = []
        self._plain = settings.permalinks == "plain"
        self._permalinks_lock = threading.Lock()
        self._permalinks_probed = settings.permalinks != "auto"
        self.sleep: Callable[[float], None] = time.sleep   # replaceable in tests
        if not settings.verify_tls:
            # Said once here instead of urllib3's warning on every request.
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            log.warning(redact(f"TLS certificate verification is off for {settings.root_url}"))

    # -- public API --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return redact(self.settings.root_url)

    @property
    def uses_plain_permalinks(self) -> bool:
        return self._plain

    def get(self, endpoint: str, params: Mapping[str, Any] | None = None) -> StoreResponse:
        return self._request("GET", endpoint, params=params, idempotent=True)

    def post(self, endpoint: str, data: Any, params: Mapping[str, Any] | None = None,
             idempotent: bool = False) -> StoreResponse:
        return self._request("POST", endpoint, params=params, data=data, idempotent=idempotent)

    def put(self, endpoint: str, data: Any, params: Mapping[str, Any] | None = None) -> StoreResponse:
        return self._request("PUT", endpoint, params=params, data=data, idempotent=True)

    def delete(self, endpoint: str, params: Mapping[str, Any] | None = None) -> StoreResponse:
        return self._request("DELETE", endpoint, params=params, idempotent=True)

    def get_route(self, route: str, params: Mapping[str, Any] | None = None) -> StoreResponse:
        """GET any REST route (e.g. "/" for the index of namespaces), outside wc/v3."""
        return self._request("GET", route, params=params, idempotent=True, raw_route=True)

    def get_url(self, url: str) -> StoreResponse:
        """GET an absolute URL the store handed out (a Link header's next page), signed anew."""
        base, params = split_url(url)
        return self._request("GET", base, params=params, idempotent=True, absolute=True)

    def iter_pages(self, endpoint: str, params: Mapping[str, Any] | None = None, per_page: int = 100,
                   fields: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a collection, in id order (the default date order loses and repeats items
        created in the same second)."""
        query = dict(params or {})
        query.setdefault("orderby", "id")
        query.setdefault("order", "asc")
        query["per_page"] = per_page
        if fields:
            query["_fields"] = ",".join(fields)
        page = 1
        while True:
            response = self.get(endpoint, params={**query, "page": page})
            items = response.data
            if not isinstance(items, list):
                raise E.NotWooCommerce(f"store {self.url} answered GET {endpoint} with a "
                                       f"{type(items).__name__}, not a list", endpoint=endpoint,
                                       store_url=self.url, kind="unexpected_answer")
            if not items:
                return
            yield from items
            pages = response.total_pages
            if (pages is not None and page >= pages) or (pages is None and len(items) < per_page):
                return
            page += 1

    def find_by_skus(self, skus: Iterable[str], fields: Iterable[str] | None = None,
                     endpoint: str = "products") -> list[dict[str, Any]]:
        """Products and variations holding any of `skus` (exact match), in chunks that keep each URL
        short. WooCommerce splits `sku=` on commas, so a SKU containing one cannot be looked up."""
        wanted = [s for s in dict.fromkeys(str(s) for s in skus) if s]
        lookable = [s for s in wanted if "," not in s]
        skipped = [s for s in wanted if "," in s]
        if skipped:
            log.debug("cannot look up %d SKU(s) containing a comma by sku=: %s", len(skipped),
                      ", ".join(skipped[:10]))
        field_list = None
        if fields:
            field_list = list(dict.fromkeys([*fields, "id", "sku", "type", "parent_id"]))
        found: list[dict[str, Any]] = []
        seen: set[int | None] = set()
        for chunk in chunk_skus(lookable, base_len=len(self.settings.root_url) + 300, max_items=BATCH_LIMIT):
            for item in self.iter_pages(endpoint, params={"sku": ",".join(chunk)}, fields=field_list):
                if item.get("id") not in seen:
                    seen.add(item.get("id"))
                    found.append(item)
        return found

    def batch(self, endpoint: str, payload: Mapping[str, list[Any]],
              fields: Sequence[str] | None = None) -> dict[str, Any]:
        """Send ONE batch request (create/update/delete <= 100 items in total). `fields`: the
        only fields the caller reads from each saved item's answer (e.g. id, sku); the store then
        builds no more than those (recordings/33: about a tenth of a product's server time, and
        an answer of 10 KB instead of 120 KB per 50 products)."""
        count = sum(len(payload.get(op) or []) for op in ("create", "update", "delete"))
        if count > BATCH_LIMIT:
            raise E.BatchTooLarge(f"a batch holds at most {BATCH_LIMIT} items, this one {count}",
                                  status=413, code="woocommerce_rest_request_entity_too_large",
                                  endpoint=endpoint, store_url=self.url)
        body, params = answer_fields({op: list(payload[op]) for op in ("create", "update", "delete")
                                      if payload.get(op)}, fields)
        response = self._request("POST", endpoint, params=params, data=body, idempotent=not body.get("create"))
        if not body and isinstance(response.data, list) and not response.data:
            # WooCommerce answers an empty batch with [], a JSON list (recordings/25).
            return {}
        if not isinstance(response.data, dict):
            raise E.NotWooCommerce(f"store {self.url} answered POST {endpoint} without a batch result",
                                   endpoint=endpoint, store_url=self.url, kind="unexpected_answer")
        return response.data

    def batch_many(self, endpoint: str, creates: list[Any] | None = None, updates: list[Any] | None = None,
                   deletes: list[Any] | None = None, size: int = BATCH_LIMIT,
                   concurrency: int | None = None) -> list[BatchItemResult]:
        """Many items in requests of at most `size`, `concurrency` at a time (wsync.store.batches)."""
        return batch_many(self, endpoint, creates or [], updates or [], deletes or [], size=size,
                          concurrency=concurrency or self.settings.concurrency)

    @contextmanager
    def watching(self, observer: Callable[[Attempt], None]) -> Iterator[None]:
        """Tell `observer` of every attempt made while the block runs."""
        self.observers.append(observer)
        try:
            yield
        finally:
            self.observers.remove(observer)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> StoreClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one request, with retries -----------------------------------------------------------
    def _request(self, method: str, endpoint: str, *, params: Any = None, data: Any = None,
                 idempotent: bool, raw_route: bool = False, absolute: bool = False) -> StoreResponse:
        query = normalize_params(params)
        body = json.dumps(data, ensure_ascii=False).encode("utf-8") if data is not None else None
        label = f"{method} {endpoint}"
        attempts = 0
        authenticate = not raw_route or is_woocommerce_route(endpoint)

        def build(plain: bool) -> tuple[str, list[tuple[str, str]]]:
            if absolute:
                return endpoint, []
            if raw_route:
                return route_url(self.settings, "/" + endpoint.strip("/") if endpoint.strip("/") else "/", plain)
            return endpoint_url(self.settings, endpoint, plain)

        items = items_in(method, data)

        def attempt() -> StoreResponse:
            nonlocal attempts
            attempts += 1
            started = time.monotonic()
            try:
                response = self._attempt(method, build, query, body, label, authenticate)
            except Transient as failure:
                self._tell(method, endpoint, failure.status, failure.kind, time.monotonic() - started, items)
                raise
            except E.StoreError as error:
                self._tell(method, endpoint, error.status, getattr(error, "kind", None) or "connection",
                           time.monotonic() - started, items)
                raise
            self._tell(method, endpoint, response.status, None, response.elapsed, items)
            response.attempts = attempts
            return response

        def may_retry(exc: BaseException) -> bool:
            return isinstance(exc, Transient) and (idempotent or exc.provably_not_run)

        retrying = Retrying(
            stop=self._stop, wait=self._wait, retry=retry_if_exception(may_retry),
            before_sleep=lambda state: self._log_retry(state, label), sleep=self.sleep, reraise=True,
        )
        try:
            return retrying(attempt)
        except Transient as failure:
            raise self._final_error(failure, method, endpoint, idempotent, attempts) from None

    def _tell(self, method: str, endpoint: str, status: int | None, failure: str | None, elapsed: float,
              items: int) -> None:
        if not self.observers:
            return
        seen = Attempt(method, endpoint, status, None if status is not None else failure, elapsed, items)
        for observer in list(self.observers):
            try:
                observer(seen)
            except Exception:  # an observer's fault must never fail a request
                log.exception("a request observer failed")

    def _stop(self, state: RetryCallState) -> bool:
        return (state.attempt_number >= self.settings.max_attempts
                or (state.idle_for or 0) >= self.settings.max_retry_wait_s)

    def _wait(self, state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        retry_after = failure.retry_after if isinstance(failure, Transient) else None
        budget = max(0.0, self.settings.max_retry_wait_s - (state.idle_for or 0))
        return backoff_wait(state.attempt_number, self.settings.backoff_base_s, budget, retry_after)

    def _log_retry(self, state: RetryCallState, label: str) -> None:
        self.counters.count_retry()
        failure = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0
        log.warning(redact(f"{label} on {self.settings.root_url}: {failure}; retry {state.attempt_number}/"
                           f"{self.settings.max_attempts - 1} in {wait:.1f}s"))

    def _attempt(self, method: str, build: Callable[[bool], tuple[str, list[tuple[str, str]]]],
                 query: list[tuple[str, str]], body: bytes | None, label: str,
                 authenticate: bool = True) -> StoreResponse:
        plain = self._plain
        url, route_params = build(plain)
        full_url, auth = sign(self.settings, method, url, route_params + query, authenticate)
        headers = {"Content-Type": "application/json; charset=utf-8"} if body is not None else None
        started = time.monotonic()
        try:
            raw = self.session.request(
                method, full_url, data=body, headers=headers, auth=auth, allow_redirects=False,
                timeout=(self.settings.connect_timeout, self.settings.read_timeout), verify=self.settings.verify_tls,
            )
        except requests.RequestException as exc:
            transient = classify_exception(exc)
            if not _never_sent(exc):
                self.counters.count(method)
            log.debug(redact(f"{label} {full_url} -> {type(exc).__name__}"))
            if transient is not None:
                raise transient from None
            raise self._network_error(exc, label) from None
        self.counters.count(method)
        elapsed = time.monotonic() - started
        self.counters.answered_in(elapsed)
        log.debug(redact(f"{label} {full_url} -> {raw.status_code} in {elapsed * 1000:.0f} ms"))
        data, is_json = _decode(raw)
        if (not is_json and not plain and raw.status_code == 404 and self.settings.permalinks == "auto"
                and self._switch_to_plain_permalinks()):
            return self._attempt(method, build, query, body, label, authenticate)
        response = StoreResponse(raw.status_code, raw.headers, data, elapsed)
        if 200 <= raw.status_code < 300:
            if not is_json and raw.content.strip():
                raise self._not_rest(raw, label)
            return response
        transient = classify_status(raw.status_code, raw.headers)
        if transient is not None:
            transient.response = response
            raise transient
        if 300 <= raw.status_code < 400:
            target = redact(raw.headers.get("Location", "?"))
            raise E.StoreConnectionError(
                f"store {self.url} redirected {label} to {target}", status=raw.status_code, endpoint=label,
                store_url=self.url, kind="redirect", hint="set [store] url to the address the store redirects to")
        if not is_json:
            raise self._not_rest(raw, label)
        message = str((data or {}).get("message", "") if isinstance(data, dict) else "")
        if raw.status_code == 401 and "nonce" in message.lower():
            # Refused at authentication, before anything ran: safe to sign anew and send again.
            raise Transient(cause="OAuth nonce refused as already used", kind="status", provably_not_run=True,
                            status=401, response=response)
        raise self._http_error(response, label)

    def _switch_to_plain_permalinks(self) -> bool:
        """Pretty /wp-json/ URLs gave a non-REST 404: try the ?rest_route= form once, keep it if it works."""
        with self._permalinks_lock:
            if self._permalinks_probed:
                return self._plain
            self._permalinks_probed = True
            url, params = route_url(self.settings, "/", plain=True)
            try:
                raw = self.session.get(url, params=params, timeout=(self.settings.connect_timeout,
                                                                   self.settings.read_timeout),
                                       verify=self.settings.verify_tls, allow_redirects=False)
                self.counters.count("GET")
                data, is_json = _decode(raw)
            except requests.RequestException:
                return False
            if raw.status_code == 200 and is_json and isinstance(data, dict) and "namespaces" in data:
                log.info(redact(f"{self.settings.root_url}: /wp-json/ is not routed, using ?rest_route= URLs"))
                self._plain = True
                return True
            return False

    # -- errors ------------------------------------------------------------------------------
    def _final_error(self, failure: Transient, method: str, endpoint: str, idempotent: bool,
                     attempts: int) -> E.StoreError:
        label = f"{method} {endpoint}"
        if not idempotent and not failure.provably_not_run:
            return E.OutcomeUnknown(
                f"store {self.url}: {label} may or may not have been saved ({failure.cause})",
                status=failure.status, endpoint=endpoint, store_url=self.url,
                hint="look the items up by SKU before sending them again")
        tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        if failure.kind == "status":
            body = failure.response.data if failure.response is not None else None
            detail = _error_text(body) or "no usable answer"
            return E.StoreServerError(
                f"store {self.url} kept failing {label} {tries}: {detail} (HTTP {failure.status})",
                status=failure.status, code=body.get("code") if isinstance(body, dict) else None,
                data=body.get("data") if isinstance(body, dict) and isinstance(body.get("data"), dict) else None,
                endpoint=endpoint, store_url=self.url)
        kind = {"timeout": "timeout", "refused": "refused"}.get(failure.kind, "dropped")
        words = {"timeout": "did not answer in time", "refused": "refused the connection",
                 "dropped": "dropped the connection"}[kind]
        return E.StoreConnectionError(f"store {self.url} {words} ({label}, {failure.cause}, {tries})",
                                      endpoint=endpoint, store_url=self.url, kind=kind)

    def _network_error(self, exc: requests.RequestException, label: str) -> E.StoreError:
        host = self.settings.host
        if is_dns_failure(exc):
            return E.StoreConnectionError(f"store {self.url}: the host name {host} does not resolve (DNS failure)",
                                          endpoint=label, store_url=self.url, kind="dns",
                                          hint="check the spelling of [store] url")
        if is_tls_failure(exc):
            return E.StoreConnectionError(
                f"store {self.url}: TLS handshake failed ({_short(exc)})", endpoint=label, store_url=self.url,
                kind="tls", hint="the certificate is not trusted or does not match the host; fix the certificate, "
                                 "or pass --insecure for a test store only")
        return E.StoreConnectionError(f"store {self.url}: {label} failed ({_short(exc)})", endpoint=label,
                                      store_url=self.url, kind="connection")

    def _not_rest(self, raw: requests.Response, label: str) -> E.NotWooCommerce:
        kind = raw.headers.get("Content-Type", "no content type").split(";")[0]
        return E.NotWooCommerce(
            f"store {self.url} answered {label} with {kind} (HTTP {raw.status_code}), not the WooCommerce REST API",
            status=raw.status_code, endpoint=label, store_url=self.url, kind="not_rest",
            hint="check that [store] url is the WordPress site root and that WooCommerce is active")

    def _http_error(self, response: StoreResponse, label: str) -> E.StoreError:
        body = response.data if isinstance(response.data, dict) else {}
        code = body.get("code")
        message = str(body.get("message") or "no message")
        raw_data = body.get("data")
        data = raw_data if isinstance(raw_data, dict) else {}
        status = response.status
        tail = f"({code or 'no code'}, HTTP {status})"
        common: _Answered = {"status": status, "code": code, "data": data, "endpoint": label, "store_url": self.url}
        if status in (401, 403):
            kind, hint = _auth_kind(status, code, message)
            return E.StoreAuthError(f"store {self.url} refused the keys: {message} {tail}" if kind != "capability"
                                    else f"store {self.url} refused {label}: {message} {tail}",
                                    kind=kind, hint=hint, **common)
        if status == 413:
            return E.BatchTooLarge(f"store {self.url} refused {label} as too large: {message} {tail}", **common)
        if status == 404:
            return E.NotFound(f"store {self.url}: {label}: {message} {tail}",
                              kind="no_route" if code == "rest_no_route" else "not_found", **common)
        return E.StoreError(f"store {self.url} refused {label}: {message} {tail}", **common)


class _Answered(TypedDict):
    """What every error made from a store's answer carries."""

    status: int
    code: str | None
    data: dict[str, Any]
    endpoint: str
    store_url: str


def _auth_kind(status: int, code: str | None, message: str) -> tuple[str, str | None]:
    text = message.lower()
    if "write permission" in text:
        return "read_only", ("the key is read-only: create a Read/Write key in WooCommerce > Settings > Advanced "
                             "> REST API")
    if "consumer key is invalid" in text or (status == 401 and code and code.endswith("_cannot_view")):
        # Over Basic auth an unknown key is not an error by itself: the request runs anonymously.
        return "unknown_key", "the store does not know this consumer key; copy it again from WooCommerce"
    if "consumer secret is invalid" in text or "invalid signature" in text:
        return "wrong_secret", ("the consumer secret does not match the key (over plain HTTP also check that "
                                "[store] url is exactly the site's home URL: the signature covers it)")
    if "timestamp" in text:
        return "clock", "this machine's clock is off by more than 15 minutes"
    if "nonce" in text:
        return "nonce", None
    if status == 403:
        return "capability", "the key's user lacks the capability; the key needs a shop manager or administrator"
    return "auth", None


def _never_sent(exc: requests.RequestException) -> bool:
    """The request never reached the store: it does not count as a request sent."""
    return (isinstance(exc, requests.exceptions.ConnectTimeout) or is_dns_failure(exc) or is_connect_failure(exc)
            or is_tls_failure(exc))


def _decode(raw: requests.Response) -> tuple[Any, bool]:
    if not raw.content:
        return None, True
    try:
        return raw.json(), True
    except ValueError:
        return raw.text[:200], False


def _error_text(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("code") or "")
    return ""


def _short(exc: BaseException) -> str:
    text = str(exc)
    return redact(text if len(text) < 300 else text[:300] + "…")
