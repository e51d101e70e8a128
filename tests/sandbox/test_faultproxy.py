"""The fault proxy: transparent when idle, re-signs for the store, and each fault does to the client
and to the store what the real failure does (the store keeps running what the client lost)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from wsync.cli import main
from wsync.sandbox import FaultProxy, LatencyModel, ProxyFaults, SandboxServer
from wsync.store import OutcomeUnknown, StoreClient, StoreSettings

ROOT = Path(__file__).resolve().parents[2]
PRODUCTS = "/wp-json/wc/v3/products"
MakeProxy = Callable[..., FaultProxy]


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not met within {timeout} s")


@pytest.fixture
def make_proxy(sandbox: SandboxServer) -> Iterator[MakeProxy]:
    """FaultProxy(...) in front of the sandbox (or another upstream), stopped before the sandbox."""
    made: list[FaultProxy] = []

    def make(faults: ProxyFaults | None = None, upstream: str | None = None, **kwargs: Any) -> FaultProxy:
        proxy = FaultProxy(upstream or sandbox.url, sandbox.consumer_key, sandbox.consumer_secret, faults, **kwargs)
        made.append(proxy.start())
        return proxy

    yield make
    for proxy in made:
        proxy.stop()


def client(proxy: FaultProxy, sandbox: SandboxServer, read_timeout: float = 10.0) -> StoreClient:
    return StoreClient(StoreSettings(url=proxy.url, consumer_key=sandbox.consumer_key,
                                     consumer_secret=sandbox.consumer_secret, read_timeout=read_timeout,
                                     max_attempts=1))


def product(n: int) -> dict:
    return {"name": f"Proxy product {n}", "sku": f"PX-{n}", "regular_price": "9.50"}


def writes(sandbox: SandboxServer) -> int:
    return sandbox.stats()["writes"]


def upstream_requests(sandbox: SandboxServer) -> int:
    return sandbox.stats()["requests"]["total"]


# ---------------------------------------------------------------------------------- recording upstream
class _Recorder(BaseHTTPRequestHandler):
    """An upstream that keeps every request it gets, to see exactly what the proxy sends."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append({"method": self.command, "path": self.path,  # type: ignore[attr-defined]
                                 "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "body": self.rfile.read(length) if length else b""})
        if self.path.startswith("/moved"):
            status, body, headers = 301, b"", [("Location", "https://elsewhere.example/shop/")]
        else:
            status, body = 201, b'{"id":7,"sku":"A/B"}'
            headers = [("Content-Type", "application/json; charset=UTF-8"), ("X-WP-Total", "7"),
                       ("X-WP-TotalPages", "4"),
                       ("Link", '<http://upstream/wp-json/wc/v3/products?page=2>; rel="next"'),
                       ("X-Powered-By", "PHP/8.2")]
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def recorder_url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


# ---------------------------------------------------------------------------------- pass-through
def test_requests_pass_through_with_their_answers_and_paging_headers(sandbox, make_proxy):
    proxy = make_proxy()
    with client(proxy, sandbox) as store:
        created = store.batch("products/batch", {"create": [product(n) for n in range(5)]})["create"]
        assert [item["sku"] for item in created] == [f"PX-{n}" for n in range(5)]
        page = store.get("products", params={"per_page": 2, "page": 2, "orderby": "id", "order": "asc"})
        assert page.status == 200 and [item["sku"] for item in page.data] == ["PX-2", "PX-3"]
        assert page.headers["X-WP-Total"] == "5" and page.headers["X-WP-TotalPages"] == "3"
        assert 'rel="next"' in page.headers["Link"] and 'rel="prev"' in page.headers["Link"]
        assert page.headers["Allow"] == "GET, POST"
        updated = store.put(f"products/{created[0]['id']}", {"regular_price": "11.00"})
        assert updated.data["regular_price"] == "11.00"
        assert sorted(item["sku"] for item in store.iter_pages("products", fields=["sku"])) == \
            [f"PX-{n}" for n in range(5)]
        missing = requests.get(f"{proxy.url}{PRODUCTS}/999999", timeout=5)
    assert missing.status_code == 404 and missing.json()["code"] == "woocommerce_rest_product_invalid_id"
    assert writes(sandbox) == 2
    stats = proxy.stats()
    assert stats["requests"] == stats["forwarded"] == upstream_requests(sandbox)
    assert stats["upstream_errors"] == 0 and set(stats["faults"].values()) == {0}


def test_the_client_keys_do_not_matter_the_proxy_signs_for_the_store(sandbox, make_proxy):
    proxy = make_proxy()
    bogus = {"oauth_consumer_key": "ck_not_a_key", "oauth_signature": "bogus", "oauth_nonce": "1",
             "oauth_timestamp": "1", "oauth_signature_method": "HMAC-SHA256"}
    assert requests.get(f"{sandbox.url}{PRODUCTS}", params=bogus, timeout=5).status_code == 401
    via_proxy = requests.get(f"{proxy.url}{PRODUCTS}", params=bogus, timeout=5)
    assert via_proxy.status_code == 200 and via_proxy.json() == []
    assert requests.post(f"{proxy.url}{PRODUCTS}", json=product(1), timeout=5).status_code == 201


def test_client_auth_never_reaches_upstream_and_the_rest_is_forwarded_as_is(recorder, make_proxy):
    proxy = make_proxy(upstream=recorder_url(recorder))
    body = b'{"name":"A/B product","sku":"A/B"}'
    answer = requests.post(
        f"{proxy.url}{PRODUCTS}?sku=A%2FB&consumer_key=ck_client&consumer_secret=cs_client"
        "&oauth_consumer_key=ck_client&oauth_signature=client-signature&per_page=3",
        data=body, headers={"Authorization": "Basic Y2tfY2xpZW50OmNzX2NsaWVudA==", "Content-Type": "application/json"},
        timeout=5)
    seen = recorder.seen[0]
    query = parse_qs(urlsplit(seen["path"]).query)
    assert "authorization" not in seen["headers"]
    assert "consumer_key" not in query and "consumer_secret" not in query
    assert query["oauth_consumer_key"] != ["ck_client"] and query["oauth_signature"] != ["client-signature"]
    assert query["oauth_consumer_key"] == [proxy.upstream.settings.consumer_key]
    assert query["sku"] == ["A/B"] and query["per_page"] == ["3"]
    assert (seen["method"], urlsplit(seen["path"]).path) == ("POST", PRODUCTS)
    assert seen["body"] == body and seen["headers"]["content-type"] == "application/json"
    assert answer.status_code == 201 and answer.content == b'{"id":7,"sku":"A/B"}'
    assert answer.headers["X-WP-Total"] == "7" and answer.headers["X-WP-TotalPages"] == "4"
    assert answer.headers["Link"] == '<http://upstream/wp-json/wc/v3/products?page=2>; rel="next"'
    assert "X-Powered-By" not in answer.headers

    moved = requests.get(f"{proxy.url}/moved", allow_redirects=False, timeout=5)
    assert moved.status_code == 301 and moved.headers["Location"] == "https://elsewhere.example/shop/"
    assert len(recorder.seen) == 2  # the redirect was handed back, not followed


def test_an_upstream_that_cannot_be_reached_is_a_502_page(make_proxy):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    proxy = make_proxy(upstream=f"http://127.0.0.1:{closed_port}", connect_timeout=2)
    answer = requests.get(f"{proxy.url}{PRODUCTS}", timeout=5)
    assert answer.status_code == 502 and answer.headers["Content-Type"].startswith("text/html")
    assert b"502 Bad Gateway" in answer.content
    assert proxy.stats()["upstream_errors"] == 1


# ---------------------------------------------------------------------------------- faults
def test_error_faults_answer_without_running_anything_upstream(sandbox, make_proxy):
    proxy = make_proxy(ProxyFaults(error_rate=1.0, retry_after_s=4, seed=1))
    answers = [requests.post(f"{proxy.url}{PRODUCTS}", json=product(n), timeout=5) for n in range(15)]
    by_status = {a.status_code: a for a in answers}
    assert set(by_status) == {500, 502, 503}
    assert by_status[500].json() == {"code": "internal_server_error", "data": {"status": 500},
                                     "message": "<p>There has been a critical error on this website.</p>"}
    assert by_status[502].headers["Content-Type"].startswith("text/html") and b"nginx" in by_status[502].content
    assert by_status[503].headers["Retry-After"] == "4" and b"503" in by_status[503].content
    assert "Retry-After" not in by_status[500].headers
    assert upstream_requests(sandbox) == 0 and writes(sandbox) == 0
    assert proxy.stats()["faults"]["errors"] == 15 and proxy.stats()["forwarded"] == 0


def test_rate_limit_faults_answer_429_with_retry_after_and_reach_nothing(sandbox, make_proxy):
    proxy = make_proxy(ProxyFaults(rate_limit_rate=1.0, retry_after_s=7, seed=2))
    answers = [requests.post(f"{proxy.url}{PRODUCTS}", json=product(n), timeout=5) for n in range(12)]
    assert {a.status_code for a in answers} == {429}
    assert {a.headers["Retry-After"] for a in answers} == {"7"}
    assert {bool(a.content) for a in answers} == {True, False}  # some firewalls answer with no body
    assert upstream_requests(sandbox) == 0 and writes(sandbox) == 0
    assert proxy.stats()["faults"]["rate_limited"] == 12


def test_a_hang_lands_upstream_after_the_client_gave_up(sandbox, make_proxy):
    proxy = make_proxy(ProxyFaults(hang_rate=1.0, hang_s=0.8, only_writes=True))
    with client(proxy, sandbox, read_timeout=0.3) as store:
        started = time.monotonic()
        with pytest.raises(OutcomeUnknown):
            store.post("products", product(1))
        assert time.monotonic() - started < 0.7
        assert writes(sandbox) == 0
        wait_for(lambda: writes(sandbox) == 1, what="the hung write landing")
        assert [p["sku"] for p in store.get("products").data] == ["PX-1"]  # a read: never faulted here
    assert proxy.stats()["faults"]["hangs"] == 1


def test_a_drop_leaves_the_write_done_and_the_client_without_an_answer(sandbox, make_proxy):
    proxy = make_proxy(ProxyFaults(drop_rate=1.0, only_writes=True))
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{proxy.url}{PRODUCTS}", json=product(1), timeout=5)
    # No polling: the proxy waits for the store's full answer before it drops the connection.
    assert writes(sandbox) == 1 and sandbox.stats()["counts"]["products"] == 1
    with client(proxy, sandbox) as store, pytest.raises(OutcomeUnknown):
        store.batch("products/batch", {"create": [product(2)]})
    assert writes(sandbox) == 2 and proxy.stats()["faults"]["drops"] == 2


def test_a_cut_closes_the_client_connection_while_the_store_keeps_saving(sandbox, make_proxy):
    sandbox.set_latency(LatencyModel(per_item_write_s=1.0))
    proxy = make_proxy(ProxyFaults(cut_rate=1.0, cut_after_s=0.2, only_writes=True))
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{proxy.url}{PRODUCTS}/batch", json={"create": [product(1)]}, timeout=5)
    cut_after = time.monotonic() - started
    assert 0.15 < cut_after < 0.8
    assert writes(sandbox) == 0 and proxy.stats()["in_flight"] == 1  # the batch is still running upstream
    assert proxy.wait_idle(5)
    assert time.monotonic() - started >= 1.0
    assert writes(sandbox) == 1 and sandbox.stats()["counts"]["products"] == 1
    stats = proxy.stats()
    assert stats["faults"]["cuts"] == 1 and stats["upstream_errors"] == 0


def test_the_same_seed_gives_the_same_fault_sequence(sandbox, make_proxy):
    faults = ProxyFaults(error_rate=0.3, rate_limit_rate=0.3, seed=11)

    def run(proxy: FaultProxy) -> list[tuple[int, int]]:
        with requests.Session() as session:
            return [(a.status_code, len(a.content)) for a in
                    (session.get(f"{proxy.url}{PRODUCTS}", timeout=5) for _ in range(30))]

    proxy = make_proxy(faults)
    first = run(proxy)
    assert {status for status, _ in first} >= {200, 429} and {status for status, _ in first} & {500, 502, 503}
    assert run(make_proxy(faults)) == first
    assert requests.post(f"{proxy.url}/_proxy/faults", json=faults.to_dict(), timeout=5).ok  # restarts the seed
    assert run(proxy) == first
    other = make_proxy(ProxyFaults(error_rate=0.3, rate_limit_rate=0.3, seed=12))
    assert run(other) != first


def test_sandbox_admin_paths_are_never_faulted(sandbox, make_proxy):
    proxy = make_proxy(ProxyFaults(error_rate=1.0, seed=3))
    stats = requests.get(f"{proxy.url}/_sandbox/stats", timeout=5)
    assert stats.status_code == 200 and "requests" in stats.json()
    assert requests.post(f"{proxy.url}/_sandbox/reset", timeout=5).json() == {"reset": True}
    assert requests.get(f"{proxy.url}{PRODUCTS}", timeout=5).status_code in (500, 502, 503)
    assert proxy.stats()["faults"]["errors"] == 1 and proxy.stats()["forwarded"] == 2


def test_proxy_endpoints_report_and_replace_settings_and_are_never_forwarded(sandbox, make_proxy):
    proxy = make_proxy()
    assert requests.get(f"{proxy.url}/_proxy/stats", timeout=5).json() == proxy.stats()
    changed = requests.post(f"{proxy.url}/_proxy/faults", json={"rate_limit_rate": 1, "retry_after_s": 3}, timeout=5)
    assert changed.status_code == 200 and changed.json()["rate_limit_rate"] == 1.0
    assert proxy.faults == ProxyFaults(rate_limit_rate=1.0, retry_after_s=3)
    assert requests.get(f"{proxy.url}{PRODUCTS}", timeout=5).status_code == 429
    for bad in ({"bogus": 1}, {"error_rate": 2}, {"hang_rate": 0.6, "cut_rate": 0.6}, [1]):
        refused = requests.post(f"{proxy.url}/_proxy/faults", json=bad, timeout=5)
        assert refused.status_code == 400 and refused.json()["error"]
    assert proxy.faults.rate_limit_rate == 1.0  # a refused body changes nothing
    assert upstream_requests(sandbox) == 0
    assert proxy.stats()["requests"] == 1


@pytest.mark.parametrize("settings", [
    {"error_rate": -0.1}, {"cut_rate": 1.5}, {"error_rate": 0.5, "drop_rate": 0.3, "hang_rate": 0.3},
    {"error_rate": 0.5, "error_statuses": ()}, {"error_statuses": (200,)}, {"cut_after_s": -1},
    {"hang_rate": True}, {"retry_after_s": 1.5},
])
def test_proxy_faults_refuse_impossible_settings(settings):
    with pytest.raises(ValueError):
        ProxyFaults(**settings)


def test_proxy_faults_round_trip_and_refuse_unknown_fields():
    faults = ProxyFaults(error_rate=0.1, error_statuses=(502,), rate_limit_rate=0.2, hang_rate=0.1, drop_rate=0.3,
                         cut_rate=0.3, seed=5, only_writes=True)
    assert ProxyFaults.from_dict(json.loads(json.dumps(faults.to_dict()))) == faults
    with pytest.raises(ValueError, match="unknown fault field"):
        ProxyFaults.from_dict({"error_rate": 0.1, "timeout_rate": 0.1})


# ---------------------------------------------------------------------------------- CLI
def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.mark.parametrize("options, message", [
    (["--error-rate", "1.5"], "error_rate must be between 0 and 1"),
    (["--hang-rate", "0.6", "--cut-rate", "0.6"], "must not exceed 1"),
    (["--error-statuses", "500,oops"], "--error-statuses"),
    (["--cut-after-s", "-1"], "cut_after_s"),
])
def test_cli_refuses_bad_fault_options_with_exit_2(options, message, capsys, monkeypatch):
    monkeypatch.setenv("WSYNC_CONSUMER_KEY", "ck_cli_key_1234")
    monkeypatch.setenv("WSYNC_CONSUMER_SECRET", "cs_cli_secret_1234")
    code, _, err = run_cli(["sandbox", "proxy", "--upstream", "http://127.0.0.1:9", *options], capsys)
    assert code == 2 and message in err


def test_cli_needs_the_store_keys_and_a_usable_upstream(capsys, monkeypatch):
    monkeypatch.delenv("WSYNC_CONSUMER_KEY", raising=False)
    monkeypatch.delenv("WSYNC_CONSUMER_SECRET", raising=False)
    code, _, err = run_cli(["sandbox", "proxy", "--upstream", "http://127.0.0.1:9"], capsys)
    assert code == 2 and "WSYNC_CONSUMER_KEY" in err
    keys = ["--consumer-key", "ck_cli_key_1234", "--consumer-secret", "cs_cli_secret_1234"]
    code, _, err = run_cli(["sandbox", "proxy", "--upstream", "http://shop.example", *keys], capsys)
    assert code == 2 and "--allow-insecure-http" in err
    code, out, _ = run_cli(["sandbox", "proxy", "--help"], capsys)
    assert code == 0 and "--cut-rate" in out and "--only-writes" in out


def test_cli_serves_with_the_options_given_until_sigterm(sandbox):
    env = {**os.environ, "WSYNC_CONSUMER_KEY": sandbox.consumer_key, "WSYNC_CONSUMER_SECRET": sandbox.consumer_secret}
    command = [sys.executable, "-m", "wsync", "sandbox", "proxy", "--upstream", sandbox.url, "--json",
               "--rate-limit-rate", "0.5", "--retry-after", "3", "--error-statuses", "502", "--error-rate", "0.25",
               "--cut-rate", "0.25", "--cut-after-s", "0.5", "--seed", "9", "--only-writes"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        info = json.loads(line)
        assert set(info) == {"url", "upstream"} and info["upstream"] == sandbox.url
        assert requests.get(f"{info['url']}/_proxy/faults", timeout=5).json() == ProxyFaults(
            rate_limit_rate=0.5, retry_after_s=3, error_rate=0.25, error_statuses=(502,), cut_rate=0.25,
            cut_after_s=0.5, seed=9, only_writes=True).to_dict()
        assert requests.get(f"{info['url']}{PRODUCTS}", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert sandbox.consumer_secret not in line + out + err and sandbox.consumer_key not in line + out + err
