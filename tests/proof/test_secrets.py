"""Secrets never leave: every command, run with --verbose as a real process against a store with a
distinctive key and secret, and the files they leave behind, are searched for the key, the secret
and the OAuth signatures that were really sent. Plus the guards around them: private files, no
plain HTTP to a remote host, TLS verified unless --insecure."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

import wsync as wsync_package
from tests.proof.conftest import IMAGE_PORT
from tests.proof.workers import clean_env, wait_for, wsync, wsync_json
from tests.store.conftest import self_signed_cert  # noqa: F401 - the fixture, shared with the store tests
from tests.sync.conftest import LIVE
from wsync.jobs import schedule_import
from wsync.ledger import Ledger
from wsync.ledger.jobs import TERMINAL, JobStore
from wsync.sandbox import ImageHost, SandboxServer
from wsync.store import StoreClient, StoreSettings
from wsync.store.check import EXIT_CODES

EXAMPLES = Path(wsync_package.__file__).parent / "examples_data"
KEY = "ck_" + "d15c0ba1" * 5
SECRET = "cs_" + "5ea1ed0f" * 5


class SignatureRecorder:
    """Wraps the sandbox's authenticator to keep every oauth_signature a client sent."""

    def __init__(self, authenticator):
        self.inner = authenticator
        self.signatures: set[str] = set()
        self.lock = threading.Lock()

    def authenticate(self, **kwargs):
        signature = (kwargs.get("query") or {}).get("oauth_signature")
        if signature:
            with self.lock:
                self.signatures.add(signature)
        return self.inner.authenticate(**kwargs)


@dataclass
class SecretStore:
    """The store the commands talk to: a sandbox with distinctive keys that records every OAuth
    signature it receives, or the live store (its own keys; no signatures to record there)."""

    url: str
    key: str
    secret: str
    signatures: set[str] | None
    created: set[int] = field(default_factory=set)

    @property
    def https(self) -> bool:
        return self.url.startswith("https:")


@pytest.fixture
def store():
    if LIVE:
        live = SecretStore(os.environ["WSYNC_TEST_STORE_URL"], os.environ["WSYNC_TEST_CONSUMER_KEY"],
                           os.environ["WSYNC_TEST_CONSUMER_SECRET"], None)
        yield live
        settings = StoreSettings(url=live.url, consumer_key=live.key, consumer_secret=live.secret)
        with StoreClient(settings) as client:  # the example feed's products, by the ids the ledger gave them
            ids = sorted(live.created)
            for start in range(0, len(ids), 100):
                client.batch("products/batch", {"delete": ids[start:start + 100]})
        return
    server = SandboxServer(consumer_key=KEY, consumer_secret=SECRET)
    recorder = SignatureRecorder(server.auth)
    server.auth = recorder
    with server:
        yield SecretStore(server.url, KEY, SECRET, recorder.signatures)


@pytest.fixture
def images():
    if LIVE and not IMAGE_PORT:
        pytest.skip("the live store must download the example feed's images from a port it allows: "
                    "set WSYNC_TEST_IMAGE_PORT (WordPress allows 80, 443, 8080)")
    with ImageHost(port=int(IMAGE_PORT) if LIVE and IMAGE_PORT else 0) as host:
        yield host


@pytest.fixture
def project(tmp_path, store, images):
    feed = (EXAMPLES / "wholesaler-feed.csv").read_text()
    (tmp_path / "wholesaler-feed.csv").write_text(feed.replace("https://cdn.northwind-wholesale.example",
                                                               images.url))
    text = (EXAMPLES / "wsync.toml").read_text().replace('url = "http://127.0.0.1:8080"', f'url = "{store.url}"')
    (tmp_path / "wsync.toml").write_text(text)  # no keys in the file: they come from the environment
    env = clean_env(WSYNC_CONSUMER_KEY=store.key, WSYNC_CONSUMER_SECRET=store.secret)
    return tmp_path, env


@pytest.mark.timeout(1200 if LIVE else 120)
def test_no_command_output_log_or_ledger_holds_a_secret(project, store):
    cwd, env = project
    key, secret = store.key, store.secret
    runs = []

    def run(*args: str, expect: int | None = 0):
        result = wsync(["--verbose", *args], cwd, env)
        runs.append((args, result))
        if expect is not None:
            assert result.returncode == expect, (args, result.stdout[-2000:], result.stderr[-2000:])
        return result

    run("init", "--path", str(cwd / "starter" / "wsync.toml"))
    run("config", "show")
    run("config", "show", "--json")
    run("check")
    run("check", "--json")
    run("plan", "wholesaler", "--json")
    run("import", "wholesaler", "--json")
    background = json.loads(run("import", "wholesaler", "--background", "--force", "--json").stdout)
    job_id = background["job_id"]
    ledger = Ledger(cwd / "wsync.db")
    jobs = JobStore(ledger)
    wait_for(lambda: jobs.get(job_id)["status"] in TERMINAL, 600 if LIVE else 60, interval=0.1,
             what="the background job ending")
    run("status", str(job_id))
    run("status", str(job_id), "--json")
    run("jobs", "--json")
    run("feed", "preview", "wholesaler")
    run("feed", "preview", "wholesaler", "--json")
    run("images", "status", "--sku", "NW-MUG-01", "--json")
    queued = schedule_import(ledger, "wholesaler", {"feed": "wholesaler", "options": {"force": True}})
    run("worker", "--once", "--json")
    assert jobs.get(queued)["status"] == "completed", jobs.get(queued)
    run("recover", "--json")
    # failure paths print errors: a wrong secret, a key the store does not know
    run("check", "--json", expect=None)
    runs.append((("check", "wrong secret"), wsync(["--verbose", "check"], cwd,
                                                  {**env, "WSYNC_CONSUMER_SECRET": secret[:-4] + "0000"})))
    runs.append((("import", "unknown key"), wsync(["--verbose", "import", "wholesaler", "--force", "--json"], cwd,
                                                  {**env, "WSYNC_CONSUMER_KEY": key[:-4] + "0000"})))
    assert runs[-2][1].returncode == 16 and runs[-1][1].returncode != 0
    store.created.update(int(r[0]) for r in ledger.conn.execute(
        "SELECT store_id FROM items WHERE kind = 'product' AND store_id IS NOT NULL"))
    ledger.close()

    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
    needles = {"consumer key": key, "consumer secret": secret, "secret (URL-encoded)": quote(secret, safe=""),
               "Basic credentials": basic}
    if store.signatures is not None:
        assert len(store.signatures) > 50, "the commands sent fewer signed requests than expected"
    if not store.https:
        assert any("oauth_signature=REDACTED" in r.stderr for _, r in runs), "--verbose logged no request line"
    for signature in store.signatures or ():
        needles[f"signature {signature}"] = signature
        needles[f"signature {signature} (URL-encoded)"] = quote(signature, safe="")
    for args, result in runs:
        for what, needle in needles.items():
            assert needle not in result.stdout, (args, what, "stdout")
            assert needle not in result.stderr, (args, what, "stderr")
    files = [p for p in cwd.rglob("*") if p.is_file() and p.suffix != ".csv"]
    assert any(p.name == "wsync-worker.log" for p in files) and any(p.name == "wsync.db" for p in files)
    for path in files:
        data = path.read_bytes()
        for what, needle in needles.items():
            assert needle.encode() not in data, (str(path), what)

    # The ledger (and its WAL) and the worker log are private to the user.
    for name in ("wsync.db", "wsync.db-wal", "wsync-worker.log", "starter/wsync.toml"):
        path = cwd / name
        if path.exists():
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, name


def test_plain_http_to_a_remote_host_needs_the_explicit_setting(tmp_path):
    (tmp_path / "wsync.toml").write_text('[store]\nurl = "http://shop.example.invalid"\n')
    env = clean_env(WSYNC_CONSUMER_KEY=KEY, WSYNC_CONSUMER_SECRET=SECRET)
    code, doc = wsync_json(["check"], tmp_path, env)
    assert code == EXIT_CODES["plain_http_refused"][0], doc
    assert doc["requests"] in ({}, {"read": 0, "write": 0}) or not any(doc["requests"].values())
    (tmp_path / "feed.csv").write_text("sku,name,price\nA1,Mug,4.10\n")
    refused = wsync(["import", "feed.csv"], tmp_path, env)
    assert refused.returncode != 0 and "plain HTTP" in refused.stderr, refused.stderr
    # Allowed explicitly, the request is attempted (and fails on the name, which does not resolve).
    (tmp_path / "wsync.toml").write_text('[store]\nurl = "http://shop.example.invalid"\nallow_insecure_http = true\n')
    code, doc = wsync_json(["check"], tmp_path, env)
    assert code == EXIT_CODES["dns"][0], doc


def test_tls_is_verified_unless_insecure(self_signed_cert, tmp_path):  # noqa: F811
    cert, key = self_signed_cert
    with SandboxServer(tls_cert=str(cert), tls_key=str(key), consumer_key=KEY, consumer_secret=SECRET) as tls_store:
        (tmp_path / "wsync.toml").write_text(f'[store]\nurl = "{tls_store.url}"\n')
        env = clean_env(WSYNC_CONSUMER_KEY=KEY, WSYNC_CONSUMER_SECRET=SECRET)
        code, doc = wsync_json(["check"], tmp_path, env)
        assert code == EXIT_CODES["tls"][0], doc
        assert tls_store.stats()["requests"]["total"] == 0  # no request got through the handshake
        result = wsync(["--insecure", "check", "--json"], tmp_path, env)
        assert result.returncode == 0, (result.stdout, result.stderr)
        assert KEY not in result.stdout + result.stderr and SECRET not in result.stdout + result.stderr
