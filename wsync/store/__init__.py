"""The WooCommerce store client: pooled session, auth, retries, typed errors, paging, SKU look-ups, batches."""

from wsync.store.batches import BatchItemResult
from wsync.store.client import BATCH_LIMIT, StoreClient
from wsync.store.errors import (
    BatchTooLarge,
    NotFound,
    NotWooCommerce,
    OutcomeUnknown,
    PlainHttpRefused,
    StoreAuthError,
    StoreConnectionError,
    StoreError,
    StoreServerError,
)
from wsync.store.response import Counters, StoreResponse
from wsync.store.settings import StoreSettings

__all__ = [
    "BATCH_LIMIT", "BatchItemResult", "BatchTooLarge", "Counters", "NotFound", "NotWooCommerce", "OutcomeUnknown",
    "PlainHttpRefused", "StoreAuthError", "StoreClient", "StoreConnectionError", "StoreError", "StoreResponse",
    "StoreServerError", "StoreSettings",
]
