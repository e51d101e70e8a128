"""The client and `wsync check` against the sandbox store (or a live store when configured)."""

from __future__ import annotations

import os

import pytest

from wsync.sandbox import Faults, SandboxServer
from wsync.store import OutcomeUnknown, StoreClient
from wsync.store.check import EXIT_CODES, run_check

LIVE = bool(os.environ.get("WSYNC_TEST_STORE_URL"))
sandbox_only = pytest.mark.skipif(LIVE, reason="needs the sandbox's fault knobs")


def code(kind: str) -> int:
    return EXIT_CODES[kind][0]


@pytest.fixture
def client(store_settings):
    with StoreClient(store_settings) as c:
        yield c


def test_check_passes_with_read_write_keys(store_settings):
    report = run_check(store_settings)
    assert report.ok and report.exit_code == 0, report.message
    assert report.can_read and report.can_write and report.permalinks == "pretty"
    assert report.rtt_ms is not None and report.rtt_ms >= 0


@sandbox_only
def test_check_wrong_secret(sandbox, store_settings):
    report = run_check(store_settings.with_changes(consumer_secret="cs_" + "0" * 40))
    assert (report.kind, report.exit_code) == ("wrong_secret", code("wrong_secret")), report.message


@sandbox_only
def test_check_unknown_key(sandbox, store_settings):
    report = run_check(store_settings.with_changes(consumer_key="ck_" + "1" * 40))
    assert (report.kind, report.exit_code) == ("unknown_key", code("unknown_key")), report.message


@sandbox_only
def test_check_read_only_key(sandbox, store_settings):
    report = run_check(store_settings.with_changes(consumer_key=sandbox.readonly_key,
                                                   consumer_secret=sandbox.readonly_secret))
    assert (report.kind, report.exit_code) == ("read_only", code("read_only")), report.message
    assert report.can_read and report.can_write is False
    assert "write permissions" in report.message


@sandbox_only
def test_check_tls_self_signed_sandbox(self_signed_cert, store_settings):
    cert, key = self_signed_cert
    with SandboxServer(tls_cert=str(cert), tls_key=str(key)) as tls_store:
        settings = store_settings.with_changes(url=tls_store.url, consumer_key=tls_store.consumer_key,
                                               consumer_secret=tls_store.consumer_secret)
        report = run_check(settings)
        assert (report.kind, report.exit_code) == ("tls", code("tls"))
        report = run_check(settings.with_changes(verify_tls=False))
        assert report.ok and report.auth == "basic", report.message
        report = run_check(settings.with_changes(verify_tls=False, auth="query"))
        assert report.ok, report.message


def test_batches_paging_and_sku_lookups(client):
    creates = [{"name": f"Store test {i}", "sku": f"WST-{i:03d}", "regular_price": "1.00"} for i in range(7)]
    results = client.batch_many("products/batch", creates=creates, size=3, concurrency=2)
    assert [r.index for r in results] == list(range(7)) and all(r.ok for r in results)
    ids = [r.data["id"] for r in results]
    assert [r.data["sku"] for r in results] == [c["sku"] for c in creates]
    # a duplicate SKU fails alone, the others land
    again = client.batch_many("products/batch", creates=[{"name": "dup", "sku": "WST-000"},
                                                         {"name": "new", "sku": "WST-100"}])
    assert not again[0].ok and again[0].error.code == "product_invalid_sku" and again[0].error.resource_id == ids[0]
    assert again[1].ok
    ids.append(again[1].data["id"])
    found = client.find_by_skus(["WST-001", "WST-005", "WST-404", "WST-100"], fields=["id"])
    assert sorted(p["sku"] for p in found) == ["WST-001", "WST-005", "WST-100"]
    listed = [p["id"] for p in client.iter_pages("products", per_page=3, fields=["id", "sku"])
              if str(p.get("sku", "")).startswith("WST-")]
    assert listed == sorted(ids)
    updated = client.batch("products/batch", {"update": [{"id": ids[0], "regular_price": "2.00"}],
                                              "delete": [ids[-1]]})
    assert updated["update"][0]["regular_price"] == "2.00" and updated["delete"][0]["id"] == ids[-1]
    assert client.counters.write >= 4 and client.counters.read >= 3


@sandbox_only
@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_reads_survive_each_transient_status(sandbox, client, status):
    client.sleep = lambda s: None
    sandbox.set_faults(Faults(error_rate=0.5, error_statuses=(status,), seed=7))
    for _ in range(6):
        assert client.get("products", params={"per_page": 1}).status == 200
    assert sandbox.stats()["faults"] and client.counters.retries > 0


@sandbox_only
def test_retry_after_from_the_store_is_honoured(sandbox, store_settings):
    client = StoreClient(store_settings.with_changes(max_retry_wait_s=60))
    slept: list[float] = []
    client.sleep = slept.append
    sandbox.set_faults(Faults(error_rate=0.5, error_statuses=(429,), retry_after_s=3, seed=3))
    for _ in range(6):
        client.get("products")
    assert slept and all(s == 3.0 for s in slept)


@sandbox_only
def test_create_dropped_after_saving_is_outcome_unknown_and_found_by_sku(sandbox, client):
    sandbox.set_faults(Faults(drop_rate=1.0, only_writes=True))
    with pytest.raises(OutcomeUnknown):
        client.batch("products/batch", {"create": [{"name": "Dropped", "sku": "WST-DROP"}]})
    assert sandbox.stats()["requests"]["by_method"].get("POST") == 1  # never blindly sent again
    sandbox.set_faults(Faults())
    assert [p["sku"] for p in client.find_by_skus(["WST-DROP"])] == ["WST-DROP"]


@sandbox_only
def test_update_dropped_is_retried(sandbox, client):
    created = client.post("products", {"name": "Up", "sku": "WST-UP"}).data
    sandbox.set_faults(Faults(drop_rate=0.5, only_writes=True, seed=11))
    for n in range(4):
        assert client.put(f"products/{created['id']}", {"regular_price": f"{n}.00"}).status == 200
    assert client.counters.retries > 0


@sandbox_only
def test_create_hanging_past_the_read_timeout_is_outcome_unknown(sandbox, store_settings):
    with StoreClient(store_settings.with_changes(read_timeout=0.3)) as c:
        sandbox.set_faults(Faults(hang_rate=1.0, hang_s=0.8, only_writes=True))
        with pytest.raises(OutcomeUnknown):
            c.post("products", {"name": "Slow", "sku": "WST-SLOW"})
        sandbox.set_faults(Faults())
