"""wsync.toml + environment -> Settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wsync.config import load_settings
from wsync.errors import ConfigError

KEY = "ck_" + "c0ffee12" * 5
SECRET = "cs_" + "deadbeef" * 5


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for name in ("WSYNC_STORE_URL", "WSYNC_CONSUMER_KEY", "WSYNC_CONSUMER_SECRET", "WSYNC_LEDGER", "WSYNC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    os.chmod(path, mode)
    return path


BASE = f'[store]\nurl = "https://shop.test"\nconsumer_key = "{KEY}"\nconsumer_secret = "{SECRET}"\n'


def test_full_file_is_read_and_typed(tmp_path):
    (tmp_path / "conf").mkdir()
    cfg = write(tmp_path / "conf" / "w.toml", 'ledger = "data/ledger.db"\n' + BASE + """
auth = "query"
read_timeout = 30
concurrency = 4
[import]
products_per_batch = 100
missing = "draft"
max_errors = 10
[feeds.acme]
source = "feed.csv"
[feeds.acme.mapping]
sku = "Art"
""")
    s = load_settings(cfg)
    assert s.path == cfg and s.base_dir == cfg.parent.resolve()
    assert s.store.url == "https://shop.test" and s.store.auth == "query" and s.store.read_timeout == 30.0
    assert s.store.concurrency == 4 and s.store.connect_timeout == 10.0
    assert s.ledger_path == cfg.parent.resolve() / "data" / "ledger.db"
    assert s.import_defaults.products_per_batch == 100 and s.import_defaults.missing == "draft"
    assert s.import_defaults.variations_per_batch == 25 and s.import_defaults.max_errors == 10
    assert s.feeds == {"acme": {"source": "feed.csv", "mapping": {"sku": "Art"}}}
    assert s.origins["store.auth"] == "file" and s.origins["store.max_attempts"] == "default"


def test_default_file_in_working_directory_and_default_ledger(tmp_path):
    write(tmp_path / "wsync.toml", BASE)
    s = load_settings()
    assert s.path == tmp_path / "wsync.toml"
    assert s.ledger_path == tmp_path / "wsync.db"


def test_environment_overrides_file(tmp_path, monkeypatch):
    write(tmp_path / "wsync.toml", BASE)
    monkeypatch.setenv("WSYNC_STORE_URL", "https://other.test")
    monkeypatch.setenv("WSYNC_CONSUMER_SECRET", "cs_from_env_0123456789")
    monkeypatch.setenv("WSYNC_LEDGER", str(tmp_path / "elsewhere.db"))
    s = load_settings()
    assert s.store.url == "https://other.test" and s.store.consumer_secret == "cs_from_env_0123456789"
    assert s.store.consumer_key == KEY
    assert s.ledger_path == tmp_path / "elsewhere.db"
    assert s.origins["store.url"] == "env" and s.origins["store.consumer_key"] == "file"


def test_environment_alone_is_enough(monkeypatch, tmp_path):
    monkeypatch.setenv("WSYNC_STORE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("WSYNC_CONSUMER_KEY", KEY)
    monkeypatch.setenv("WSYNC_CONSUMER_SECRET", SECRET)
    s = load_settings()
    assert s.path is None and s.store.url == "http://127.0.0.1:9" and s.ledger_path == tmp_path / "wsync.db"


def test_wsync_config_env_names_the_file(monkeypatch, tmp_path):
    cfg = write(tmp_path / "elsewhere.toml", BASE)
    monkeypatch.setenv("WSYNC_CONFIG", str(cfg))
    assert load_settings().path == cfg


def test_missing_store_url(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "no store URL" in str(info.value) and "WSYNC_STORE_URL" in str(info.value)
    assert load_settings(require_store=False).store is None


def test_unknown_key_suggests_the_closest(tmp_path):
    cfg = write(tmp_path / "wsync.toml", BASE + "read_timout = 5\n")
    with pytest.raises(ConfigError) as info:
        load_settings()
    text = str(info.value)
    assert str(cfg) in text and "store.read_timout" in text and "did you mean store.read_timeout" in text
    write(cfg, BASE + "[imports]\n")
    with pytest.raises(ConfigError, match="did you mean import"):
        load_settings()


@pytest.mark.parametrize("line,key,words", [
    ('read_timeout = "soon"', "store.read_timeout", "must be a number"),
    ("verify_tls = 1", "store.verify_tls", "true or false"),
    ('auth = "digest"', "store.auth", '"basic"'),
    ("concurrency = 0", "store.concurrency", "whole number from 1"),
])
def test_wrong_types_and_values(tmp_path, line, key, words):
    write(tmp_path / "wsync.toml", BASE + line + "\n")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert key in str(info.value) and words in str(info.value)


@pytest.mark.parametrize("table,words", [
    ("products_per_batch = 101", "to 100"),
    ("variations_per_batch = 0", "from 1"),
    ('missing = "delete"', '"trash"'),
    ('stale_variations = "purge"', '"keep"'),
    ('process_images = "yes"', "true or false"),
])
def test_import_defaults_are_validated(tmp_path, table, words):
    write(tmp_path / "wsync.toml", BASE + "[import]\n" + table + "\n")
    with pytest.raises(ConfigError, match=words):
        load_settings()


def test_bad_toml_names_the_line(tmp_path):
    cfg = write(tmp_path / "wsync.toml", BASE + "url = oops\n")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(cfg) in str(info.value) and "line 5" in str(info.value)


def test_explicit_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_readable_secrets_warn(tmp_path, capsys):
    write(tmp_path / "wsync.toml", BASE, mode=0o644)
    load_settings()
    err = capsys.readouterr().err
    assert "readable by other users" in err and "chmod 600" in err
    assert SECRET not in err


def test_private_file_does_not_warn(tmp_path, capsys):
    write(tmp_path / "wsync.toml", BASE, mode=0o600)
    load_settings()
    assert capsys.readouterr().err == ""


def test_feed_credentials_are_registered_as_secrets(tmp_path):
    from wsync.redact import redact

    write(tmp_path / "wsync.toml", BASE + '[feeds.a]\nsource = "x"\n[feeds.a.auth]\npassword = "hunter2-feed-pass"\n')
    load_settings()
    assert "hunter2-feed-pass" not in redact("login with hunter2-feed-pass failed")


def test_feed_must_be_a_table(tmp_path):
    write(tmp_path / "wsync.toml", BASE + '[feeds]\nacme = "x.csv"\n')
    with pytest.raises(ConfigError, match=r"feeds\.acme"):
        load_settings()


def test_top_level_key_inside_a_table_says_where_it_belongs(tmp_path):
    write(tmp_path / "wsync.toml", BASE + 'ledger = "x.db"\n')
    with pytest.raises(ConfigError, match="top-level key"):
        load_settings()
