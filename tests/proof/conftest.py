"""The store the proofs run against: the in-process sandbox, or a live WooCommerce store when
WSYNC_TEST_STORE_URL, WSYNC_TEST_CONSUMER_KEY and WSYNC_TEST_CONSUMER_SECRET are set.

Either way faults come from a fault-injecting proxy in front of the store (wsync.sandbox.
FaultProxy), never from the sandbox's own knobs, so the same proof holds on both. Images come
from a local image host that counts every download; a live store must be able to fetch from it,
which WordPress allows only on ports 80, 443 and 8080 unless the site says otherwise: set
WSYNC_TEST_IMAGE_PORT to such a port (free on this machine) for the image proofs to run live.
On a live store every SKU and image name of a proof carries a unique prefix, and the products
it made are deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sync.conftest import LIVE
from wsync.sandbox import FaultProxy, ImageHost, ProxyFaults, SandboxServer
from wsync.store import StoreClient, StoreSettings

IMAGE_PORT = os.environ.get("WSYNC_TEST_IMAGE_PORT")


@dataclass(frozen=True)
class ProofShape:
    """The catalogue a proof imports."""

    simple: int
    variable: int
    per_parent: int
    distinct_images: int

    @property
    def products(self) -> int:
        return self.simple + self.variable

    @property
    def variations(self) -> int:
        return self.variable * self.per_parent


# The sandbox is fast: a larger catalogue. A live store gets the shape of the bench catalogue
# (1,000 products, 300 of them variable x 5: 1,500 variations, 700 distinct images).
SHAPE = ProofShape(700, 300, 5, 700) if LIVE else ProofShape(1500, 500, 4, 1000)
# The kill proof saves products at a loaded store's pace on the sandbox (see its test): half the
# catalogue keeps it within a few minutes there.
KILL_SHAPE = SHAPE if LIVE else ProofShape(750, 250, 4, 500)


@dataclass
class ProofStore:
    url: str
    consumer_key: str
    consumer_secret: str
    sandbox: SandboxServer | None
    prefix: str

    @property
    def live(self) -> bool:
        return self.sandbox is None

    def settings(self, url: str | None = None, **changes: object) -> StoreSettings:
        base = StoreSettings(url=url or self.url, consumer_key=self.consumer_key,
                             consumer_secret=self.consumer_secret, backoff_base_s=0.05)
        return base.with_changes(**changes) if changes else base

    def reader(self) -> StoreClient:
        return StoreClient(self.settings(read_timeout=120.0))

    def proxy(self, faults: ProxyFaults) -> FaultProxy:
        return FaultProxy(self.url, self.consumer_key, self.consumer_secret, faults,
                          verify=os.environ.get("REQUESTS_CA_BUNDLE") or True).start()

    def cleanup(self) -> None:
        """Delete the proof's products from a live store (variations go with their parent)."""
        if not self.live:
            return
        with self.reader() as client:
            ids = sorted({int(p["id"]) for p in client.iter_pages("products", fields=["id", "sku"])
                          if str(p.get("sku") or "").startswith(self.prefix)})
            for start in range(0, len(ids), 100):
                client.batch("products/batch", {"delete": ids[start:start + 100]})


@pytest.fixture
def proof_store(request: pytest.FixtureRequest) -> Iterator[ProofStore]:
    if LIVE:
        store = ProofStore(os.environ["WSYNC_TEST_STORE_URL"], os.environ["WSYNC_TEST_CONSUMER_KEY"],
                           os.environ["WSYNC_TEST_CONSUMER_SECRET"], None, f"wp{uuid.uuid4().hex[:8]}-")
    else:
        sandbox = request.getfixturevalue("sandbox")
        store = ProofStore(sandbox.url, sandbox.consumer_key, sandbox.consumer_secret, sandbox, "")
    try:
        yield store
    finally:
        store.cleanup()


@pytest.fixture
def proof_images() -> Iterator[ImageHost]:
    """The image host the store downloads from; on a live store, on WSYNC_TEST_IMAGE_PORT."""
    if LIVE and not IMAGE_PORT:
        pytest.skip("a live store downloads images only from ports it allows (WordPress: 80, 443, 8080): "
                    "set WSYNC_TEST_IMAGE_PORT to one that is free here")
    host = ImageHost(port=int(IMAGE_PORT) if LIVE and IMAGE_PORT else 0).start()
    try:
        yield host
    finally:
        host.stop()


def write_store_config(directory: Path, store: StoreSettings, *, max_request_s: float, extra: str = "") -> Path:
    """A wsync.toml (0600) naming the store, its keys and a ledger beside it."""
    path = directory / "wsync.toml"
    path.write_text(
        f'ledger = "wsync.db"\n\n[store]\nurl = "{store.url}"\nconsumer_key = "{store.consumer_key}"\n'
        f'consumer_secret = "{store.consumer_secret}"\nread_timeout = {store.read_timeout}\n'
        f"backoff_base_s = {store.backoff_base_s}\nmax_request_s = {max_request_s}\n{extra}")
    os.chmod(path, 0o600)
    return path
