"""Many items through the batch endpoint: split into requests of at most `size`, a few in flight
at once, results given back per item in input order.

WooCommerce runs a batch without a transaction (creates, then updates, then deletes, each in
order), so every slot of the answer is matched to its item by position.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from wsync.store import errors as E

OPS = ("create", "update", "delete")


class BatchEndpoint(Protocol):
    """The store a batch goes to: StoreClient. This module is below the client (the client calls
    it for batch_many), so it names only what it uses: one batch request, and the store's URL for
    error messages."""

    @property
    def url(self) -> str: ...

    def batch(self, endpoint: str, payload: Mapping[str, list[Any]]) -> dict[str, Any]: ...


@dataclass
class BatchItemResult:
    op: str                         # create | update | delete
    index: int                      # position in the list given for that op
    ok: bool
    data: dict[str, Any] | None = None  # the saved object (ok)
    error: E.StoreError | None = None
    outcome_unknown: bool = False   # the chunk ended without a trustworthy answer: reconcile by SKU


def batch_many(client: BatchEndpoint, endpoint: str, creates: list[Any], updates: list[Any], deletes: list[Any], *,
               size: int, concurrency: int) -> list[BatchItemResult]:
    if not 1 <= size <= 100:
        raise ValueError("batch size must be between 1 and 100")
    items = [(op, i, item) for op, seq in zip(OPS, (creates, updates, deletes), strict=True)
             for i, item in enumerate(seq)]
    chunks = [items[start:start + size] for start in range(0, len(items), size)]
    if not chunks:
        return []
    if concurrency <= 1 or len(chunks) == 1:
        answers = [_send_chunk(client, endpoint, chunk) for chunk in chunks]
    else:
        with ThreadPoolExecutor(max_workers=min(concurrency, len(chunks)), thread_name_prefix="wsync-batch") as pool:
            futures = [pool.submit(_send_chunk, client, endpoint, chunk) for chunk in chunks]
            try:
                answers = [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    return [result for answer in answers for result in answer]


def _send_chunk(client: BatchEndpoint, endpoint: str, chunk: list[tuple[str, int, Any]]) -> list[BatchItemResult]:
    payload: dict[str, list[Any]] = {op: [item for o, _, item in chunk if o == op] for op in OPS}
    try:
        answer = client.batch(endpoint, payload)
    except E.OutcomeUnknown as exc:
        return [BatchItemResult(op, i, False, error=exc, outcome_unknown=True) for op, i, _ in chunk]
    except (E.StoreAuthError, E.StoreConnectionError, E.StoreServerError, E.NotWooCommerce):
        raise  # nothing more can be sent: the caller stops the run
    except E.StoreError as exc:
        return [BatchItemResult(op, i, False, error=exc) for op, i, _ in chunk]
    results: list[BatchItemResult] = []
    cursors = {op: 0 for op in OPS}
    for op, i, _ in chunk:
        slots = answer.get(op) or []
        pos = cursors[op]
        cursors[op] += 1
        slot = slots[pos] if pos < len(slots) else None
        if not isinstance(slot, dict):
            results.append(BatchItemResult(op, i, False, outcome_unknown=True, error=E.OutcomeUnknown(
                f"store {client.url} gave no answer for {op} item {i} of {endpoint}", endpoint=endpoint,
                store_url=client.url)))
        elif isinstance(slot.get("error"), dict):
            results.append(BatchItemResult(op, i, False, data=slot, error=E.StoreError.from_body(
                slot["error"], endpoint=endpoint, store_url=client.url)))
        else:
            results.append(BatchItemResult(op, i, True, data=slot))
    return results
