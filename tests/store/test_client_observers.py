"""The client tells its observers of every HTTP attempt, the ones its retries hide included."""

from __future__ import annotations

import pytest

from wsync.sandbox import Faults, SandboxServer
from wsync.store import StoreClient, StoreSettings
from wsync.store.errors import StoreError
from wsync.store.limiter import Attempt


@pytest.fixture
def server():
    store = SandboxServer().start()
    try:
        yield store
    finally:
        store.stop()


def client_for(store: SandboxServer, **changes) -> StoreClient:
    return StoreClient(StoreSettings(url=store.url, consumer_key=store.consumer_key,
                                     consumer_secret=store.consumer_secret, backoff_base_s=0.0, **changes))


def test_retried_503s_each_reach_the_observer(server: SandboxServer) -> None:
    server.set_faults(Faults(error_rate=1.0, error_statuses=(503,), retry_after_s=0))
    seen: list[Attempt] = []
    with client_for(server, max_attempts=3) as client, client.watching(seen.append), pytest.raises(StoreError):
        client.get("products")
    assert [(a.method, a.status, a.items) for a in seen] == [("GET", 503, 0)] * 3
    assert all(a.overload and a.elapsed_s >= 0 for a in seen)


def test_batch_items_and_watching_ends_with_the_block(server: SandboxServer) -> None:
    seen: list[Attempt] = []
    with client_for(server) as client:
        with client.watching(seen.append):
            client.batch("products/batch", {"create": [{"name": "A", "sku": "A"}, {"name": "B", "sku": "B"}]})
        client.get("products")
        assert client.observers == []
    assert len(seen) == 1 and seen[0].status == 200 and seen[0].items == 2 and not seen[0].overload


def test_an_observer_that_fails_never_fails_the_request(server: SandboxServer) -> None:
    def broken(_: Attempt) -> None:
        raise RuntimeError("observer bug")

    with client_for(server) as client, client.watching(broken):
        assert client.get("products").status == 200
