"""A fault-injecting HTTP proxy to put in front of any WooCommerce store.

Why a proxy: the failures that hurt an importer are rarely the store's own. A host's gateway
answers 502 while PHP is still saving the batch, a firewall answers 429 with an empty body, a
load balancer cuts a slow request after its idle timeout, a connection dies after the store
committed. The sandbox can fake some of this from inside, but a real WordPress store cannot, and
the interesting property of these faults is exactly that the store keeps running the request the
client lost. A proxy produces them in front of the sandbox and of a real store alike, without
touching either: a cut request goes on upstream to its end, on its own thread.

Why it re-signs: over plain HTTP WooCommerce checks an OAuth 1.0a signature computed over its own
home URL, so a request the client signed for the proxy's address would be refused upstream. The
proxy therefore drops whatever auth the client sent and authenticates every forwarded request
itself with the store's keys, through wsync's own signer (Basic auth when the upstream is HTTPS).
A client can talk to the proxy without keys at all; that is also why it only listens on loopback:
anyone who reaches it writes to the store with its keys.

    from wsync.sandbox import FaultProxy, ProxyFaults
    with FaultProxy(store.url, key, secret, ProxyFaults(cut_rate=0.2, seed=1)) as proxy:
        proxy.url, proxy.stats()
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit

import requests

from wsync.redact import RedactingFilter, redact, register_secret
from wsync.sandbox.serving import ServerLifecycle
from wsync.store.client import make_session
from wsync.store.settings import StoreSettings
from wsync.store.signing import AUTH_QUERY_PARAMS, sign

log = logging.getLogger("wsync.sandbox.faultproxy")

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# What a client of the REST API reads from an answer; hop-by-hop and server-identity headers
# belong to the upstream connection, not to the client's.
PASSED_BACK_HEADERS = ("Content-Type", "X-WP-Total", "X-WP-TotalPages", "Link", "Retry-After", "Location", "Allow")
NEVER_FAULTED_PREFIX = "/_sandbox/"
ADMIN_PREFIX = "/_proxy/"

FaultKind = Literal["pass", "error", "rate_limit", "hang", "drop", "cut"]
Headers = list[tuple[str, str]]


# ---------------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class ProxyFaults:
    """Shares (0..1, summing to at most 1) of requests that fail in each way, and their knobs."""

    SHARES: ClassVar[tuple[str, ...]] = ("error_rate", "rate_limit_rate", "hang_rate", "drop_rate", "cut_rate")

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    rate_limit_rate: float = 0.0
    retry_after_s: int = 1
    hang_rate: float = 0.0
    hang_s: float = 35.0
    drop_rate: float = 0.0
    cut_rate: float = 0.0
    cut_after_s: float = 0.2
    seed: int | None = None
    only_writes: bool = False

    def __post_init__(self) -> None:
        for name in self.SHARES:
            value = _number(name, getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
            object.__setattr__(self, name, value)
        # A small tolerance: 0.1 + 0.2 + 0.7 is 1.0000000000000002 in floating point.
        if sum(getattr(self, name) for name in self.SHARES) > 1.0 + 1e-9:
            raise ValueError(f"{' + '.join(self.SHARES)} must not exceed 1")
        for name in ("hang_s", "cut_after_s"):
            if _number(name, getattr(self, name)) < 0:
                raise ValueError(f"{name} must not be negative")
            object.__setattr__(self, name, float(getattr(self, name)))
        if _number("retry_after_s", self.retry_after_s) < 0 or int(self.retry_after_s) != self.retry_after_s:
            raise ValueError(f"retry_after_s must be a whole number of seconds >= 0, got {self.retry_after_s}")
        object.__setattr__(self, "retry_after_s", int(self.retry_after_s))
        object.__setattr__(self, "error_statuses", _statuses(self.error_statuses))
        if self.error_rate and not self.error_statuses:
            raise ValueError("error_statuses must not be empty when error_rate > 0")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if not isinstance(self.only_writes, bool):
            raise ValueError(f"only_writes must be true or false, got {self.only_writes!r}")

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in self.SHARES)

    def to_dict(self) -> dict[str, object]:
        doc = asdict(self)
        doc["error_statuses"] = list(self.error_statuses)
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> ProxyFaults:
        if not isinstance(doc, Mapping):
            raise ValueError("fault settings must be a JSON object")
        unknown = set(doc) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        return cls(**doc)  # each value is checked by __post_init__


def _number(name: str, value: object) -> float:
    # bool is an int to Python, but `"hang_rate": true` in a JSON body is a mistake, not 1.0.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def _statuses(values: object) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        raise ValueError(f"error_statuses must be a list of HTTP statuses, got {values!r}")
    statuses = tuple(int(_number("error_statuses", v)) for v in values)
    for status in statuses:
        if not 400 <= status <= 599:
            raise ValueError(f"error_statuses must be 4xx/5xx statuses, got {status}")
    return statuses


# ---------------------------------------------------------------------------------- decisions
@dataclass(frozen=True)
class FaultDecision:
    kind: FaultKind
    status: int = 0
    empty_body: bool = False


_PASS = FaultDecision("pass")


class _Dice:
    """One seeded generator for every decision, so a seed replays the same fault sequence."""

    def __init__(self, faults: ProxyFaults):
        self._lock = threading.Lock()
        self.set(faults)

    def set(self, faults: ProxyFaults) -> None:
        with self._lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)

    def decide(self, is_write: bool) -> FaultDecision:
        with self._lock:
            f = self.faults
            if not f.active or (f.only_writes and not is_write):
                return _PASS
            # Always three draws per request, whatever the outcome, so the n-th request of a
            # seeded run meets the same fate however the earlier ones went.
            roll = self._rng.random()
            status = self._rng.choice(f.error_statuses) if f.error_statuses else 500
            empty = self._rng.random() < 0.5
        shares: tuple[tuple[FaultKind, float], ...] = (
            ("error", f.error_rate), ("rate_limit", f.rate_limit_rate), ("hang", f.hang_rate),
            ("drop", f.drop_rate), ("cut", f.cut_rate))
        edge = 0.0
        for kind, share in shares:
            edge += share
            if roll < edge:
                return FaultDecision(kind, status=status, empty_body=empty)
        return _PASS


# ---------------------------------------------------------------------------------- counters
_FAULT_COUNTER = {"error": "errors", "rate_limit": "rate_limited", "hang": "hangs", "drop": "drops", "cut": "cuts"}


class _Tally:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.requests = 0
        self.forwarded = 0
        self.in_flight = 0
        self.upstream_errors = 0
        self.faults: Counter[str] = Counter()

    def request(self, kind: FaultKind) -> None:
        with self._lock:
            self.requests += 1
            if kind in _FAULT_COUNTER:
                self.faults[_FAULT_COUNTER[kind]] += 1

    def sending(self) -> None:
        with self._lock:
            self.forwarded += 1
            self.in_flight += 1

    def done(self, failed: bool) -> None:
        with self._lock:
            self.in_flight -= 1
            self.upstream_errors += int(failed)
            self._lock.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: self.in_flight == 0, timeout=timeout)

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"requests": self.requests, "forwarded": self.forwarded, "in_flight": self.in_flight,
                    "upstream_errors": self.upstream_errors,
                    "faults": {name: self.faults[name] for name in _FAULT_COUNTER.values()}}


# ---------------------------------------------------------------------------------- answers
@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: Headers = field(default_factory=list)


def _gateway_page(status: int) -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:  # hosts' own codes (520-526 at Cloudflare)
        reason = "Error"
    return (f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n<center><h1>{status} {reason}"
            f"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n").encode()


def _html(status: int, headers: Headers | None = None) -> Answer:
    return Answer(status, _gateway_page(status), [("Content-Type", "text/html")] + (headers or []))


def error_answer(status: int, retry_after_s: int) -> Answer:
    """What a host answers when PHP died (500, WordPress's fatal-error handler) or the gateway
    gave up on it (502/503/504 from nginx)."""
    if status == 500:
        doc = {"code": "internal_server_error",
               "message": "<p>There has been a critical error on this website.</p>", "data": {"status": 500}}
        return Answer(500, json.dumps(doc).encode(), [("Content-Type", "application/json; charset=UTF-8")])
    return _html(status, [("Retry-After", str(retry_after_s))] if status == 503 else None)


def rate_limit_answer(retry_after_s: int, empty_body: bool) -> Answer:
    # Hosts' firewalls (mod_security, Imunify, Cloudflare rules) often answer 429 with no body at all.
    headers = [("Retry-After", str(retry_after_s))]
    return Answer(429, b"", headers) if empty_body else _html(429, headers)


# ---------------------------------------------------------------------------------- upstream
@dataclass(frozen=True)
class Outgoing:
    """A client request as it will go upstream: client auth already removed."""

    method: str
    path: str
    query: list[tuple[str, str]]
    body: bytes
    content_type: str | None


def outgoing(method: str, target: str, body: bytes, content_type: str | None) -> Outgoing:
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in AUTH_QUERY_PARAMS]
    return Outgoing(method, parts.path or "/", query, body, content_type)


class Upstream:
    """The store behind the proxy: one pooled session, every request signed anew with its keys."""

    def __init__(self, settings: StoreSettings, verify: bool | str, pool_size: int):
        self.settings = settings
        self.verify = verify
        # Sized like the client side's thread pool, so concurrent requests never queue for a connection.
        self.session = make_session(settings.with_changes(concurrency=pool_size, user_agent="wsync-faultproxy"))

    def send(self, req: Outgoing) -> Answer:
        """The store's answer; raises requests.RequestException when there is none."""
        url, auth = self._signed(req)
        headers = {"Content-Type": req.content_type} if req.content_type else {}
        raw = self.session.request(req.method, url, data=req.body or None, headers=headers, auth=auth,
                                   allow_redirects=False, verify=self.verify,
                                   timeout=(self.settings.connect_timeout, self.settings.read_timeout))
        return self._answer(req.method, raw)

    def _signed(self, req: Outgoing) -> tuple[str, tuple[str, str] | None]:
        # The proxy's address stands in for the store's root, so a path under it maps onto the
        # same path under the upstream URL (which may itself have a path, /shop).
        return sign(self.settings, req.method, self.settings.root_url + req.path, list(req.query))

    @staticmethod
    def _answer(method: str, raw: requests.Response) -> Answer:
        headers = [(name, raw.headers[name]) for name in PASSED_BACK_HEADERS if name in raw.headers]
        if method == "HEAD" and "Content-Length" in raw.headers:
            headers.append(("Content-Length", raw.headers["Content-Length"]))
        return Answer(raw.status_code, raw.content, headers)

    def close(self) -> None:
        self.session.close()


# ---------------------------------------------------------------------------------- server
class FaultProxy(ServerLifecycle):
    """A local HTTP proxy in front of one WooCommerce store that injects faults per request.

    `upstream` is the store's home URL (what `[store] url` would be); the keys are the store's.
    `verify` is passed to requests (False, True, or a CA bundle path; True honours REQUESTS_CA_BUNDLE).
    """

    thread_name = "wsync-faultproxy"

    def __init__(self, upstream: str, consumer_key: str, consumer_secret: str, faults: ProxyFaults | None = None,
                 *, port: int = 0, verify: bool | str = True, allow_insecure_http: bool = False,
                 pool_size: int = 16, connect_timeout: float = 10.0, read_timeout: float = 600.0):
        register_secret(consumer_key)
        register_secret(consumer_secret)
        _guard_loggers()
        settings = StoreSettings(url=upstream, consumer_key=consumer_key, consumer_secret=consumer_secret,
                                 verify_tls=verify is not False, allow_insecure_http=allow_insecure_http,
                                 connect_timeout=connect_timeout, read_timeout=read_timeout)
        settings.validate()
        self.upstream_url = settings.root_url
        self.host = "127.0.0.1"
        self.port = port
        self.upstream = Upstream(settings, verify, max(1, pool_size))
        self.dice = _Dice(faults or ProxyFaults())
        self.tally = _Tally()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def faults(self) -> ProxyFaults:
        return self.dice.faults

    def _make_httpd(self) -> _HTTPServer:
        return _HTTPServer((self.host, self.port), self)

    def _closed(self) -> None:
        # Upstream requests still running (cut ones) are left to finish on their own.
        self.upstream.close()

    # -- knobs and counters ------------------------------------------------------------------
    def set_faults(self, faults: ProxyFaults) -> ProxyFaults:
        """Replace the fault settings; the generator restarts from their seed."""
        self.dice.set(faults)
        return faults

    def stats(self) -> dict[str, object]:
        """{"requests", "forwarded", "in_flight", "upstream_errors", "faults": {errors, rate_limited,
        hangs, drops, cuts}}: requests seen (admin /_proxy/ ones aside), requests sent upstream,
        upstream requests still running, upstream requests that got no answer."""
        return self.tally.snapshot()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until no upstream request is running (cut requests finish after their client is gone)."""
        return self.tally.wait_idle(timeout)

    # -- one request -------------------------------------------------------------------------
    def decide(self, method: str, path: str) -> FaultDecision:
        if path.startswith(NEVER_FAULTED_PREFIX):
            decision = _PASS
        else:
            decision = self.dice.decide(method in WRITE_METHODS)
        self.tally.request(decision.kind)
        return decision

    def forward(self, req: Outgoing) -> Answer:
        self.tally.sending()
        failed = True
        try:
            answer = self.upstream.send(req)
            failed = False
            return answer
        except requests.RequestException as exc:
            log.warning(redact(f"upstream {req.method} {req.path} failed: {type(exc).__name__}: {exc}"))
            # nginx's words for the same situations: no answer in time is 504, anything else 502.
            return _html(504 if isinstance(exc, requests.ReadTimeout) else 502)
        finally:
            self.tally.done(failed)

    def forward_in_background(self, req: Outgoing) -> threading.Thread:
        thread = threading.Thread(target=self.forward, args=(req,), name="wsync-faultproxy-upstream", daemon=True)
        thread.start()
        return thread


def _guard_loggers() -> None:
    """urllib3 logs request lines (with the oauth_* parameters) at DEBUG: scrub them at the source."""
    for name in ("urllib3.connectionpool", log.name):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], proxy: FaultProxy):
        self.proxy = proxy
        super().__init__(address, _Handler)

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        # A client that gives up (read timeout after a hang) is what this proxy provokes: no traceback.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


# ---------------------------------------------------------------------------------- handler
class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
    # client's delayed ACK stalls every request on a kept-alive connection by ~40 ms.
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "wsync-faultproxy"

    def log_message(self, format: str, *args: object) -> None:  # quiet; stats tell the story
        pass

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    @property
    def proxy(self) -> FaultProxy:
        return self.server.proxy

    def _handle(self) -> None:
        body = self._read_body()
        path = urlsplit(self.path).path
        if path.startswith(ADMIN_PREFIX):
            return self._send(_admin(self.proxy, self.command, path, body))
        decision = self.proxy.decide(self.command, path)
        req = outgoing(self.command, self.path, body, self.headers.get("Content-Type"))
        self._FATES[decision.kind](self, decision, req)

    # -- the fates ---------------------------------------------------------------------------
    def _pass(self, d: FaultDecision, req: Outgoing) -> None:
        self._send(self.proxy.forward(req))

    def _error(self, d: FaultDecision, req: Outgoing) -> None:
        self._send(error_answer(d.status, self.proxy.faults.retry_after_s))

    def _rate_limit(self, d: FaultDecision, req: Outgoing) -> None:
        self._send(rate_limit_answer(self.proxy.faults.retry_after_s, d.empty_body))

    def _hang(self, d: FaultDecision, req: Outgoing) -> None:
        # Forwarded only after the wait, like a request queued behind busy PHP workers: a client
        # with a shorter read timeout has given up by then, and the write still lands.
        time.sleep(self.proxy.faults.hang_s)
        self._send(self.proxy.forward(req))

    def _drop(self, d: FaultDecision, req: Outgoing) -> None:
        self.proxy.forward(req)  # committed upstream; the answer is lost on the way back
        self._hang_up()

    def _cut(self, d: FaultDecision, req: Outgoing) -> None:
        # The upstream request runs on its own thread and is never aborted: a PHP store keeps
        # saving a batch after its client is gone. If it answers before the cut, that answer is
        # dropped all the same, so the client always sees the cut.
        self.proxy.forward_in_background(req).join(self.proxy.faults.cut_after_s)
        self._hang_up()

    _FATES: ClassVar[dict[str, Callable[[_Handler, FaultDecision, Outgoing], None]]] = {
        "pass": _pass, "error": _error, "rate_limit": _rate_limit, "hang": _hang, "drop": _drop, "cut": _cut}

    # -- plumbing ----------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():  # trailers, up to the blank line
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _send(self, answer: Answer) -> None:
        try:
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            if not any(name.lower() == "content-length" for name, _ in answer.headers):
                self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            if self.command != "HEAD" and answer.body:
                self.wfile.write(answer.body)
        except OSError:
            self.close_connection = True  # the client is gone (gave up during a hang)

    def _hang_up(self) -> None:
        """Close the connection without a word, as a gateway that lost patience does."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _admin(proxy: FaultProxy, method: str, path: str, body: bytes) -> Answer:
    try:
        if path == "/_proxy/stats" and method == "GET":
            return _json(200, proxy.stats())
        if path == "/_proxy/faults" and method in ("GET", "POST"):
            if method == "POST":
                proxy.set_faults(ProxyFaults.from_dict(json.loads(body or b"{}")))
            return _json(200, proxy.faults.to_dict())
        return _json(404, {"error": f"no proxy endpoint {method} {path}"})
    except (ValueError, TypeError) as exc:
        return _json(400, {"error": str(exc)})


def _json(status: int, doc: object) -> Answer:
    return Answer(status, json.dumps(doc).encode(), [("Content-Type", "application/json; charset=UTF-8")])
