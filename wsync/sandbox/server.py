"""The sandbox store's HTTP server: request parsing, auth, faults, latency, stats, admin endpoints."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import mimetypes
import os
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wsync.sandbox.auth import ApiKey, Authenticator, auth_error, capability_error, generate_key_pair
from wsync.sandbox.catalog import Catalog
from wsync.sandbox.db import Database
from wsync.sandbox.faults import FaultRoller, Faults, LatencyModel
from wsync.sandbox.media import Media
from wsync.sandbox.pacing import Pacer, count_image_sources
from wsync.sandbox.rest_error import RestError
from wsync.sandbox.routes import Request, Router
from wsync.sandbox.serving import ServerLifecycle
from wsync.sandbox.taxonomy import Taxonomy
from wsync.sandbox.workers import WorkerModel, WorkerPool

_WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_NOT_FOUND_HTML = (b"<!DOCTYPE html>\n<html lang=\"en-US\"><head><meta charset=\"UTF-8\"><title>Page not found</title>"
                   b"</head><body class=\"error404\"><h1>Oops! That page can&rsquo;t be found.</h1></body></html>\n")


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.by_method: Counter = Counter()
        self.by_route: Counter = Counter()
        self.total = 0
        self.writes = 0
        self.items_written = 0
        self.faults: Counter = Counter()

    def request(self, method: str, route_class: str) -> None:
        with self.lock:
            self.total += 1
            self.by_method[method] += 1
            self.by_route[f"{method} {route_class}"] += 1

    def wrote(self, items: int) -> None:
        with self.lock:
            self.writes += 1
            self.items_written += items

    def fault(self, kind: str) -> None:
        with self.lock:
            self.faults[kind] += 1


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        # A client that hangs up mid-answer (killed worker, timed-out request) is normal here,
        # not worth a traceback on stderr; anything else still gets one.
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


class SandboxServer(ServerLifecycle):
    """A WooCommerce-compatible store on a local port. `start()` serves from a daemon thread."""

    thread_name = "wsync-sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, data: str | None = None,
                 consumer_key: str | None = None, consumer_secret: str | None = None,
                 faults: Faults | None = None, latency: LatencyModel | None = None,
                 tls_cert: str | None = None, tls_key: str | None = None, insecure_basic_auth: bool = False,
                 readonly_key: str | None = None, readonly_secret: str | None = None,
                 workers: WorkerModel | None = None):
        if bool(tls_cert) != bool(tls_key):
            raise ValueError("--tls-cert and --tls-key go together")
        if bool(consumer_key) != bool(consumer_secret):
            raise ValueError("--consumer-key and --consumer-secret go together")
        self.host = host
        self.port = port
        self.data = data
        gen_key, gen_secret = generate_key_pair()
        self.consumer_key = consumer_key or gen_key
        self.consumer_secret = consumer_secret or gen_secret
        ro_key, ro_secret = generate_key_pair()
        self.readonly_key = readonly_key or ro_key
        self.readonly_secret = readonly_secret or ro_secret
        self.tls_cert, self.tls_key = tls_cert, tls_key
        self.insecure_basic_auth = insecure_basic_auth
        self.latency = latency or LatencyModel.none()
        # PHP workers: requests beyond them wait, beyond the queue they are answered 503 (workers.py).
        self.workers = WorkerPool(workers)
        self.roller = FaultRoller(faults or Faults())
        self.counters = Stats()
        self.db = Database(data)
        if data:
            self.uploads_dir = os.path.splitext(os.path.abspath(data))[0] + "-uploads"
            self._tmp_uploads = None
        else:
            self._tmp_uploads = tempfile.mkdtemp(prefix="wsync-sandbox-uploads-")
            self.uploads_dir = self._tmp_uploads
        self.auth = Authenticator([ApiKey(self.consumer_key, self.consumer_secret, "read_write"),
                                   ApiKey(self.readonly_key, self.readonly_secret, "read")])
        self.media = Media(self.db, self.uploads_dir, lambda: self.url)
        # A WordPress user's application password: what wp/v2 routes take (never a WooCommerce key).
        self.wp_user = "wsync"
        self.wp_app_password = generate_key_pair()[1][3:27]
        self.taxonomy = Taxonomy(self.db, lambda: self.url)
        self.catalog = Catalog(self.db, self.taxonomy, self.media, lambda: self.url)
        self.router = Router(self.catalog, self.taxonomy, lambda: self.url, Pacer(self.db.lock, lambda: self.latency))
        self.router.variations_under_url = self.roller.faults.variations_under_url
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def https(self) -> bool:
        return bool(self.tls_cert)

    @property
    def url(self) -> str:
        scheme = "https" if self.https else "http"
        host = self.host if ":" not in self.host else f"[{self.host}]"
        return f"{scheme}://{host}:{self.port}"

    def _make_httpd(self) -> _HTTPServer:
        httpd = _HTTPServer((self.host, self.port), _make_handler(self))
        if self.tls_cert:  # https
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(self.tls_cert, self.tls_key)
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        return httpd

    def _closed(self) -> None:
        if self._tmp_uploads:
            shutil.rmtree(self._tmp_uploads, ignore_errors=True)

    # ------------------------------------------------------------------ knobs
    def set_faults(self, faults: Faults | None = None, **kwargs: Any) -> Faults:
        faults = faults or Faults(**kwargs)
        self.roller.set(faults)
        self.media.fail_uploads(faults.upload_dir_failures)
        self.router.variations_under_url = faults.variations_under_url
        return faults

    def set_latency(self, latency: LatencyModel | None = None, **kwargs: Any) -> LatencyModel:
        self.latency = latency or LatencyModel(**kwargs)
        return self.latency

    def set_workers(self, model: WorkerModel | None = None, **kwargs: Any) -> WorkerModel:
        self.workers.configure(model or WorkerModel(**kwargs))
        return self.workers.model

    def reset(self) -> None:
        with self.db.lock:
            self.db.reset()
            shutil.rmtree(self.uploads_dir, ignore_errors=True)
        self.counters.reset()
        self.media.stats.reset()
        self.workers.reset()

    def stats(self) -> dict[str, Any]:
        c = self.counters
        with self.db.lock:
            counts = {kind + "s": self.db.count_posts("kind = ?", (kind,))
                      for kind in ("product", "variation", "attachment")}
            counts["trashed_products"] = self.db.count_posts("kind = 'product' AND status = 'trash'", ())
            for name, tax in (("categories", "product_cat"), ("tags", "product_tag")):
                counts[name] = self.db.conn.execute("SELECT COUNT(*) FROM terms WHERE taxonomy = ?",
                                                    (tax,)).fetchone()[0]
            counts["attributes"] = self.db.conn.execute("SELECT COUNT(*) FROM attributes").fetchone()[0]
        with c.lock:
            return {
                "requests": {"total": c.total, "by_method": dict(c.by_method), "by_route": dict(c.by_route)},
                "writes": c.writes, "items_written": c.items_written,
                "downloads": self.media.stats.snapshot(), "faults": dict(c.faults), "counts": counts,
                "fault_settings": self.roller.faults.to_dict(), "latency": self.latency.to_dict(),
                "workers": self.workers.snapshot(),
            }

    def media_route(self, method: str, attachment_id: int, params: dict[str, Any],
                    basic: tuple[str, str] | None) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        """DELETE wp/v2/media/ID: the answers of WordPress 6.4.1 (recordings/32)."""
        from wsync.sandbox.media import media_delete_answer

        return media_delete_answer(self, method, attachment_id, params, basic)

    def index(self) -> dict[str, Any]:
        return {"name": "wsync sandbox store", "description": "A WooCommerce-compatible REST store for tests",
                "url": self.url, "home": self.url, "gmt_offset": "0", "timezone_string": "UTC",
                "namespaces": ["oembed/1.0", "wc/store/v1", "wc/v1", "wc/v2", "wc/v3", "wc-admin", "wp/v2"],
                "authentication": [], "routes": {},
                "_links": {"help": [{"href": "https://developer.wordpress.org/rest-api/"}]}}

    def latency_for(self, method: str, route_class: str, body: Any) -> float:
        """The whole time a request takes (before faults)."""
        if method not in _WRITE_METHODS:
            return self.latency.per_request_s
        body = body if isinstance(body, dict) else {}
        images = count_image_sources(body)
        if route_class.startswith("variations"):
            if route_class.endswith("batch"):
                items = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
            else:
                items = 1
            return self.latency.cost(variations=items, images=images)
        if route_class.endswith("batch"):
            return self.latency.cost(creates=len(body.get("create") or []), updates=len(body.get("update") or []),
                                     deletes=len(body.get("delete") or []), images=images)
        if method == "DELETE":
            return self.latency.cost(deletes=1)
        if route_class.endswith("{id}"):
            return self.latency.cost(updates=1, images=images)
        return self.latency.cost(creates=1, images=images)


    def upfront_latency(self, method: str, route_class: str, body: Any) -> float:
        """The part slept before a request is handled. Batches and product/variation creates
        sleep only the fixed cost here: their items sleep their own shares as they are saved
        (pacing.py), with the database lock released."""
        if method in _WRITE_METHODS and (route_class.endswith("batch")
                                         or (method == "POST" and route_class in ("products", "variations"))):
            return self.latency.per_request_s
        return self.latency_for(method, route_class, body)


def is_woocommerce_route(route: str) -> bool:
    """wc/v3, wc/store, wc-admin...: the routes WooCommerce's own authentication answers."""
    return route.strip("/").startswith("wc")


# WordPress core reads any Basic header on its own routes as an application password
# (recorded on WooCommerce 8.2.2 / WordPress 6.4.1 over https, recordings/26).
_WP_UNKNOWN_USERNAME = {"code": "invalid_username",
                        "message": "<strong>Error:</strong> Unknown username. Check again or try your email address.",
                        "data": {"status": 401}}


_MEDIA_ROUTE = re.compile(r"/wp/v2/media/(\d+)/?\Z")


def _make_handler(store: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
        # client's delayed ACK stalls every request on a kept-alive connection by ~40 ms.
        disable_nagle_algorithm = True
        def version_string(self) -> str:
            return "wsync-sandbox"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and benchmarks read stats instead
            pass

        def do_GET(self) -> None:
            self._handle()

        do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

        # -------------------------------------------------------------- plumbing
        def _send(self, status: int, body: bytes, content_type: str = "application/json; charset=UTF-8",
                  headers: list[tuple[str, str]] | None = None) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in headers or []:
                    self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
                self.close_connection = True  # the client gave up (e.g. after a hang)

        def _json(self, status: int, doc: Any, headers: list[tuple[str, str]] | None = None) -> None:
            extra = [("Link", f'<{store.url}/wp-json/>; rel="https://api.w.org/"'),
                     ("X-Content-Type-Options", "nosniff"),
                     ("Access-Control-Expose-Headers", "X-WP-Total, X-WP-TotalPages, Link")]
            self._send(status, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode(),
                       headers=extra + (headers or []))

        def _read_body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        # -------------------------------------------------------------- dispatch
        def _handle(self) -> None:
            raw_body = self._read_body()
            parts = urlsplit(self.path)
            path = parts.path
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            self._auth_query = dict(pairs)  # signed parameters include rest_route
            if path.startswith("/_sandbox/"):
                return self._admin(path, raw_body)
            if path.startswith("/wp-content/uploads/"):
                return self._upload_file(path[len("/wp-content/uploads/"):])
            if path == "/wp-json" or path.startswith("/wp-json/"):
                route = path[len("/wp-json"):] or "/"
                link_base = f"{store.url}/wp-json{route}"
            elif any(k == "rest_route" for k, _ in pairs):
                route = dict(pairs)["rest_route"] or "/"
                link_base = f"{store.url}/?rest_route={route}"
                pairs = [(k, v) for k, v in pairs if k != "rest_route"]
            else:
                return self._send(404, _NOT_FOUND_HTML, "text/html; charset=UTF-8")
            self._rest(route, path, pairs, raw_body, link_base)

        def _rest(self, route: str, raw_path: str, pairs: list[tuple[str, str]], raw_body: bytes,
                  link_base: str) -> None:
            # A PHP worker runs the request; with none free and the queue full, the web server
            # answers 503 before PHP sees it.
            if not store.workers.acquire():
                store.counters.request(self.command, "overloaded")
                store.counters.fault("overloaded")
                return self._fault_error(503, False, retry_after=False)
            try:
                self._run_rest(route, raw_path, pairs, raw_body, link_base)
            finally:
                store.workers.release()

        def _run_rest(self, route: str, raw_path: str, pairs: list[tuple[str, str]], raw_body: bytes,
                      link_base: str) -> None:
            method = self.command
            route_class = "index" if route in ("/", "") else store.router.route_class(route)
            store.counters.request(method, route_class)
            store.media.begin_request()
            is_write = method in _WRITE_METHODS
            decision = store.roller.decide(is_write)
            if decision.kind == "error":
                store.counters.fault("errors")
                return self._fault_error(decision.status, decision.empty_body)
            if decision.kind == "hang":
                store.counters.fault("hangs")
                time.sleep(store.roller.faults.hang_s)
            try:
                body = json.loads(raw_body) if raw_body.strip() else {}
            except (ValueError, UnicodeDecodeError):
                body = None
            delay = store.upfront_latency(method, route_class, body)
            if delay > 0:
                time.sleep(delay)
            req = Request(method=method, route=route, params=_params(pairs), pairs=pairs,
                          body=body if body is not None else {}, link_base=link_base)
            status, doc, headers = self._answer(req, raw_path, pairs, body is None)
            if is_write and status < 300:
                store.counters.wrote(req.counters.get("written", 0))
            if decision.kind == "drop":
                # The write is committed; the answer is lost, as when a proxy cuts the connection.
                store.counters.fault("drops")
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._json(status, doc, headers)

        def _answer(self, req: Request, raw_path: str, pairs: list[tuple[str, str]],
                    bad_json: bool) -> tuple[int, Any, list[tuple[str, str]]]:
            media = _MEDIA_ROUTE.match(req.route)
            if media:
                return store.media_route(req.method, int(media.group(1)), req.params, self._basic())
            if store.https and not is_woocommerce_route(req.route) and self._basic() is not None:
                # Over plain HTTP WordPress has no application passwords and ignores the header
                # (as WooCommerce does, recordings/01): the index answers as without it.
                return 401, dict(_WP_UNKNOWN_USERNAME, data={"status": 401}), []
            if req.route in ("/", ""):
                return 200, store.index(), []
            try:
                key = store.auth.authenticate(method=req.method, base_url=store.url, path=raw_path,
                                              query=self._auth_query, basic=self._basic(), https=store.https,
                                              insecure_basic=store.insecure_basic_auth)
                handler, action, _name, args = store.router.match(req.method, req.route)
                if key is not None and key.permissions == "read" and req.method in _WRITE_METHODS:
                    raise auth_error("The API key provided does not have write permissions.")
                if key is None:
                    raise capability_error(action)
                if bad_json:
                    raise RestError("rest_invalid_json", "Invalid JSON body passed.", 400)
                answer = handler(req, args)
                return answer.status, answer.body, [*answer.headers, ("Allow", ", ".join(_methods_of(req.route)))]
            except RestError as err:
                return err.status, err.body(), []

        def _basic(self) -> tuple[str, str] | None:
            header = self.headers.get("Authorization") or ""
            if not header.lower().startswith("basic "):
                return None
            try:
                user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return user, password

        def _fault_error(self, status: int, empty_body: bool, retry_after: bool = True) -> None:
            headers = [("Connection", "close")]
            self.close_connection = True
            if status in (429, 503) and retry_after:
                headers.append(("Retry-After", str(store.roller.faults.retry_after_s)))
            if status == 429 and empty_body:
                return self._send(429, b"", "text/html; charset=UTF-8", headers)
            if status == 500:
                doc = {"code": "internal_server_error",
                       "message": "<p>There has been a critical error on this website.</p>", "data": {"status": 500}}
                return self._send(500, json.dumps(doc).encode(), headers=headers)
            reason = {429: "Too Many Requests", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
                      504: "Gateway Time-out"}.get(status, "Error")
            page = (f"<html><head><title>{status} {reason}</title></head>"
                    f"<body><center><h1>{status} {reason}</h1></center></body></html>")
            self._send(status, page.encode(), "text/html; charset=UTF-8", headers)

        def _upload_file(self, rel: str) -> None:
            full = store.media.file_path(rel)
            if full is None:
                return self._send(404, _NOT_FOUND_HTML, "text/html; charset=UTF-8")
            with open(full, "rb") as fh:
                data = fh.read()
            self._send(200, data, mimetypes.guess_type(full)[0] or "application/octet-stream")

        def _admin(self, path: str, raw_body: bytes) -> None:
            method = self.command
            try:
                body = json.loads(raw_body) if raw_body.strip() else {}
                if path == "/_sandbox/stats" and method == "GET":
                    return self._json(200, store.stats())
                if path == "/_sandbox/reset" and method == "POST":
                    store.reset()
                    return self._json(200, {"reset": True})
                if path == "/_sandbox/faults" and method in ("GET", "POST"):
                    if method == "POST":
                        store.set_faults(Faults.from_dict(body))
                    return self._json(200, store.roller.faults.to_dict())
                if path == "/_sandbox/workers" and method in ("GET", "POST"):
                    if method == "POST":
                        store.set_workers(WorkerModel.from_dict(body))
                    return self._json(200, store.workers.snapshot())
                if path == "/_sandbox/latency" and method in ("GET", "POST"):
                    if method == "POST":
                        store.set_latency(LatencyModel.from_dict(body))
                    return self._json(200, store.latency.to_dict())
                return self._json(404, {"error": f"no admin endpoint {method} {path}"})
            except (ValueError, TypeError) as exc:
                return self._json(400, {"error": str(exc)})

    return Handler


def _methods_of(route: str) -> tuple:
    if route.rstrip("/").endswith("/batch"):
        return ("POST", "PUT", "PATCH")
    last = route.rstrip("/").rsplit("/", 1)[-1]
    if last.isdigit():
        return ("GET", "POST", "PUT", "PATCH", "DELETE")
    return ("GET", "POST")


def _params(pairs: list) -> dict:
    """PHP-style query parsing: the last value wins, `key[]` collects a list under `key`."""
    params: dict = {}
    for key, value in pairs:
        if key.endswith("[]"):
            params.setdefault(key[:-2], [])
            if isinstance(params[key[:-2]], list):
                params[key[:-2]].append(value)
        else:
            params[key] = value
    return params
