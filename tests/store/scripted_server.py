"""A tiny local HTTP server that answers from a script, for retry/timeout/drop paths."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Reply:
    status: int = 200
    body: object = None
    headers: dict = field(default_factory=dict)
    drop: bool = False          # read the request, then close without answering
    delay: float = 0.0          # sleep before answering (read timeouts)
    raw: bytes | None = None    # send these bytes as body with text/html


class ScriptedServer:
    def __init__(self, default: Reply | None = None, tls_context=None):
        self.script: list[Reply] = []
        self.default = default or Reply(200, [])
        self.requests: list[dict] = []
        self.routes: dict[str, Reply] = {}
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                with outer._lock:
                    outer.requests.append({"method": self.command, "path": parts.path,
                                           "query": dict(parse_qsl(parts.query)), "headers": dict(self.headers),
                                           "body": json.loads(body) if body else None,
                                           "client": self.client_address})
                    reply = outer.routes.get(parts.path) or (outer.script.pop(0) if outer.script else outer.default)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if reply.raw is not None:
                    payload, ctype = reply.raw, "text/html; charset=UTF-8"
                else:
                    payload, ctype = json.dumps(reply.body).encode(), "application/json; charset=UTF-8"
                self.send_response(reply.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # clients that gave up (timeouts) make broken pipes on purpose

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        scheme = "http"
        if tls_context is not None:
            self.httpd.socket = tls_context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def start(self) -> ScriptedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def clients(self) -> set:
        return {r["client"] for r in self.requests}
