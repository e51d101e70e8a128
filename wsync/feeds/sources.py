"""Opening a feed source as a local file: a path, or an http(s) URL streamed to a temp file.

Downloads go to disk in chunks (never whole into memory), with timeouts, retries on transient
failures (connection errors, 429, 5xx) and optional credentials from the environment. Gzip and
single-file zip archives are unpacked by their magic bytes, whatever the name says. Conditional
requests (If-None-Match / If-Modified-Since) let an unchanged feed be skipped.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from wsync.errors import FeedRefused
from wsync.redact import redact, register_secret

log = logging.getLogger(__name__)

CHUNK = 1 << 16
USER_AGENT = "wsync feed reader"


@dataclass
class Opened:
    """A feed ready to parse: a local file (possibly a download) and what the server said."""

    path: Path | None
    label: str
    not_modified: bool = False
    fetch_state: dict[str, Any] = field(default_factory=dict)
    content_type: str = ""


class _Transient(Exception):
    """A failure worth retrying (connection error, 429, 5xx)."""


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def auth_for(auth: dict[str, Any] | None, headers_env: dict[str, Any] | None, label: str) -> tuple[Any, dict[str, str]]:
    """Credentials from the environment, each registered as a secret before any use."""
    headers: dict[str, str] = {}
    basic = None

    def env(name: str, what: str) -> str:
        value = os.environ.get(name)
        if not value:
            raise FeedRefused(f"{label}: environment variable {name} ({what}) is not set",
                              hint=f"export {name}=... before running wsync")
        register_secret(value)
        return value

    if auth:
        kind = auth.get("type")
        if kind == "basic":
            basic = (env(auth["username_env"], "feed user name"), env(auth["password_env"], "feed password"))
        elif kind == "bearer":
            headers["Authorization"] = "Bearer " + env(auth["token_env"], "feed token")
    for header, name in (headers_env or {}).items():
        headers[header] = env(name, f"{header} header")
    return basic, headers


def http_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def request_with_retries(session: requests.Session, url: str, *, label: str, retries: int, retry_wait: float,
                         timeout: float, stream: bool, verify: bool = True, **kwargs: Any) -> requests.Response:
    """GET with retries on transient failures; a final failure becomes FeedRefused naming the cause."""

    def attempt() -> requests.Response:
        try:
            response = session.get(url, stream=stream, timeout=(min(timeout, 10.0), timeout), verify=verify, **kwargs)
        except requests.RequestException as exc:
            raise _Transient(f"could not connect ({type(exc).__name__}: {exc})") from None
        if response.status_code == 429 or response.status_code >= 500:
            response.close()
            raise _Transient(f"HTTP {response.status_code} {response.reason or ''}".strip())
        return response

    retrying = Retrying(stop=stop_after_attempt(max(1, retries)),
                        wait=wait_exponential(multiplier=retry_wait, max=max(retry_wait * 8, 0)),
                        retry=retry_if_exception(lambda e: isinstance(e, _Transient)), reraise=True)
    try:
        return retrying(attempt)
    except _Transient as exc:
        raise FeedRefused(redact(f"{label}: {exc} after {max(1, retries)} attempt(s)"),
                          hint="the feed server failed; try again later or check the URL") from None


def fetch(url: str, *, label: str, workdir: Path, fetch_state: dict[str, Any] | None, force: bool,
          auth: dict[str, Any] | None, headers_env: dict[str, Any] | None, timeout: float, retries: int,
          retry_wait: float, verify: bool = True) -> Opened:
    basic, headers = auth_for(auth, headers_env, label)
    state = fetch_state or {}
    if not force and state.get("source", url) == url:
        if state.get("etag"):
            headers["If-None-Match"] = state["etag"]
        if state.get("last_modified"):
            headers["If-Modified-Since"] = state["last_modified"]
    session = http_session()
    response = request_with_retries(session, url, label=label, retries=retries, retry_wait=retry_wait,
                                     timeout=timeout, stream=True, verify=verify, headers=headers, auth=basic)
    with response:
        new_state = {"source": url, "etag": response.headers.get("ETag"),
                     "last_modified": response.headers.get("Last-Modified")}
        if response.status_code == 304:
            return Opened(None, label, not_modified=True, fetch_state={**state, "source": url})
        if response.status_code >= 400:
            hint = "check the feed credentials" if response.status_code in (401, 403) else "check the feed URL"
            raise FeedRefused(redact(f"{label}: the server answered HTTP {response.status_code} "
                                     f"{response.reason or ''}".rstrip()), hint=hint)
        target = workdir / "download.bin"
        try:
            with open(target, "wb") as out:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
        except requests.RequestException as exc:
            raise FeedRefused(redact(f"{label}: the download broke off ({type(exc).__name__}); "
                                     "the file is truncated")) from None
        return Opened(target, label, fetch_state=new_state,
                      content_type=response.headers.get("Content-Type", ""))


def unpack(path: Path, label: str, workdir: Path) -> Path:
    """Gzip or single-file zip by magic bytes -> the unpacked file; anything else unchanged."""
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic[:2] == b"\x1f\x8b":
        target = workdir / "unpacked.gz.bin"
        try:
            with gzip.open(path, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
        except (OSError, EOFError, zlib.error) as exc:
            raise FeedRefused(f"{label}: the gzip data is damaged or truncated ({exc})") from None
        return unpack(target, label, workdir)
    if magic == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(path) as archive:
                members = [m for m in archive.infolist()
                           if not m.is_dir() and not m.filename.startswith("__MACOSX/")
                           and not Path(m.filename).name.startswith(".")]
                if len(members) != 1:
                    names = ", ".join(m.filename for m in members[:5]) or "none"
                    raise FeedRefused(f"{label}: a zip feed must hold exactly one file, it holds "
                                      f"{len(members)} ({names})")
                target = workdir / "unpacked.zip.bin"
                with archive.open(members[0]) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise FeedRefused(f"{label}: the zip archive is damaged or truncated ({exc})") from None
        return target
    return path


def open_source(source: str, *, label: str, workdir: Path, **http: Any) -> Opened:
    if is_url(source):
        opened = fetch(source, label=label, workdir=workdir, **http)
    else:
        path = Path(source)
        if not path.is_file():
            raise FeedRefused(f"{label}: no such file", hint="check the path (relative paths are resolved "
                                                              "against the config file's folder)")
        opened = Opened(path, label, fetch_state={"source": source})
    if opened.path is not None:
        opened.path = unpack(opened.path, label, workdir)
        if opened.path.stat().st_size == 0:
            raise FeedRefused(f"{label}: the feed is empty (0 bytes)")
        check_not_html(opened.path, label, opened.content_type)
    return opened


def check_not_html(path: Path, label: str, content_type: str = "") -> None:
    """An HTML page (login form, error page, maintenance notice) served in place of the data."""
    with open(path, "rb") as fh:
        head = fh.read(2048)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")) or (b"<html" in text[:512] and b"<head" in text) \
            or ("text/html" in content_type.lower() and not text.startswith((b"<?xml", b"<rss", b"{", b"["))):
        title = ""
        lowered = head.decode("utf-8", "replace")
        start = lowered.lower().find("<title>")
        if start >= 0:
            end = lowered.lower().find("</title>", start)
            title = lowered[start + 7: end if end > 0 else start + 87].strip()[:80]
        raise FeedRefused(f"{label}: got an HTML page instead of feed data"
                          + (f" (page title: {title!r})" if title else ""),
                          hint="the server probably answered with an error or login page")
