"""Fixtures shared by every test directory: an in-process sandbox store and an image CDN.

Areas add their own fixtures in `tests/<area>/conftest.py`.
"""

from __future__ import annotations

import dataclasses

import pytest
from woocommerce import API

from wsync.sandbox import ImageHost, SandboxServer


@pytest.fixture(autouse=True)
def _cli_options_reset():
    """The CLI's global options (--config, -v, --insecure) live in a module, as one process runs
    one command; a test that runs commands in-process must not hand its --config to a later
    test's load_settings (tests/store/test_config.py failed when run after tests/sync)."""
    from wsync.cli import common

    saved = dataclasses.replace(common.STATE)
    yield
    for f in dataclasses.fields(saved):
        setattr(common.STATE, f.name, getattr(saved, f.name))


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
