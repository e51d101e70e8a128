"""The pusher's side of the pending-writes ledger: what one batch could make twice, written down
before the batch is sent, crossed out when its answer is in.

Only what could land twice is kept: creates (a second create of a SKU that is still being saved
makes a duplicate) and image downloads (a second `{src}` makes a second attachment). Updates and
deletes are idempotent and need no settling.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

from wsync.ledger.pending import PendingWrites
from wsync.sync.push import Op

Describe = Callable[[Op], "dict[str, Any] | None"]


class WriteJournal:
    def __init__(self, pending: PendingWrites, *, job_id: int | None, feed: str, kind: str, describe: Describe,
                 parent_id: int | None = None):
        self.pending = pending
        self.job_id = job_id
        self.feed = feed
        self.kind = kind
        self.parent_id = parent_id
        self.describe = describe
        self.pid, self.host = os.getpid(), socket.gethostname()

    def begin(self, endpoint: str, ops: list[Op]) -> int | None:
        items = [d for d in (self.describe(op) for op in ops) if d]
        if not items:
            return None
        return self.pending.add(job_id=self.job_id, feed=self.feed, kind=self.kind, endpoint=endpoint,
                                parent_id=self.parent_id, items=items, pid=self.pid, host=self.host)

    def end(self, token: int | None) -> None:
        if token is not None:
            self.pending.remove(token)


def describe_create(op: Op, *, match: dict[str, str] | None = None, parent_key: str | None = None,
                    parent_id: int | None = None) -> dict[str, Any] | None:
    """A create, by the feed key the ledger will file it under and the SKU the store knows it by
    (a variation without a SKU: by its attribute combination)."""
    if op.action != "create":
        return None
    key = getattr(op.ref, "key", op.ref)
    item: dict[str, Any] = {"key": str(key), "sku": op.sku or None}
    if match:
        item["match"] = match
    if parent_key:
        item["parent_key"] = parent_key
    if parent_id:
        # A request may hold several parents' variations: each item says under which it lands.
        item["parent_id"] = parent_id
    return item


def describe_image_update(op: Op) -> dict[str, Any] | None:
    """An image update that makes the store download: the item and the URLs it fetches."""
    task, slots = op.ref
    urls = [url for url, slot in slots if "src" in slot]
    if not urls:
        return None
    return {"id": int(op.body["id"]), "key": task.key, "sku": task.sku, "urls": urls}
