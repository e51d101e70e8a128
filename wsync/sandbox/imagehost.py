"""A stand-in for a wholesaler's image CDN: deterministic PNGs, dead links and non-images.

    /img/<anything>      200 image/png, 64x64, colour derived from the path (same path, same bytes)
    /dead/<anything>     404
    /notimage/<anything> 200 text/html
Requests are counted per path, so tests can prove what a client downloaded (or not); GETs are
also counted apart from HEADs, so a store's downloads are not mixed with a client's probes.
"""

from __future__ import annotations

import hashlib
import struct
import threading
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


def make_png(seed: str, size: int = 64) -> bytes:
    """A solid-colour PNG (colour from a hash of `seed`) with a diagonal stripe, so images differ."""
    digest = hashlib.sha256(seed.encode()).digest()
    base, stripe = digest[0:3], bytes(255 - b for b in digest[0:3])
    rows = []
    for y in range(size):
        row = bytearray([0])  # filter type: none
        for x in range(size):
            row += stripe if abs(x - y) < 3 else base
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


class ImageHost:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.hits: Counter = Counter()
        self.gets: Counter = Counter()
        self._lock = threading.Lock()
        self._cache: dict[str, bytes] = {}
        self._httpd = ThreadingHTTPServer((host, port), self._handler())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def image_url(self, name: str) -> str:
        return f"{self.url}/img/{name}"

    def count(self, path: str) -> int:
        """Requests seen for a path (`/img/a.png`) or a full URL."""
        if path.startswith("http"):
            path = urlsplit(path).path
        with self._lock:
            return self.hits[path]

    def downloads(self) -> dict[str, int]:
        """GET requests per path: what was downloaded (HEAD probes left out)."""
        with self._lock:
            return dict(self.gets)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.hits.values())

    def png(self, path: str) -> bytes:
        with self._lock:
            if path not in self._cache:
                self._cache[path] = make_png(path)
            return self._cache[path]

    def start(self) -> ImageHost:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ImageHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the
            # client's delayed ACK stalls every request on a kept-alive connection by ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with host._lock:
                    host.hits[path] += 1
                    if self.command == "GET":
                        host.gets[path] += 1
                if path.startswith("/img/"):
                    self._send(200, host.png(path), "image/png")
                elif path.startswith("/notimage/"):
                    self._send(200, b"<html><body>not an image</body></html>", "text/html")
                else:
                    self._send(404, b"Not Found", "text/plain")

            do_HEAD = do_GET

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

        return Handler
