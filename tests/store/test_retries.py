"""Retries, Retry-After, timeouts, dropped connections and OutcomeUnknown against a scripted server."""

from __future__ import annotations

import logging
import time
from email.utils import formatdate

import pytest

from wsync.store import OutcomeUnknown, StoreClient, StoreConnectionError, StoreServerError
from wsync.store.retry import parse_retry_after

from .scripted_server import Reply


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_reads_are_retried_on_each_transient_status(scripted, scripted_client, status):
    scripted.script = [Reply(status, {"code": "x", "message": "busy"}), Reply(200, [{"id": 1}])]
    response = scripted_client.get("products")
    assert response.data == [{"id": 1}]
    assert response.attempts == 2
    assert len(scripted.requests) == 2
    assert scripted_client.counters.as_dict() == {"read": 2, "write": 0, "retries": 1}


def test_each_attempt_is_signed_anew(scripted, scripted_client):
    scripted.script = [Reply(503), Reply(502), Reply(200, [])]
    scripted_client.get("products", params={"sku": "A"})
    nonces = [r["query"]["oauth_nonce"] for r in scripted.requests]
    assert len(nonces) == 3 and len(set(nonces)) == 3
    assert all(r["query"]["sku"] == "A" for r in scripted.requests)


def test_retry_after_seconds_is_honoured(scripted, scripted_client):
    slept: list[float] = []
    scripted_client.sleep = slept.append
    scripted.script = [Reply(429, None, {"Retry-After": "1"}), Reply(200, [])]
    scripted_client.get("products")
    assert slept == [1.0]


def test_retry_after_is_capped_by_the_retry_budget(scripted, scripted_client):
    slept: list[float] = []
    scripted_client.sleep = slept.append
    scripted.script = [Reply(503, None, {"Retry-After": "3600"}), Reply(200, [])]
    scripted_client.get("products")
    assert slept == [scripted_client.settings.max_retry_wait_s]


def test_retry_after_http_date():
    now = time.time()
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0
    assert parse_retry_after("soon") is None


def test_attempts_are_bounded_and_the_error_says_why(scripted, scripted_client):
    scripted.default = Reply(503, {"code": "down", "message": "Maintenance"})
    with pytest.raises(StoreServerError) as info:
        scripted_client.get("products")
    assert len(scripted.requests) == scripted_client.settings.max_attempts
    assert "Maintenance" in str(info.value) and "HTTP 503" in str(info.value)
    assert info.value.exit_code == 3


def test_total_wait_is_bounded(scripted, fast_settings):
    client = StoreClient(fast_settings.with_changes(max_attempts=50, max_retry_wait_s=0.5))
    slept: list[float] = []
    client.sleep = slept.append
    scripted.default = Reply(429, None, {"Retry-After": "1"})
    with pytest.raises(StoreServerError):
        client.get("products")
    assert sum(slept) <= 0.5 + 1e-9
    assert len(scripted.requests) < 50


def test_each_retry_is_logged_with_its_cause_and_no_secret(scripted, scripted_client, caplog):
    scripted.script = [Reply(502), Reply(200, [])]
    with caplog.at_level(logging.DEBUG, logger="wsync.store"):
        scripted_client.get("products")
    retries = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 1 and "HTTP 502" in retries[0].getMessage()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert scripted_client.settings.consumer_key not in text
    assert "oauth_signature=REDACTED" in text


def test_create_is_not_retried_after_an_ambiguous_status(scripted, scripted_client):
    for status in (500, 502, 504):
        scripted.requests.clear()
        scripted.script = [Reply(status), Reply(201, {"id": 9})]
        with pytest.raises(OutcomeUnknown) as info:
            scripted_client.post("products", {"sku": "A"})
        assert len(scripted.requests) == 1
        assert "may or may not" in str(info.value)
        scripted.script.clear()


def test_create_is_retried_when_it_provably_did_not_run(scripted, scripted_client):
    scripted.script = [Reply(429), Reply(503, None, {"Retry-After": "0"}), Reply(201, {"id": 9})]
    assert scripted_client.post("products", {"sku": "A"}).data == {"id": 9}
    assert len(scripted.requests) == 3


def test_503_without_retry_after_is_ambiguous_for_a_create(scripted, scripted_client):
    scripted.script = [Reply(503), Reply(201, {"id": 9})]
    with pytest.raises(OutcomeUnknown):
        scripted_client.post("products", {"sku": "A"})


def test_batch_with_creates_is_outcome_unknown_on_dropped_connection(scripted, scripted_client):
    scripted.script = [Reply(drop=True), Reply(200, {"create": [{"id": 1}]})]
    with pytest.raises(OutcomeUnknown):
        scripted_client.batch("products/batch", {"create": [{"sku": "A"}]})
    assert len(scripted.requests) == 1


def test_batch_of_updates_is_retried_after_a_dropped_connection(scripted, scripted_client):
    scripted.script = [Reply(drop=True), Reply(200, {"update": [{"id": 1}]})]
    assert scripted_client.batch("products/batch", {"update": [{"id": 1}]}) == {"update": [{"id": 1}]}
    assert len(scripted.requests) == 2
    assert scripted_client.counters.write == 2


def test_read_timeout_on_create_is_outcome_unknown(scripted, fast_settings):
    client = StoreClient(fast_settings.with_changes(read_timeout=0.2))
    scripted.script = [Reply(201, {"id": 1}, delay=0.6)]
    with pytest.raises(OutcomeUnknown):
        client.post("products", {"sku": "A"})


def test_read_timeout_on_a_read_is_retried_then_reported(scripted, fast_settings):
    client = StoreClient(fast_settings.with_changes(read_timeout=0.2, max_attempts=2))
    scripted.default = Reply(200, [], delay=0.6)
    with pytest.raises(StoreConnectionError) as info:
        client.get("products")
    assert info.value.kind == "timeout" and "did not answer in time" in str(info.value)
    assert len(scripted.requests) == 2


def test_connection_refused_is_retried_then_reported(free_port):
    client = StoreClient(_settings(f"http://127.0.0.1:{free_port}", max_attempts=3))
    slept: list[float] = []
    client.sleep = slept.append
    with pytest.raises(StoreConnectionError) as info:
        client.post("products", {"sku": "A"})  # a create: refused means it never ran, so it is retried
    assert info.value.kind == "refused" and len(slept) == 2
    assert client.counters.as_dict()["write"] == 0


def test_connections_are_reused(scripted, scripted_client):
    for _ in range(5):
        scripted_client.get("products")
    assert len(scripted.clients) == 1


def _settings(url, **kw):
    from wsync.store import StoreSettings

    from .conftest import TEST_KEY, TEST_SECRET

    return StoreSettings(url=url, consumer_key=TEST_KEY, consumer_secret=TEST_SECRET, backoff_base_s=0.001,
                         connect_timeout=1, read_timeout=1, permalinks="pretty", **kw)


def test_a_refused_nonce_is_signed_anew_and_sent_again_even_for_a_create(scripted, scripted_client):
    # Refused at authentication, before anything ran: repeating the create cannot duplicate it.
    nonce_refused = {"code": "woocommerce_rest_authentication_error",
                     "message": "Invalid nonce - nonce has already been used.", "data": {"status": 401}}
    scripted.script = [Reply(401, nonce_refused), Reply(201, {"id": 9})]
    assert scripted_client.post("products", {"sku": "A"}).data == {"id": 9}
    nonces = [r["query"].get("oauth_nonce") for r in scripted.requests]
    assert len(nonces) == 2 and None not in nonces and nonces[0] != nonces[1]


def test_nonces_are_long_random_values():
    from wsync.store.signing import _WooOAuth

    nonces = {_WooOAuth.generate_nonce() for _ in range(2000)}
    assert len(nonces) == 2000 and all(len(n) == 32 for n in nonces)
