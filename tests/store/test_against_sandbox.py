"""The client and `wsync check` against the sandbox store (or a live store when configured)."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.jobs.jobs_helpers import wait_for
from wsync.sandbox import FaultProxy, ProxyFaults, SandboxServer
from wsync.store import OutcomeUnknown, StoreClient
from wsync.store.check import EXIT_CODES, run_check

LIVE = bool(os.environ.get("WSYNC_TEST_STORE_URL"))


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


def test_check_wrong_secret(store_settings):
    report = run_check(store_settings.with_changes(consumer_secret="cs_" + "0" * 40))
    assert (report.kind, report.exit_code) == ("wrong_secret", code("wrong_secret")), report.message


def test_check_unknown_key(store_settings):
    report = run_check(store_settings.with_changes(consumer_key="ck_" + "1" * 40))
    assert (report.kind, report.exit_code) == ("unknown_key", code("unknown_key")), report.message


def test_check_read_only_key(request, store_settings):
    if LIVE:
        key, secret = os.environ.get("WSYNC_TEST_READONLY_KEY"), os.environ.get("WSYNC_TEST_READONLY_SECRET")
        if not (key and secret):
            pytest.skip("set WSYNC_TEST_READONLY_KEY and WSYNC_TEST_READONLY_SECRET to a read-only key of the live "
                        "store")
    else:
        sandbox = request.getfixturevalue("sandbox")
        key, secret = sandbox.readonly_key, sandbox.readonly_secret
    report = run_check(store_settings.with_changes(consumer_key=key, consumer_secret=secret))
    assert (report.kind, report.exit_code) == ("read_only", code("read_only")), report.message
    assert report.can_read and report.can_write is False
    assert "write permissions" in report.message


def test_check_tls_self_signed_sandbox(self_signed_cert, store_settings):
    """A store of its own with a certificate nobody trusts (live or not, this one is local)."""
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
    p = f"WST{uuid.uuid4().hex[:6]}-"  # a live store keeps what other runs left: SKUs of this run only
    creates = [{"name": f"Store test {i}", "sku": f"{p}{i:03d}", "regular_price": "1.00"} for i in range(7)]
    results = client.batch_many("products/batch", creates=creates, size=3, concurrency=2)
    ids = [r.data["id"] for r in results if r.ok]
    try:
        assert [r.index for r in results] == list(range(7)) and all(r.ok for r in results)
        assert [r.data["sku"] for r in results] == [c["sku"] for c in creates]
        # a duplicate SKU fails alone, the others land
        again = client.batch_many("products/batch", creates=[{"name": "dup", "sku": f"{p}000"},
                                                             {"name": "new", "sku": f"{p}100"}])
        assert not again[0].ok and again[0].error.code == "product_invalid_sku"
        assert again[0].error.resource_id == ids[0]
        assert again[1].ok
        ids.append(again[1].data["id"])
        found = client.find_by_skus([f"{p}001", f"{p}005", f"{p}404", f"{p}100"], fields=["id"])
        assert sorted(x["sku"] for x in found) == [f"{p}001", f"{p}005", f"{p}100"]
        listed = [x["id"] for x in client.iter_pages("products", per_page=3, fields=["id", "sku"])
                  if str(x.get("sku", "")).startswith(p)]
        assert listed == sorted(ids)
        updated = client.batch("products/batch", {"update": [{"id": ids[0], "regular_price": "2.00"}],
                                                  "delete": [ids[-1]]})
        assert updated["update"][0]["regular_price"] == "2.00" and updated["delete"][0]["id"] == ids[-1]
        ids.pop()
        assert client.counters.write >= 4 and client.counters.read >= 3
    finally:
        if ids:
            client.batch("products/batch", {"delete": ids})


def test_meta_merges_by_key_and_adopted_products_read_back_as_pushed(client):
    """What comparing an adopted product relies on, on the sandbox and the real store alike: an
    update's meta_data changes the keys it names and keeps the others (so meta compares by key,
    wsync.sync.payload.same_value), and a product read back by id (`include=`, context=edit,
    `_fields` of what a payload holds) shapes into the payload it was created from, which then
    plans no change (wsync.sync.adopt.read_products, rebuild.pushed_from_store)."""
    from wsync.sync.adopt import read_products
    from wsync.sync.payload import diff
    from wsync.sync.rebuild import pushed_from_store

    sku = f"WST-{uuid.uuid4().hex[:10]}"
    payload = {"name": "Meta test", "type": "simple", "sku": sku, "regular_price": "4.50", "sale_price": "",
               "manage_stock": True, "stock_quantity": 3, "status": "publish", "description": "",
               "meta_data": [{"key": "_wsync_key", "value": sku}, {"key": "colour_code", "value": "R1"}]}
    made = client.batch("products/batch", {"create": [payload]})["create"][0]
    pid = int(made["id"])
    try:
        client.batch("products/batch", {"update": [{"id": pid, "meta_data": [{"key": "colour_code", "value": "R2"}]}]})
        state = read_products(client, [pid])[pid]
        meta = {m["key"]: m["value"] for m in state["meta_data"]}
        assert meta["_wsync_key"] == sku and meta["colour_code"] == "R2", meta
        assert "related_ids" not in state and "price_html" not in state
        payload["meta_data"][1]["value"] = "R2"
        assert diff(payload, pushed_from_store(state, "product")) == {}
        assert diff({**payload, "regular_price": "5.00"}, pushed_from_store(state, "product")) == {
            "regular_price": "5.00"}
    finally:
        client.batch("products/batch", {"delete": [pid]})


# Faults come from a proxy in front of the store, so these run on the sandbox and live alike.
@pytest.fixture
def proxy(store_settings):
    server = FaultProxy(store_settings.url, store_settings.consumer_key, store_settings.consumer_secret,
                        verify=os.environ.get("REQUESTS_CA_BUNDLE") or True, allow_insecure_http=True).start()
    yield server
    server.stop()


@pytest.fixture
def sku(store_settings):
    """A SKU of this test's own; whatever holds it is deleted afterwards."""
    value = f"WST-{uuid.uuid4().hex[:10]}"
    yield value
    with StoreClient(store_settings) as c:
        ids = [p["id"] for p in c.find_by_skus([value]) if p.get("type") != "variation"]
        if ids:
            c.batch("products/batch", {"delete": ids})


def through(proxy: FaultProxy, store_settings, **changes) -> StoreClient:
    return StoreClient(store_settings.with_changes(url=proxy.url, **changes))


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_reads_survive_each_transient_status(proxy, store_settings, status):
    proxy.set_faults(ProxyFaults(error_rate=0.5, error_statuses=(status,), seed=7))
    with through(proxy, store_settings) as client:
        client.sleep = lambda s: None
        for _ in range(6):
            assert client.get("products", params={"per_page": 1}).status == 200
        assert proxy.stats()["faults"]["errors"] and client.counters.retries > 0


def test_retry_after_from_the_store_is_honoured(proxy, store_settings):
    proxy.set_faults(ProxyFaults(rate_limit_rate=0.5, retry_after_s=3, seed=3))
    with through(proxy, store_settings, max_retry_wait_s=60) as client:
        slept: list[float] = []
        client.sleep = slept.append
        for _ in range(6):
            client.get("products", params={"per_page": 1})
    assert slept and all(s == 3.0 for s in slept)


def test_create_dropped_after_saving_is_outcome_unknown_and_found_by_sku(proxy, store_settings, sku):
    proxy.set_faults(ProxyFaults(drop_rate=1.0, only_writes=True))
    with through(proxy, store_settings) as client, pytest.raises(OutcomeUnknown):
        client.batch("products/batch", {"create": [{"name": "Dropped", "sku": sku}]})
    assert proxy.stats()["faults"]["drops"] == 1  # never blindly sent again
    with StoreClient(store_settings) as direct:
        assert [p["sku"] for p in direct.find_by_skus([sku])] == [sku]


def test_update_dropped_is_retried(proxy, store_settings, sku):
    with StoreClient(store_settings) as direct:
        created = direct.post("products", {"name": "Up", "sku": sku}).data
    proxy.set_faults(ProxyFaults(drop_rate=0.5, only_writes=True, seed=11))
    with through(proxy, store_settings) as client:
        for n in range(4):
            assert client.put(f"products/{created['id']}", {"regular_price": f"{n}.00"}).status == 200
        assert client.counters.retries > 0


def test_create_hanging_past_the_read_timeout_is_outcome_unknown(proxy, store_settings, sku):
    proxy.set_faults(ProxyFaults(hang_rate=1.0, hang_s=0.8, only_writes=True))
    with through(proxy, store_settings, read_timeout=0.3) as client, pytest.raises(OutcomeUnknown):
        client.post("products", {"name": "Slow", "sku": sku})
    with StoreClient(store_settings) as direct:  # the create lands after the client gave up
        assert wait_for(lambda: [p["sku"] for p in direct.find_by_skus([sku])] == [sku], 30,
                        what="the hung create landing")
