from __future__ import annotations

import os

import pytest

from wsync.store import StoreClient, StoreSettings

from .scripted_server import ScriptedServer

TEST_KEY = "ck_" + "5f1e" * 10
TEST_SECRET = "cs_" + "9a7b" * 10


@pytest.fixture
def scripted():
    server = ScriptedServer().start()
    yield server
    server.stop()


@pytest.fixture
def fast_settings(scripted):
    """Settings against the scripted server with retry waits shrunk to milliseconds."""
    return StoreSettings(url=scripted.url, consumer_key=TEST_KEY, consumer_secret=TEST_SECRET,
                         backoff_base_s=0.001, max_retry_wait_s=2.0, read_timeout=2.0, connect_timeout=2.0,
                         permalinks="pretty")


@pytest.fixture
def scripted_client(fast_settings):
    client = StoreClient(fast_settings)
    yield client
    client.close()


@pytest.fixture
def store_settings(request):
    """The live store when WSYNC_TEST_STORE_URL and keys are set, else the sandbox."""
    url = os.environ.get("WSYNC_TEST_STORE_URL")
    if url:
        yield StoreSettings(url=url, consumer_key=os.environ["WSYNC_TEST_CONSUMER_KEY"],
                            consumer_secret=os.environ["WSYNC_TEST_CONSUMER_SECRET"],
                            allow_insecure_http=True, backoff_base_s=0.05, max_retry_wait_s=5.0)
        return
    sandbox = request.getfixturevalue("sandbox")
    yield StoreSettings(url=sandbox.url, consumer_key=sandbox.consumer_key, consumer_secret=sandbox.consumer_secret,
                        backoff_base_s=0.01, max_retry_wait_s=5.0)


@pytest.fixture
def free_port():
    """A local port with nothing listening."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def self_signed_cert(tmp_path_factory):
    """(cert, key) paths of a self-signed certificate for 127.0.0.1, made with the openssl CLI."""
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not available")
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key
