"""Fixtures shared by every test directory: an in-process sandbox store and an image CDN.

Areas add their own fixtures in `tests/<area>/conftest.py`.
"""

from __future__ import annotations

import pytest
from woocommerce import API

from wsync.sandbox import ImageHost, SandboxServer


@pytest.fixture
def sandbox():
    """A fresh WooCommerce-compatible store on a free loopback port, stopped after the test."""
    server = SandboxServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def image_host():
    """A wholesaler image CDN: /img/* PNGs, /dead/* 404, /notimage/* HTML; counts requests."""
    host = ImageHost().start()
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture
def woo_api(sandbox):
    """The official `woocommerce` client, OAuth 1.0a over plain HTTP, bound to the sandbox."""
    return API(url=sandbox.url, consumer_key=sandbox.consumer_key, consumer_secret=sandbox.consumer_secret,
               version="wc/v3", timeout=30)
