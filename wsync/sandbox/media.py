"""Images sideloaded the way WooCommerce's wc_rest_upload_image_from_url() does it.

`{src}`: download over HTTP, check it is an image, save it under uploads/YYYY/MM/<basename>
(`-1`, `-2` on a clash), create an attachment post. Every `{src}` is a new download and a new
attachment: wc/v3 never reuses an image by URL. `{id}` reuses an attachment, no download.
"""

from __future__ import annotations

import os
import posixpath
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import requests

from wsync.sandbox.db import Database
from wsync.sandbox.rest_error import RestError

DOWNLOAD_TIMEOUT_S = 10
# WordPress's wp_mkdir_p() checks file_exists() and then calls mkdir(): of requests that find the
# month's uploads folder missing at the same moment, the first creates it and the others fail
# "Unable to create directory" (recordings/28; a live import met it on the first images after a
# reset). On PHP the gap is microseconds wide, but requests that start together reach it
# together; here a request already running when another one creates the folder, and needing it
# within this long of that, loses the race.
MONTH_FOLDER_RACE_S = 0.05
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp"}
NOT_ALLOWED = "Sorry, you are not allowed to upload this file type."


def sniff_image(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class DownloadStats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempted = 0
        self.ok = 0
        self.failed = 0
        self.per_url: Counter = Counter()

    def snapshot(self) -> dict:
        with self.lock:
            return {"attempted": self.attempted, "ok": self.ok, "failed": self.failed, "per_url": dict(self.per_url)}

    def reset(self) -> None:
        with self.lock:
            self.attempted = self.ok = self.failed = 0
            self.per_url.clear()


class Media:
    def __init__(self, db: Database, uploads_dir: str, base_url: Callable[[], str]):
        self.db = db
        self.uploads_dir = uploads_dir
        self.base_url = base_url  # callable: the store's announced base URL
        self.stats = DownloadStats()
        self._session = requests.Session()
        # Uploads-folder failures still to hand out, and the request (thread) that met one: as in
        # WordPress, whose wp_upload_dir() keeps its error for the rest of the request.
        self._upload_failures = 0
        self._failures_lock = threading.Lock()
        self._request = threading.local()
        self._folders_made: dict[str, tuple[float, int]] = {}  # month folder -> (made at, by thread)

    def fail_uploads(self, count: int) -> None:
        with self._failures_lock:
            self._upload_failures = count

    def begin_request(self) -> None:
        self._request.upload_dir_error = False
        self._request.began = time.monotonic()

    def _upload_dir_error(self) -> str | None:
        if not getattr(self._request, "upload_dir_error", False):
            with self._failures_lock:
                if self._upload_failures <= 0:
                    return None
                self._upload_failures -= 1
            self._request.upload_dir_error = True
        now = self.db.now()
        return (f"Invalid image: Unable to create directory wp-content/uploads/{now[:4]}/{now[5:7]}. "
                "Is its parent directory writable by the server?")

    def _lost_folder_race(self, rel_dir: str) -> bool:
        """Whether this request lost the race to create the month's uploads folder (it is then
        refused for the rest of the request, as WordPress caches wp_upload_dir()'s error)."""
        me = threading.get_ident()
        with self._failures_lock:
            made = self._folders_made.get(rel_dir)
            if made is None:
                if os.path.isdir(os.path.join(self.uploads_dir, rel_dir)):
                    return False
                self._folders_made[rel_dir] = (time.monotonic(), me)
                return False
            at, by = made
            began = getattr(self._request, "began", 0.0)
            lost = by != me and began < at and time.monotonic() - at < MONTH_FOLDER_RACE_S
        if lost:
            self._request.upload_dir_error = True
        return lost

    # -- attachments ---------------------------------------------------------------------
    def get(self, attachment_id: Any) -> dict[str, Any] | None:
        try:
            return self.db.get_post(int(attachment_id), "attachment")
        except (TypeError, ValueError):
            return None

    def delete(self, att: dict) -> None:
        """wp_delete_attachment(force): the post and its file."""
        self.db.delete_post(att["id"])
        path = self.file_path(att["file"])
        if path:
            os.unlink(path)
        # Products that showed it show it no more: they render only attachments that exist.

    def render(self, att: dict) -> dict:
        return {
            "id": att["id"], "date_created": att["date_created"], "date_created_gmt": att["date_created"],
            "date_modified": att["date_modified"], "date_modified_gmt": att["date_modified"],
            "src": f"{self.base_url()}/wp-content/uploads/{att['file']}", "name": att["name"],
            "alt": att.get("alt", ""),
        }

    def resolve(self, spec: dict, parent_id: int, error_code: str) -> int:
        """One `images[]` entry (or a variation's `image`) -> attachment id; `id` wins over `src`."""
        if not isinstance(spec, dict):
            raise RestError(error_code, "Invalid image: invalid image data.", 400)
        if spec.get("id"):
            att = self.get(spec["id"])
            if att is None:
                raise RestError("woocommerce_product_invalid_image_id", f"#{spec['id']} is an invalid image ID.", 400)
            self._update_meta(att, spec)
            return att["id"]
        src = spec.get("src")
        if not src:
            raise RestError("woocommerce_product_invalid_image_id", "#0 is an invalid image ID.", 400)
        return self.sideload(str(src), parent_id, spec, error_code)

    def _update_meta(self, att: dict, spec: dict) -> None:
        changed = False
        for key in ("name", "alt"):
            if spec.get(key) and spec[key] != att.get(key):
                att[key] = spec[key]
                changed = True
        if changed:
            self.db.save_post(att)

    def sideload(self, src: str, parent_id: int, spec: dict, error_code: str) -> int:
        parts = urlsplit(src)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RestError(error_code, f"Invalid URL {src}.", 400)
        data = self._download(src, error_code)
        now = self.db.now()
        rel_dir = f"{now[:4]}/{now[5:7]}"
        self._lost_folder_race(rel_dir)  # the loser is refused as any uploads-folder failure is
        folder_error = self._upload_dir_error()
        if folder_error:
            raise RestError(error_code, folder_error, 400)
        filename = posixpath.basename(unquote(parts.path)) or "image"
        ext = os.path.splitext(filename)[1].lower()
        if ext not in IMAGE_EXTENSIONS or sniff_image(data) is None:
            raise RestError(error_code, f"Invalid image: {NOT_ALLOWED}", 400)
        stored = self._store_file(rel_dir, filename, data)
        att_id = self.db.next_id("post")
        att = {"id": att_id, "kind": "attachment", "parent_id": parent_id, "type": sniff_image(data),
               "status": "inherit", "date_created": now, "date_modified": now, "file": f"{rel_dir}/{stored}",
               "name": spec.get("name") or stored, "alt": spec.get("alt") or "", "slug": os.path.splitext(stored)[0]}
        self.db.save_post(att)
        return att_id

    def _download(self, src: str, error_code: str) -> bytes:
        with self.stats.lock:
            self.stats.attempted += 1
            self.stats.per_url[src] += 1
        try:
            resp = self._session.get(src, timeout=DOWNLOAD_TIMEOUT_S)
        except requests.exceptions.Timeout:
            self._count(False)
            raise RestError(error_code, f"Error getting remote image {src}. Error: cURL error 28: Operation timed out"
                            f" after {DOWNLOAD_TIMEOUT_S * 1000} milliseconds with 0 bytes received", 400) from None
        except requests.exceptions.RequestException:
            self._count(False)
            parts = urlsplit(src)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            raise RestError(error_code, f"Error getting remote image {src}. Error: cURL error 7: Failed to connect to"
                            f" {parts.hostname} port {port} after 0 ms: Couldn't connect to server", 400) from None
        if resp.status_code != 200:
            self._count(False)
            raise RestError(error_code, f"Error getting remote image {src}. Error: {resp.reason or 'Not Found'}", 400)
        self._count(True)
        return resp.content

    def _count(self, ok: bool) -> None:
        with self.stats.lock:
            if ok:
                self.stats.ok += 1
            else:
                self.stats.failed += 1

    def _store_file(self, rel_dir: str, filename: str, data: bytes) -> str:
        folder = os.path.join(self.uploads_dir, rel_dir)
        os.makedirs(folder, exist_ok=True)
        stem, ext = os.path.splitext(filename)
        candidate, n = filename, 0
        while True:
            try:
                # O_EXCL: the name is ours even when two requests sideload the same basename.
                fd = os.open(os.path.join(folder, candidate), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                break
            except FileExistsError:
                n += 1
                candidate = f"{stem}-{n}{ext}"
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return candidate

    def file_path(self, rel: str) -> str | None:
        """Path of an uploaded file for serving, or None when outside uploads / missing."""
        full = os.path.realpath(os.path.join(self.uploads_dir, rel))
        root = os.path.realpath(self.uploads_dir)
        if not full.startswith(root + os.sep) or not os.path.isfile(full):
            return None
        return full


class _MediaStore(Protocol):
    """What a `wp/v2/media` answer reads of the store (the sandbox server, which imports this)."""

    db: Database
    media: Media
    wp_user: str
    wp_app_password: str


def media_delete_answer(store: _MediaStore, method: str, attachment_id: int, params: dict[str, Any],
                        basic: tuple[str, str] | None) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
    """`wp/v2/media/ID` as WordPress answers it (recordings/32): only DELETE is served here, with a
    WordPress user's application password (a WooCommerce key is an unknown user name), only with
    force=true (attachments have no trash), and a second delete is a 404."""
    if basic is None:
        return 401, {"code": "rest_cannot_delete", "message": "Sorry, you are not allowed to delete this post.",
                     "data": {"status": 401}}, []
    if tuple(basic) != (store.wp_user, store.wp_app_password):
        return 401, {"code": "invalid_username", "message": "<strong>Error:</strong> Unknown username. Check again "
                     "or try your email address.", "data": {"status": 401}}, []
    if method != "DELETE":
        return 404, {"code": "rest_no_route", "message": "No route was found matching the URL and request method.",
                     "data": {"status": 404}}, []
    with store.db.lock:
        att = store.media.get(attachment_id)
        if att is None:
            return 404, {"code": "rest_post_invalid_id", "message": "Invalid post ID.", "data": {"status": 404}}, []
        if str(params.get("force", "")).lower() not in ("1", "true", "yes"):
            return 501, {"code": "rest_trash_not_supported",
                         "message": "The post does not support trashing. Set 'force=true' to delete.",
                         "data": {"status": 501}}, []
        previous = {"id": att["id"], "type": "attachment", "status": "inherit", "media_type": "image",
                    "source_url": store.media.render(att)["src"], "post": att.get("parent_id") or 0}
        store.media.delete(att)
    return 200, {"deleted": True, "previous": previous}, []
