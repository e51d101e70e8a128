"""The life cycle every loopback server of the sandbox shares (the store, the fault proxy): take
the port, serve from a daemon thread or the calling one, stop from anywhere, as a context manager."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from http.server import ThreadingHTTPServer
from typing import Any, TypeVar

Self = TypeVar("Self", bound="ServerLifecycle")


class ServerLifecycle(ABC):
    """Subclasses set `self._httpd = None`, `self._thread = None`, `self.port` and a `thread_name`,
    implement `_make_httpd()`, and may extend `_closed()` for what to release after stopping."""

    thread_name = "wsync-server"
    _httpd: ThreadingHTTPServer | None
    _thread: threading.Thread | None
    port: int

    @abstractmethod
    def _make_httpd(self) -> ThreadingHTTPServer:
        """The listening server, bound to (host, port); port 0 picks a free one."""

    def bind(self) -> None:
        """Take the port now (so a command can print the URL before serving); start() calls it."""
        if self._httpd is None:
            self._httpd = self._make_httpd()
            self.port = self._httpd.server_address[1]

    def start(self: Self) -> Self:
        self.bind()
        assert self._httpd is not None
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def run_forever(self) -> None:
        """Serve in the calling thread until `stop()` (another thread) or `shutdown_from_signal()`."""
        self.bind()
        assert self._httpd is not None
        self._httpd.serve_forever(poll_interval=0.2)

    def shutdown_from_signal(self) -> None:
        # shutdown() waits for serve_forever() to return, so it must not run on the serving thread.
        if self._httpd is not None:
            threading.Thread(target=self._httpd.shutdown, daemon=True).start()

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            if self._thread is not None:
                httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._closed()

    def _closed(self) -> None:  # noqa: B027 - an optional hook: releasing nothing is its default
        """Release what outlives the listener (temporary files, upstream sessions)."""

    def __enter__(self: Self) -> Self:
        return self.start() if self._thread is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
