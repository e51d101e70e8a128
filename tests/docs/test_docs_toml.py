"""Every TOML block in the docs is valid TOML, and one that configures wsync is loaded by
wsync's own config loader: a documented feed is a loadable feed (FeedSpec.from_config), a
documented store a loadable store. The example config, and the demo's copy of it, too."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tools.doc_blocks import ROOT, all_blocks
from wsync import redact
from wsync.cli.store_cmd import STARTER
from wsync.config import ENV_STORE, TOP_KEYS, load_settings
from wsync.feeds import FeedSpec, load_catalogue
from wsync.feeds.sources import is_url

EXAMPLE_CONFIGS = [ROOT / "examples" / "wsync.toml", ROOT / "wsync" / "examples_data" / "wsync.toml"]


def _toml_examples() -> list[tuple[str, str]]:
    found = [(b.where, b.text) for b in all_blocks() if b.lang == "toml"]
    found += [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in EXAMPLE_CONFIGS]
    found.append(("wsync init's starter file", STARTER))
    return found


TOML = _toml_examples()


@pytest.fixture
def clean_env(monkeypatch):
    """The loader reads the environment too: none of the caller's store settings may stand in
    for what the example says."""
    for name in (*ENV_STORE.values(), "WSYNC_LEDGER", "WSYNC_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    # The loader registers the examples' placeholder keys ("ck_...") as secrets; they are not
    # to be masked in the rest of the suite's output.
    monkeypatch.setattr(redact, "_secrets", set(redact._secrets))


def load_example(text: str, directory: Path, source_dir: Path | None = None):
    """Load a wsync.toml example the way `wsync` does: the settings, then every feed's spec.
    Relative feed sources resolve against source_dir (where the example's files are)."""
    config = directory / "wsync.toml"
    config.write_text(text, encoding="utf-8")
    config.chmod(0o600)
    settings = load_settings(config, require_store=False)
    specs = {name: FeedSpec.from_config(name, table, source_dir or settings.base_dir)
             for name, table in settings.feeds.items()}
    return settings, specs


def test_the_docs_have_toml_examples():
    assert any(where.startswith("docs/feeds.md") for where, _ in TOML)
    assert any(where.startswith("docs/store.md") for where, _ in TOML)


@pytest.mark.parametrize("where, text", TOML, ids=[w for w, _ in TOML])
def test_every_toml_example_parses(where, text):
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"{where}: not valid TOML: {exc}")


@pytest.mark.parametrize("where, text", TOML, ids=[w for w, _ in TOML])
def test_every_wsync_config_example_loads(where, text, tmp_path, clean_env):
    doc = tomllib.loads(text)
    if not set(doc) & set(TOP_KEYS):
        pytest.skip(f"{where} does not configure wsync")
    source_dir = (ROOT / where).parent if where.endswith(".toml") else None
    settings, specs = load_example(text, tmp_path, source_dir)
    assert set(specs) == set(doc.get("feeds", {}))
    if "store" in doc:
        assert settings.store is not None and settings.store.url == doc["store"]["url"], where
    for name, spec in specs.items():
        table = doc["feeds"][name]
        assert spec.source == table["source"] or not is_url(table["source"]), (where, name)
        if not is_url(spec.source) and Path(spec.source).exists():
            # A feed whose file is here is read too: it maps, with no record errors.
            result = load_catalogue(spec)
            assert result.products and not result.errors, (where, name, result.errors[:3])


def test_the_feed_docs_mapping_example_keeps_its_meaning(tmp_path, clean_env):
    """The feeds doc's example, loaded: each mapping key on its own line, the pricing rule
    as its comment says (13.00 cost -> 23.40 -> 23.99)."""
    text = next(t for w, t in TOML if w.startswith("docs/feeds.md"))
    _, specs = load_example(text, tmp_path)
    spec = specs["acme"]
    assert spec.source == "https://acme.example/export.csv.gz" and spec.decimal == ","
    assert spec.headers_env == {"X-Api-Key": "ACME_KEY"}
    assert spec.mapper.columns["sku"] == "Art-Nr" and spec.mapper.columns["group"] == "Modell"
    assert spec.mapper.attributes == {"Color": "Farbe", "Size": "Größe"}
    assert spec.mapper.variation_attributes == ["Color", "Size"]
    feed = tmp_path / "acme.csv"
    feed.write_text("Art-Nr;Modell;Bezeichnung;EK;Bestand;Kategorie;Bilder;Farbe;Größe\n"
                    "A-1;;Becher;13,00;5;Küche;;;\n", encoding="utf-8")
    table = dict(tomllib.loads(text)["feeds"]["acme"], source=str(feed))
    table.pop("headers_env")
    product, = load_catalogue(FeedSpec.from_config("acme", table, tmp_path)).products
    assert product.regular_price == "23.99"


def test_several_keys_on_one_line_are_refused():
    """What the feeds doc once showed: TOML has no `;` between keys, so such an example never
    reaches wsync."""
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads('[feeds.acme.mapping]\nsku = "Art-Nr"; name = "Bezeichnung"\n')


def test_the_demo_imports_the_example_files_the_docs_point_to():
    """`wsync demo` reads the packaged copy (wsync/examples_data); the README points to examples/."""
    for name in ("wsync.toml", "wholesaler-feed.csv"):
        assert (ROOT / "wsync" / "examples_data" / name).read_bytes() == (ROOT / "examples" / name).read_bytes(), name
