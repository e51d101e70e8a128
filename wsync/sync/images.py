"""The image phase: attach images after products have landed, never downloading one twice.

wc/v3 downloads every `{src}` it is sent and remembers no source URL, so dedupe is ours:
- the ledger maps each normalised source URL to the attachment it became; a URL seen before
  (for any product or variation) is sent as `{"id": N}`;
- products synced by another tool are adopted: their current attachments are matched to the
  wanted URLs by basename (ignoring WordPress's -1, -scaled, -WxH suffixes);
- a URL new to the store is sent as `{src}` by exactly one item at a time ("waves"): items that
  want a URL another item is already bringing in wait for the next wave and get its id;
- new URLs are probed first (HEAD), so a dead link is recorded and skipped instead of making the
  store reject the product and leave orphan attachments behind;
- an item still refused for an image is sent again without the failing URL, and the URL is not
  tried again before `image_retry_after_s` (or --retry-failed-images).
"""

from __future__ import annotations

import hashlib
import json
import logging
import posixpath
import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import requests

from wsync.catalogue import Product
from wsync.ledger.items import ImageMap, ItemMap, ItemRecord
from wsync.mapping.images import normalise_url
from wsync.redact import redact
from wsync.store.limiter import FixedLimit
from wsync.sync.image_failures import (
    PERMANENT_CODE,
    TRANSIENT_BACKOFF_S,
    TRANSIENT_CODE,
    TRANSIENT_TRIES,
    is_transient,
    permanent_note,
    transient_note,
)
from wsync.sync.options import ImportOptions
from wsync.sync.push import BatchPusher, Journal, Op, OpResult, WaitListener

if TYPE_CHECKING:
    from wsync.store import StoreClient

log = logging.getLogger("wsync.sync.images")

# The product's source URLs, written by the image phase's own requests (never by the products
# phase: its payload's hash must not change), so a lost ledger can be rebuilt from the store
# (wsync.sync.rebuild): a JSON list of {"url", "id"}, in the order of the product's images
# (`id` is null for a URL the store downloads in that very request). A variation's one URL:
META_IMAGES = "_wsync_images"
META_IMAGE = "_wsync_image"

IMAGE_ERROR_CODES = {"woocommerce_product_image_upload_error", "woocommerce_variation_image_upload_error",
                     "woocommerce_product_invalid_image_id"}
# One WordPress rename step: a clash counter (-1), a big-image copy (-scaled), a size (-300x300).
_ONE_SUFFIX = re.compile(r"-(?:scaled|rotated|\d+x\d+|e\d{10,}|\d{1,3})$")

# What `_record` reads from a product's answer to an image update.
ANSWER_FIELDS = ("id", "images")


def _split_name(url_or_name: str) -> tuple[str, str]:
    path = urlsplit(url_or_name).path if "://" in url_or_name else url_or_name
    name = unquote(posixpath.basename(path)).strip().lower()
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    return stem, ("jpg" if ext == "jpeg" else ext)


def basename_key(url_or_name: str) -> str:
    """The file name as wanted, compared without case and with .jpeg = .jpg."""
    stem, ext = _split_name(url_or_name)
    return f"{stem}.{ext}" if ext else stem


def rename_chain(url_or_name: str) -> list[str]:
    """What a stored file may have been called before WordPress renamed it, most specific first:
    `shoe-1-1-scaled.jpg` -> shoe-1-1-scaled.jpg, shoe-1-1.jpg, shoe-1.jpg, shoe.jpg."""
    stem, ext = _split_name(url_or_name)
    chain = []
    while True:
        chain.append(f"{stem}.{ext}" if ext else stem)
        shorter = _ONE_SUFFIX.sub("", stem)
        if shorter == stem or not shorter:
            return chain
        stem = shorter


def match_by_basename(urls: list[str], store_images: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Pair wanted URLs with a product's existing attachments. Each attachment is used once, and
    the least-renamed candidate wins, so `shoe-1.jpg` and `shoe-2.jpg` are never confused."""
    chains = []
    for img in store_images:
        name = img.get("src") or img.get("name") or ""
        chains.append(rename_chain(name) if name else [])
    used: set[int] = set()
    out: dict[str, dict[str, Any]] = {}
    for url in urls:
        wanted = basename_key(url)
        best: tuple[int, int] | None = None
        for index, chain in enumerate(chains):
            if index in used or wanted not in chain:
                continue
            level = chain.index(wanted)
            if best is None or level < best[0]:
                best = (level, index)
        if best is not None:
            used.add(best[1])
            out[url] = store_images[best[1]]
    return out


def urls_hash(urls: list[str]) -> str:
    return hashlib.sha1(json.dumps(urls).encode()).hexdigest()


@dataclass
class ImageTask:
    kind: str  # product | variation
    key: str
    store_id: int
    parent_id: int | None
    urls: list[str]  # wanted, normalised, in order (first = featured)
    record: ItemRecord
    sku: str | None = None
    attempts: int = 0
    transient: int = 0  # failures of the moment (uploads folder, image server) met in this job
    # After a refusal that names no URL ("Invalid image: Sorry, you are not allowed to upload
    # this file type."), new URLs go one per request, so the culprit is known by elimination.
    single: bool = False


@dataclass
class ImageReport:
    scheduled: int = 0  # image slots in items that needed an image request
    items: int = 0
    attached: int = 0
    reused: int = 0  # sent as {id}: no download
    sent_src: int = 0  # sent as {src}: the store downloaded it
    failed_urls: dict[str, str] = field(default_factory=dict)
    failed_items: int = 0
    retried: int = 0  # items sent again after a failure of the moment

    def to_dict(self) -> dict[str, Any]:
        return {"scheduled": self.scheduled, "items": self.items, "attached": self.attached, "reused": self.reused,
                "downloaded": self.sent_src, "failed_urls": len(self.failed_urls), "failed_items": self.failed_items,
                "retried": self.retried}


def wanted_urls(images: list[Any]) -> list[str]:
    out: list[str] = []
    for image in images:
        src = image.src if hasattr(image, "src") else str(image)
        url = normalise_url(src)
        if url not in out:
            out.append(url)
    return out


class ImagePhase:
    def __init__(self, client: StoreClient, item_map: ItemMap, image_map: ImageMap, opts: ImportOptions, *,
                 on_error: Callable[[str, str | None, str, str | None, str], None],
                 should_stop: Callable[[], bool] = lambda: False, max_request_s: float = 0.0,
                 session: requests.Session | None = None, on_saved: Callable[[ImageReport], None] | None = None,
                 journal: Journal | None = None, on_wait: WaitListener | None = None,
                 limit: FixedLimit | None = None):
        self.client = client
        # The requests in flight: the job's limit, shared with its other phases.
        self.limit = limit if limit is not None else opts.limit()
        self.item_map = item_map
        self.image_map = image_map
        self.opts = opts
        self._on_error = on_error  # (stage, sku, message, code, key)
        self.failed_keys: set[tuple[str, str]] = set()
        self.should_stop = should_stop
        self.max_request_s = max_request_s
        # Image updates that make the store download are noted before they are sent: a worker
        # killed mid-request leaves them for the next one to settle instead of downloading again.
        self.journal = journal
        self.on_wait = on_wait
        self.known = image_map.load()
        self.failures = image_map.failures()
        self.earlier = dict(self.failures)  # as they stood before this job: "already reported"
        self.report = ImageReport()
        self.session = session or requests.Session()
        # Told after each batch's outcome is saved, so the job's checkpoint advances during the
        # image phase too (a job killed repeatedly there is still making progress).
        self.on_saved = on_saved
        self._transient_met = False  # a failure of the moment in the last wave: wait before the next
        self._uploaded = False  # the store saved a new image in this run: its uploads folder exists
        self.sleep: Callable[[float], None] = time.sleep

    # -- planning ----------------------------------------------------------------------
    def tasks(self, products: list[Product], records: dict[tuple[str, str], ItemRecord],
              created_now: set[tuple[str, str]]) -> list[ImageTask]:
        tasks: list[ImageTask] = []
        adopt: list[ImageTask] = []
        wants: list[ItemRecord] = []
        for product in products:
            rec = records.get(("product", product.key))
            if rec and rec.store_id:
                if _want(rec, wanted_urls(product.images)):
                    wants.append(rec)
                t = self._task("product", product.key, rec, wanted_urls(product.images), None, product.sku)
                if t:
                    tasks.append(t)
                    if rec.images is None and ("product", product.key) not in created_now:
                        adopt.append(t)
            for variation in product.variations:
                vrec = records.get(("variation", variation.key))
                if vrec and vrec.store_id and rec and rec.store_id:
                    urls = wanted_urls([variation.image]) if variation.image else []
                    if _want(vrec, urls):
                        wants.append(vrec)
                    t = self._task("variation", variation.key, vrec, urls, rec.store_id, variation.sku)
                    if t:
                        tasks.append(t)
        if wants:
            self.item_map.save(wants)  # what each item wants, for `images status` and images_missing
        if adopt:
            self._adopt_store_images(adopt)
        return [t for t in tasks if not self._already_attached(t)]

    # -- what is still missing ---------------------------------------------------------
    def missing(self, records: Iterable[ItemRecord]) -> list[MissingImages]:
        """Items of the feed whose store images lack a wanted URL, after this job's work. Each
        says whether all it lacks failed permanently before this job began (already reported)."""
        out = []
        for rec in records:
            urls = rec.image_urls or []
            if not urls or not rec.store_id or rec.images_hash == urls_hash(urls):
                continue
            lacking = lacking_urls(rec, self.known)
            if not lacking:
                continue
            reported = all(self.earlier.get(u, {}).get("permanent") for u in lacking)
            out.append(MissingImages(rec.kind, rec.key, rec.sku or rec.key, lacking, reported))
        return out

    def _task(self, kind: str, key: str, rec: ItemRecord, urls: list[str], parent_id: int | None,
              sku: str | None) -> ImageTask | None:
        if rec.images_hash == urls_hash(urls) and rec.images is not None:
            return None  # the store already has exactly these, in this order
        if not urls and not rec.images:
            return None  # nothing wanted, nothing of ours attached
        return ImageTask(kind, key, rec.store_id or 0, parent_id, urls, rec, sku=sku or key)

    def _already_attached(self, task: ImageTask) -> bool:
        """An item whose store images already equal the wanted ones (those that may be sent now:
        a URL waiting out its failure back-off is not wanted yet) needs no request."""
        if task.record.images is None:
            return False
        ids = []
        for url in task.urls:
            if url in self.known:
                ids.append(self.known[url][0])
            elif self._may_try(url):
                return False
        if task.record.images != ids:
            return False
        if len(ids) == len(task.urls) and task.record.images_hash != urls_hash(task.urls):
            task.record.images_hash = urls_hash(task.urls)
            self.item_map.save([task.record])
        return True

    def _adopt_store_images(self, tasks: list[ImageTask]) -> None:
        """Match wanted URLs to attachments the store already has on these products, by basename."""
        by_id = {t.store_id: t for t in tasks if t.kind == "product"}
        ids = sorted(by_id)
        adopted: list[tuple[str, int, str | None]] = []
        for start in range(0, len(ids), 100):
            chunk = ids[start:start + 100]
            response = self.client.get("products", params={
                "include": ",".join(map(str, chunk)), "per_page": 100, "_fields": "id,images", "orderby": "id",
                "order": "asc"})
            for obj in response.data or []:
                task = by_id.get(int(obj["id"]))
                if task is None:
                    continue
                store_images = obj.get("images") or []
                matches = match_by_basename([u for u in task.urls if u not in self.known], store_images)
                for url, img in matches.items():
                    if img.get("id"):
                        self.known[url] = (int(img["id"]), img.get("src"))
                        adopted.append((url, int(img["id"]), img.get("src")))
                task.record.images = [int(i["id"]) for i in store_images if i.get("id")]
        if adopted:
            log.info("adopted %d images already on the store", len(adopted))
            self.image_map.save(adopted)

    def on_error(self, stage: str, sku: str | None, message: str, code: str | None, key: str) -> None:
        self._on_error(stage, sku, message, code, key)

    def _item_failed(self, task: ImageTask) -> None:
        self.failed_keys.add((task.kind, task.key))
        self.report.failed_items = len(self.failed_keys)

    # -- sending -----------------------------------------------------------------------
    def _may_try(self, url: str) -> bool:
        failure = self.failures.get(url)
        if failure is None or self.opts.retry_failed_images or not failure.get("permanent", 1):
            return True  # a transient failure is tried again on the next run
        try:
            failed_at = datetime.fromisoformat(failure["failed_at"])
        except (TypeError, ValueError):
            return True
        return (datetime.now(UTC) - failed_at).total_seconds() >= self.opts.image_retry_after_s

    def _probe(self, urls: list[str]) -> None:
        """HEAD each new URL: a dead or non-image link is recorded here, not discovered by the store
        after it has already saved the product's other images as orphans."""
        if not self.opts.probe_images or not urls:
            return

        def check(url: str) -> tuple[str, str | None]:
            try:
                r = self.session.head(url, timeout=(10, 30), allow_redirects=True)
                if r.status_code in (405, 501, 403):
                    r = self.session.get(url, timeout=(10, 30), stream=True)
                    r.close()
                if r.status_code >= 400:
                    return url, f"Error getting remote image {url}. Error: HTTP {r.status_code}."
                ctype = (r.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                binary = ("application/octet-stream", "binary/octet-stream")
                if ctype and not (ctype.startswith("image/") or ctype in binary):
                    return url, f"Invalid image: {url} is {ctype}, not an image."
                return url, None
            except requests.RequestException as exc:
                return url, f"Error getting remote image {url}. Error: {type(exc).__name__}."

        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="wsync-probe") as pool:
            for url, problem in pool.map(check, urls):
                if problem:
                    transient = is_transient(problem)
                    note = transient_note(1) if transient else permanent_note(self.opts.image_retry_after_s)
                    self._fail_url(url, "wsync_image_unreachable", problem + note, permanent=not transient)

    def _fail_url(self, url: str, code: str | None, message: str, *, permanent: bool = True) -> None:
        message = redact(message)
        self.report.failed_urls[url] = message
        self.failures[url] = {"failed_at": datetime.now(UTC).isoformat(), "message": message,
                              "permanent": int(permanent)}
        self.image_map.record_failure(url, code, message, permanent=permanent)

    def _slots(self, task: ImageTask) -> list[tuple[str, dict[str, Any]]]:
        slots: list[tuple[str, dict[str, Any]]] = []
        fresh = 0
        for url in task.urls:
            if url in self.report.failed_urls:
                continue
            if url in self.known:
                slots.append((url, {"id": self.known[url][0]}))
            elif self._may_try(url) and not (task.single and fresh):
                slots.append((url, {"src": url}))
                fresh += 1
        return slots

    def _pending(self, task: ImageTask) -> bool:
        return any(u not in self.known and u not in self.report.failed_urls and self._may_try(u) for u in task.urls)

    def run(self, tasks: list[ImageTask]) -> ImageReport:
        # A job runs the phase once per window of products: the report adds up over them.
        self.report.items += len(tasks)
        self.report.scheduled += sum(len(t.urls) for t in tasks)
        new = sorted({u for t in tasks for u in t.urls if u not in self.known and self._may_try(u)})
        self._probe(new)
        for task in tasks:  # every item that wanted a dead link says so, with the link and the cause
            for url in task.urls:
                if url in self.report.failed_urls:
                    permanent = self.failures.get(url, {}).get("permanent", 1)
                    self.on_error("image", task.sku, f"{url}: {self.report.failed_urls[url]}",
                                  PERMANENT_CODE if permanent else TRANSIENT_CODE, task.key)
                    self._item_failed(task)
        pending = [t for t in tasks if t.kind == "product"] + [t for t in tasks if t.kind == "variation"]
        waits = 0
        while pending and not self.should_stop():
            if self._transient_met:
                # The store or an image server had a moment: give it one before asking again.
                self._transient_met = False
                self.sleep(min(TRANSIENT_BACKOFF_S * 2 ** waits, 4.0))
                waits += 1
            wave, deferred, claimed = [], [], set()
            for task in pending:
                fresh = [u for u, slot in self._slots(task) if "src" in slot]
                if any(u in claimed for u in fresh):
                    deferred.append(task)  # another item brings that URL in: reuse its id next wave
                    continue
                claimed.update(fresh)
                wave.append(task)
            retry = self._run_wave(wave)
            pending = retry + deferred
        return self.report

    def _run_wave(self, wave: list[ImageTask]) -> list[ImageTask]:
        groups: dict[str, list[Op]] = {}
        from wsync.sync import before_images

        before_images.note_images_before(self.item_map.ledger, getattr(self.journal, "job_id", None), wave,
                                         self.item_map.feed)
        for task in wave:
            slots = self._slots(task)
            body: dict[str, Any] = {"id": task.store_id}
            if task.kind == "product":
                body["images"] = [s for _, s in slots]
                body["meta_data"] = [{"key": META_IMAGES, "value": json.dumps(
                    [{"url": url, "id": slot.get("id")} for url, slot in slots], separators=(",", ":"))}]
                endpoint = "products/batch"
            else:
                body["image"] = slots[0][1] if slots else None
                slots = slots[:1]
                body["meta_data"] = [{"key": META_IMAGE, "value": slots[0][0] if slots else ""}]
                endpoint = f"products/{task.parent_id}/variations/batch"
            groups.setdefault(endpoint, []).append(Op("update", body, ref=(task, slots), sku=task.sku))
        retry: list[ImageTask] = []
        for endpoint, ops in groups.items():
            # `_record` reads only the saved product's id and images; the store then builds
            # nothing else of its answer (recordings/33). Variations build theirs whole anyway.
            fields = ANSWER_FIELDS if endpoint == "products/batch" else None
            downloads = [op for op in ops if any("src" in slot for _, slot in op.ref[1])]
            reuse = [op for op in ops if not any("src" in slot for _, slot in op.ref[1])]
            # Items that bring a new file in make the store download and resize it inside the
            # request: small batches, never repeated blindly (that would download again).
            # Until the store has saved one new image in this run, download requests go one at a
            # time: the month's uploads folder may not exist yet, and of requests that create it
            # at once all but one are refused after downloading (wp_mkdir_p, recordings/28), so
            # their images would be downloaded twice.
            while downloads and not self._uploaded and not self.should_stop():
                lead, downloads = downloads[:self.opts.images_per_batch], downloads[self.opts.images_per_batch:]
                for results in self._download_pusher(endpoint, fields, FixedLimit(1)).run(lead):
                    retry.extend(self._record(results))
            for results in self._download_pusher(endpoint, fields, self.limit).run(downloads):
                retry.extend(self._record(results))
            # Items that only reference attachments by id cost the store no download: they go in
            # full-size batches and may be repeated safely.
            size = self.opts.products_per_batch if endpoint == "products/batch" else self.opts.variations_per_batch
            pusher = BatchPusher(self.client, endpoint, size=max(size, self.opts.images_per_batch),
                                 concurrency=self.limit, should_stop=self.should_stop, fields=fields)
            for results in pusher.run(reuse):
                retry.extend(self._record(results))
        return retry

    def _download_pusher(self, endpoint: str, fields: tuple[str, ...] | None,
                         limit: int | FixedLimit) -> BatchPusher:
        return BatchPusher(self.client, endpoint, size=self.opts.images_per_batch, concurrency=limit,
                           reconcile=self._reconcile_factory(endpoint), reconcile_updates=True, idempotent=False,
                           should_stop=self.should_stop, max_request_s=self.max_request_s, journal=self.journal,
                           on_wait=self.on_wait, fields=fields)

    def _reconcile_factory(self, endpoint: str) -> Callable[[list[Op]], dict[int, dict[str, Any]]]:
        """After an ambiguous image request, read the items back: those already showing the sent
        images are done (re-sending {src} would download them again)."""

        def reconcile(ops: list[Op]) -> dict[int, dict[str, Any]]:
            base = endpoint.removesuffix("/batch")
            ids = [op.body["id"] for op in ops]
            response = self.client.get(base, params={"include": ",".join(map(str, ids)), "per_page": 100,
                                                     "_fields": "id,images,image"})
            current = {int(o["id"]): o for o in response.data or []}
            done: dict[int, dict[str, Any]] = {}
            for index, op in enumerate(ops):
                obj = current.get(op.body["id"])
                if obj is not None and self._matches(op, obj):
                    done[index] = obj
            return done

        return reconcile

    @staticmethod
    def _store_images(obj: dict[str, Any]) -> list[dict[str, Any]]:
        if "images" in obj:
            return list(obj.get("images") or [])
        image = obj.get("image")
        return [image] if image else []

    def _matches(self, op: Op, obj: dict[str, Any]) -> bool:
        _task, slots = op.ref
        have = self._store_images(obj)
        if len(have) != len(slots):
            return False
        for (url, slot), img in zip(slots, have, strict=True):
            if "id" in slot and int(img.get("id") or 0) != slot["id"]:
                return False
            if "src" in slot and basename_key(url) not in rename_chain(img.get("src") or img.get("name") or ""):
                return False
        return True

    def _record(self, results: list[OpResult]) -> list[ImageTask]:
        retry: list[ImageTask] = []
        learned: list[tuple[str, int, str | None]] = []
        records: list[ItemRecord] = []
        for result in results:
            task, slots = result.op.ref
            if result.ok and result.data is not None and self._matches(result.op, result.data):
                have = self._store_images(result.data)
                for (url, slot), img in zip(slots, have, strict=True):
                    att = int(img["id"])
                    if "src" in slot:
                        self._uploaded = True
                        self.report.sent_src += 1
                        self.known[url] = (att, img.get("src"))
                        learned.append((url, att, img.get("src")))
                    else:
                        self.report.reused += 1
                self.report.attached += len(slots)
                task.record.images = [int(i["id"]) for i in have]
                sent_urls = [u for u, _ in slots]
                # Hash what is wanted, so a URL that failed is tried again once it may be retried.
                task.record.images_hash = urls_hash(task.urls) if sent_urls == task.urls else None
                records.append(task.record)
                if task.single and self._pending(task):
                    retry.append(task)  # one new image per request: the next one
                continue
            error = result.error
            fresh = [u for u, slot in slots if "src" in slot]
            if (error is not None and error.code in IMAGE_ERROR_CODES and fresh
                    and error.code != "woocommerce_product_invalid_image_id" and is_transient(error.message)):
                task.transient += 1
                if task.transient <= TRANSIENT_TRIES:
                    log.warning("%s %s: the store could not take its image for the moment (%s); trying again, "
                                "one image per request", task.kind, task.sku, redact(error.message))
                    self.report.retried += 1
                    # WordPress keeps an uploads-folder error for the rest of its request: one
                    # new image per request from now on, after a short wait.
                    task.single = True
                    self._transient_met = True
                    retry.append(task)
                    continue
                for url in fresh:
                    self._fail_url(url, error.code, error.message + transient_note(task.transient), permanent=False)
                    self.on_error("image", task.sku, f"{url}: {error.message} ({error.code})"
                                  f"{transient_note(task.transient)}", TRANSIENT_CODE, task.key)
                self._item_failed(task)
                continue
            if error is not None and error.code in IMAGE_ERROR_CODES and task.attempts < 2 * len(task.urls) + 2:
                task.attempts += 1
                if error.code == "woocommerce_product_invalid_image_id":
                    gone = [u for u, slot in slots if "id" in slot and f"#{slot['id']}" in error.message] or \
                        [u for u, slot in slots if "id" in slot]
                    for url in gone:  # the attachment was deleted on the store: forget it, download again
                        self.known.pop(url, None)
                    self.image_map.forget(gone)
                    retry.append(task)
                    continue
                named = [u for u in fresh if u in error.message]
                if named or len(fresh) == 1:
                    note = permanent_note(self.opts.image_retry_after_s)
                    for url in named or fresh:
                        self._fail_url(url, error.code, error.message + note)
                        self.on_error("image", task.sku, f"{url}: {error.message} ({error.code}){note}",
                                      PERMANENT_CODE, task.key)
                        self._item_failed(task)
                else:
                    task.single = True
                retry.append(task)
                continue
            self._item_failed(task)
            message = error.message if error else "the store answered, but without the images sent"
            self.on_error("image", task.sku, message, error.code if error else None, task.key)
        if learned:
            from wsync.sync import before_images

            self.image_map.save(learned)
            before_images.note_attachments(self.item_map.ledger, getattr(self.journal, "job_id", None), learned)
        if records:
            self.item_map.save(records)
        if self.on_saved is not None and (records or learned):
            self.on_saved(self.report)
        return retry


@dataclass
class MissingImages:
    kind: str
    key: str
    sku: str
    urls: list[str]
    reported: bool  # every URL it lacks failed permanently before this job, and was reported then


def lacking_urls(rec: ItemRecord, known: dict[str, tuple[int, str | None]]) -> list[str]:
    """The wanted URLs an item's store images do not include (by the attachment each URL became)."""
    urls = rec.image_urls or []
    if not urls or rec.images_hash == urls_hash(urls):
        return []
    attached = set(rec.images or [])
    return [u for u in urls if not (u in known and known[u][0] in attached)]


def _want(rec: ItemRecord, urls: list[str]) -> bool:
    """Note what the item wants; True when that changed (the record needs saving)."""
    if rec.image_urls == urls:
        return False
    rec.image_urls = list(urls)
    return True
