"""`wsync demo`: its numbers add up to the example feed, in --json and in the printed table."""

from __future__ import annotations

import json

import pytest

from tests.sync.test_cli_sync import _table_rows
from wsync.cli import main

OUTCOMES = ("created", "updated", "unchanged", "skipped", "failed")


def _demo(args: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", *args])
    return exit_info.value.code, capsys.readouterr().out


def _feed_counts(workdir) -> tuple[int, int]:
    """Products and variations in the feed the demo imported, read with its own mapping."""
    from wsync.demo import example_files
    from wsync.feeds import FeedSpec, load_catalogue

    _, config = example_files()
    table = dict(config["feeds"]["wholesaler"], source=str(workdir / "wholesaler-feed.csv"))
    products = load_catalogue(FeedSpec.from_config("wholesaler", table, workdir)).products
    return len(products), sum(len(p.variations) for p in products)


def test_demo_counts_products_and_variations_apart_and_they_add_up(tmp_path, capsys):
    workdir = tmp_path / "demo"
    code, out = _demo(["--dir", str(workdir), "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["success"], report["errors"]
    products, variations = _feed_counts(workdir)
    assert (products, variations) == (32, 53)  # as the README says

    result = report["import"]
    assert sum(result[k] for k in OUTCOMES) == result["total_processed"] == products
    assert sum(result["variations"][k] for k in OUTCOMES) == result["variations"]["processed"] == variations
    # A first run creates everything: products in `created`, variations in their own count.
    assert result["created"] == products == report["store"]["products"]
    assert result["variations"]["created"] == variations == report["store"]["variations"]
    assert result["failed"] == result["variations"]["failed"] == result["feed_errors"] == 0

    # Run again, printed: one table, each row summing to its total; everything unchanged.
    code, out = _demo(["--dir", str(workdir)], capsys)
    assert code == 0, out
    rows = _table_rows(out)
    # created, updated, unchanged, skipped, failed | total | removed (or deleted)
    assert rows["products"] == [0, 0, products, 0, 0, products, 0], out
    assert rows["variations"] == [0, 0, variations, 0, 0, variations, 0], out
    assert f"store now holds {products} products, {variations} variations" in out


def test_demo_first_run_table_has_products_variations_and_images_rows(tmp_path, capsys):
    workdir = tmp_path / "demo"
    code, out = _demo(["--dir", str(workdir)], capsys)
    assert code == 0, out
    products, variations = _feed_counts(workdir)
    rows = _table_rows(out)
    assert rows["products"] == [products, 0, 0, 0, 0, products, 0], out
    assert rows["variations"] == [variations, 0, 0, 0, 0, variations, 0], out
    # images: downloaded by the store, reused by id, failed URLs | attached
    downloaded, reused, failed, attached = rows["images"]
    assert downloaded == 84 and failed == 0 and downloaded + reused == attached, out
    assert out.startswith(f"Batch import completed. Created: {products}, Updated: 0"), out
