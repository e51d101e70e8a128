"""The on-disk assembly (wsync.mapping.spill) gives what the in-memory Assembler gives.

Every fixture feed, and generated feeds with variations in random order, duplicates, orphans,
filtered parents and groups whose parent SKUs meet, are loaded both ways and compared: the same
products in the same order (every field), the same errors and warnings, the same counts. The
on-disk load is also made a second time with its first pass shared with a helper process
(wsync.feeds.second_core, forced on for these small files, blocks of two records): that one must
equal the one-process load exactly, the errors' order included.
"""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path

import pytest

from wsync.errors import FeedRefused
from wsync.feeds import FeedSpec, load_catalogue, rows_pass, second_core
from wsync.mapping.spill import SpilledProducts

DATA = Path(__file__).resolve().parents[1] / "data"

FIXTURES = [
    ("woocommerce-sample-products.csv", "woocommerce-csv"),
    ("woocommerce/exporter-fr_FR.csv", "woocommerce-csv"),
    ("woocommerce/exporter-de_DE.csv", "woocommerce-csv"),
    ("shopify-products.json", "shopify-json"),
    ("supplier-catalog.xml", None),
    ("supplier-items.jsonl", None),
    ("google-merchant.tsv", "google-merchant"),
    ("google-merchant-rss.xml", "google-merchant"),
    ("google-merchant-atom.xml", "google-merchant"),
    *[(f"bad/{p.name}", None) for p in sorted((DATA / "bad").glob("*.csv"))],
    *[(f"bad/{p.name}", "woocommerce-csv") for p in sorted((DATA / "bad").glob("wc-*.csv"))],
]


# What each helper process's collect gave in this test (None: it failed, its share mapped here).
COLLECTED: list[object] = []
BUILT: list[object] = []  # and what each one's pass 2 gave


def record_returns(monkeypatch, cls: type, name: str, into: list[object]) -> None:
    """Patch cls.name to append what each call returns to `into` (and still return it)."""
    real = getattr(cls, name)

    def recorded(self, *args, **kwargs):
        value = real(self, *args, **kwargs)
        into.append(value)
        return value

    monkeypatch.setattr(cls, name, recorded)


@pytest.fixture(autouse=True)
def _helper_on_small_files(monkeypatch):
    """A helper for any file, in blocks of two records; one process unless a load asks for two."""
    monkeypatch.setattr(second_core, "MIN_BYTES", 0)
    monkeypatch.setattr(rows_pass, "BLOCK", 2)
    monkeypatch.setenv(second_core.ENV, "1")
    record_returns(monkeypatch, second_core.Helper, "collect", COLLECTED)
    record_returns(monkeypatch, second_core.Helper, "built", BUILT)
    COLLECTED.clear()
    BUILT.clear()


def load_spilled(spec: FeedSpec, tmp_path: Path, processes: int):
    spill = tmp_path / f"spill-{processes}"
    spill.mkdir(exist_ok=True)
    os.environ[second_core.ENV] = str(processes)  # restored by the fixture's monkeypatch
    try:
        return load_catalogue(spec, spill_dir=spill)
    finally:
        os.environ[second_core.ENV] = "1"


def both(spec: FeedSpec, tmp_path: Path) -> tuple[object, object]:
    memory = load_catalogue(spec)
    disk = load_spilled(spec, tmp_path, 1)
    assert not COLLECTED
    shared = load_spilled(spec, tmp_path, 2)
    assert COLLECTED and all(share is not None for share in COLLECTED), "the helper mapped its share"
    assert BUILT and all(done is not None for done in BUILT), "and built its share of the products"
    assert_shared_alike(disk, shared)
    return memory, disk


def assert_shared_alike(disk, shared) -> None:
    assert list(shared.products) == list(disk.products)
    assert list(map(str, shared.errors)) == list(map(str, disk.errors))
    assert shared.warnings == disk.warnings
    assert shared.counts == disk.counts


def assert_same(memory, disk) -> None:
    assert isinstance(disk.products, SpilledProducts)
    assert list(disk.products) == memory.products
    assert len(disk.products) == len(memory.products)
    assert sorted(map(str, disk.errors)) == sorted(map(str, memory.errors))
    assert disk.warnings == memory.warnings
    assert disk.counts == memory.counts


@pytest.mark.parametrize(("name", "preset"), FIXTURES, ids=[f"{n}:{p}" for n, p in FIXTURES])
def test_fixture_feeds_assemble_alike(name: str, preset: str | None, tmp_path: Path):
    spec = FeedSpec.adhoc(str(DATA / name), preset=preset)
    try:
        memory = load_catalogue(spec)
    except FeedRefused as refused:
        spill = tmp_path / "spill"
        spill.mkdir()
        with pytest.raises(FeedRefused) as again:
            load_catalogue(spec, spill_dir=spill)
        assert again.value.message.split(" (first:")[0] == refused.message.split(" (first:")[0]
        with pytest.raises(FeedRefused) as shared:
            load_spilled(spec, tmp_path, 2)
        assert shared.value.message == again.value.message
        return
    memory, disk = both(spec, tmp_path)
    assert_same(memory, disk)


def write_feed(path: Path, parents: int, seed: int) -> None:
    """A supplier file: parents grouped by model, variations shuffled across the file, plus a
    duplicate SKU, an orphan-free filter victim, and two models whose slugs meet."""
    rng = random.Random(seed)
    rows = []
    for p in range(parents):
        model = f"Model {p}" if p % 7 else f"model-{p - 1}"  # "Model 6" and "model-6" slug alike
        for c, colour in enumerate(("Red", "Blue", "Green")[: 1 + p % 3]):
            rows.append([f"M{p}-{c}", model, f"Shirt {p} {colour}", f"{p % 40 + 5},{c}0", str(p % 9), colour,
                         "Hidden" if p % 11 == 0 else "Shirts", f"https://img.example/{p}/{c}.jpg"])
    rows.append(["M1-0", "Model 1", "Shirt again", "9,00", "1", "Red", "Shirts", ""])  # duplicate SKU
    rows.append(["M2-9", "Model 2", "", "9,00", "1", "Red", "Shirts", ""])  # no name: an error of its own
    rng.shuffle(rows)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["item", "model", "title", "cost", "stock", "colour", "category", "image"])
        w.writerows(rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shuffled_grouped_feed_assembles_alike(seed: int, tmp_path: Path):
    feed = tmp_path / "supplier.csv"
    write_feed(feed, 300, seed)
    spec = FeedSpec.from_config("big", {
        "source": str(feed), "locale": "de",
        "mapping": {"sku": "item", "group": "model", "name": "title", "cost": "cost", "stock_quantity": "stock",
                    "categories": "category", "images": "image", "attributes": {"Color": "colour"},
                    "variation_attributes": ["Color"]},
        "pricing": {"multiply": "1.8"},
        "filters": {"exclude": [{"field": "categories", "equals": "Hidden"}]},
    }, tmp_path)
    memory, disk = both(spec, tmp_path)
    assert memory.errors, "the feed's duplicate SKU is reported"
    assert_same(memory, disk)


def test_parents_after_their_variations_and_aliases(tmp_path: Path):
    """WooCommerce CSV names a parent by id:N as well as by SKU; a variation may come first."""
    feed = tmp_path / "wc.csv"
    head = "ID,Type,SKU,Name,Parent,Regular price,Attribute 1 name,Attribute 1 value(s),Attribute 1 global\n"
    body = [
        "11,variation,V-2,,id:10,12,Size,L,1",
        "12,variation,V-3,,P-1,12,Size,M,1",
        "10,variable,P-1,Tee,,,Size,\"M, L, S\",1",
        "13,variation,V-4,,id:99,12,Size,S,1",  # orphan
        "14,variation,V-2,,P-1,12,Size,S,1",  # duplicate SKU of a variation
        "15,simple,S-1,Mug,,5,,,",
        "16,variation,V-5,,id:10,12,Size,S,1",
    ]
    lines = [body[i] for i in random.Random(4).sample(range(len(body)), len(body))]
    feed.write_text(head + "\n".join(lines) + "\n", encoding="utf-8")
    memory, disk = both(FeedSpec.adhoc(str(feed), preset="woocommerce-csv"), tmp_path)
    assert any("orphan" in str(e) for e in memory.errors)
    assert_same(memory, disk)


def test_aliases_of_a_refused_parent_and_variations_without_one(tmp_path: Path):
    """A parent refused as a duplicate takes its alias with it: the variations naming that alias
    are orphans, while those naming the kept parent's alias or key join it."""
    feed = tmp_path / "wc.csv"
    head = "ID,Type,SKU,Name,Parent,Regular price,Attribute 1 name,Attribute 1 value(s),Attribute 1 global\n"
    body = [
        "21,variation,V-1,,id:20,12,Size,L,1",  # names the refused parent's alias
        "10,variable,P-1,Tee,,,Size,\"M, L, S\",1",
        "11,variation,V-2,,id:10,12,Size,M,1",
        "20,variable,P-1,Tee again,,,Size,\"M, L\",1",  # a duplicate SKU: refused, with its alias
        "22,variation,V-3,,P-1,12,Size,S,1",
        "24,variation,V-5,,id:20,12,Size,M,1",
        "30,simple,S-1,Mug,,5,,,",
        "31,simple,S-2,Cup,,5,,,",
    ]
    feed.write_text(head + "\n".join(body) + "\n", encoding="utf-8")
    memory, disk = both(FeedSpec.adhoc(str(feed), preset="woocommerce-csv"), tmp_path)
    orphans = [e for e in memory.errors if "orphan" in str(e)]
    assert len(orphans) == 2, memory.errors
    assert [v.sku for v in memory.products[0].variations] == ["V-2", "V-3"]
    assert_same(memory, disk)


def test_the_generated_feed_tests_what_it_claims(tmp_path: Path):
    feed = tmp_path / "supplier.csv"
    write_feed(feed, 300, 1)
    spec = FeedSpec.from_config("big", {
        "source": str(feed), "locale": "de",
        "mapping": {"sku": "item", "group": "model", "name": "title", "categories": "category",
                    "attributes": {"Color": "colour"}, "variation_attributes": ["Color"], "cost": "cost"},
        "pricing": {"multiply": "1.8"},
        "filters": {"exclude": [{"field": "categories", "equals": "Hidden"}]},
    }, tmp_path)
    result = load_catalogue(spec)
    skus = [p.sku for p in result.products]
    assert len(result.products) < 300, "the filter drops the hidden models"
    assert len(set(skus)) == len(skus) and any(s and s[-7:-6] == "-" for s in skus), "slugs that meet kept apart"
    assert any("duplicate key" in str(e) for e in result.errors)


def test_group_marks_against_rows_of_the_same_key(tmp_path: Path):
    """A group's value that is also a row's key: the earlier of the two keeps it (a product row
    first takes the group's members in; a group first refuses the later row as a duplicate),
    and a group whose only member is a refused duplicate makes no parent."""
    feed = tmp_path / "supplier.csv"
    rows = [
        ["Model 3", "", "Mug 3", "4,00", "1", "", "Mugs"],  # a product keyed like the group after it
        ["M3-0", "Model 3", "Shirt 3 Red", "5,00", "2", "Red", "Shirts"],
        ["M4-0", "Model 4", "Shirt 4 Red", "5,00", "2", "Red", "Shirts"],
        ["Model 4", "", "Mug 4", "4,00", "1", "", "Mugs"],  # later than its group's first member
        ["M3-1", "Model 3", "Shirt 3 Blue", "5,00", "2", "Blue", "Shirts"],
        ["M4-1", "Model 4", "Shirt 4 Blue", "5,00", "2", "Blue", "Shirts"],
        ["M4-0", "Model 5", "Shirt 5 Red", "5,00", "2", "Red", "Shirts"],  # a duplicate, alone in its group
        ["M6-0", "Model 6", "Shirt 6 Red", "5,00", "2", "Red", "Shirts"],
    ]
    with open(feed, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["item", "model", "title", "cost", "stock", "colour", "category"])
        w.writerows(rows)
    spec = FeedSpec.from_config("marks", {
        "source": str(feed), "locale": "de",
        "mapping": {"sku": "item", "group": "model", "name": "title", "cost": "cost", "stock_quantity": "stock",
                    "categories": "category", "attributes": {"Color": "colour"}, "variation_attributes": ["Color"]},
    }, tmp_path)
    memory, disk = both(spec, tmp_path)
    keys = [p.key for p in memory.products]
    assert "Model 5" not in keys and "Model 6" in keys
    assert sum("duplicate key" in str(e) for e in memory.errors) == 2  # M4-0 again, and the Mug 4 row
    assert_same(memory, disk)


def test_a_helper_that_dies_costs_only_time(tmp_path: Path, monkeypatch, caplog):
    """The helper killed mid-feed (the OOM killer, a kill -9): its share is mapped here instead,
    with the same result, and the log says so."""
    feed = tmp_path / "supplier.csv"
    write_feed(feed, 300, 5)
    spec = FeedSpec.from_config("big", {
        "source": str(feed), "locale": "de",
        "mapping": {"sku": "item", "group": "model", "name": "title", "cost": "cost",
                    "categories": "category", "attributes": {"Color": "colour"}, "variation_attributes": ["Color"]},
    }, tmp_path)
    disk = load_spilled(spec, tmp_path, 1)
    real = second_core.start

    def started_then_killed(*args):
        helper = real(*args)
        helper._proc.kill()  # before it could send anything: it always dies first
        helper._proc.join()
        return helper

    monkeypatch.setattr(second_core, "start", started_then_killed)
    with caplog.at_level("WARNING", logger="wsync.feeds.second_core"):
        shared = load_spilled(spec, tmp_path, 2)
    assert "while mapping its share; doing its share in this process" in caplog.text and COLLECTED == [None]
    assert disk.errors, "the feed has errors whose order the fallback must keep"
    assert_shared_alike(disk, shared)


def test_a_helper_that_dies_before_building_costs_only_time(tmp_path: Path, monkeypatch, caplog):
    """Killed between the passes: this process builds the helper's groups too, same result."""
    feed = tmp_path / "supplier.csv"
    write_feed(feed, 300, 6)
    spec = FeedSpec.from_config("big", {
        "source": str(feed), "locale": "de",
        "mapping": {"sku": "item", "group": "model", "name": "title", "cost": "cost", "images": "image",
                    "categories": "category", "attributes": {"Color": "colour"}, "variation_attributes": ["Color"]},
    }, tmp_path)
    disk = load_spilled(spec, tmp_path, 1)
    real = second_core.Helper.build

    def killed_first(self, *args):
        self._proc.kill()
        self._proc.join()
        return real(self, *args)

    monkeypatch.setattr(second_core.Helper, "build", killed_first)
    with caplog.at_level("WARNING", logger="wsync.feeds.second_core"):
        shared = load_spilled(spec, tmp_path, 2)
    assert "while building its share; doing its share in this process" in caplog.text
    assert COLLECTED and COLLECTED[0] is not None, "it had mapped its share of pass 1"
    assert_shared_alike(disk, shared)


def test_a_file_replaced_while_two_processes_read_it_is_refused(tmp_path: Path, monkeypatch):
    """A wholesaler's upload landing mid-load: never read half old, half new."""
    from wsync.feeds import loader

    feed = tmp_path / "supplier.csv"
    write_feed(feed, 100, 7)
    spec = FeedSpec.from_config("big", {
        "source": str(feed), "locale": "de",
        "mapping": {"sku": "item", "group": "model", "name": "title", "cost": "cost",
                    "attributes": {"Color": "colour"}, "variation_attributes": ["Color"]},
    }, tmp_path)
    real = loader.feed_rows

    def then_replaced(*args, **kwargs):
        seen = real(*args, **kwargs)
        new = tmp_path / "upload.tmp"
        write_feed(new, 90, 8)
        new.replace(feed)  # an atomic upload: a new file under the old name
        return seen

    monkeypatch.setattr(loader, "feed_rows", then_replaced)
    with pytest.raises(FeedRefused, match="the file changed while it was being read"):
        load_spilled(spec, tmp_path, 2)
