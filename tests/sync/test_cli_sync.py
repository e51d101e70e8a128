"""`wsync plan`, `wsync import` and `wsync images` as a script calls them: JSON shapes and exit codes."""

from __future__ import annotations

import json

import pytest

from tests.sync.conftest import catalogue_rows, sandbox_only, write_feed
from wsync.cli import main


def run_cli(args: list[str], capsys) -> tuple[int, dict | None, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    captured = capsys.readouterr()
    doc = json.loads(captured.out) if captured.out.strip().startswith("{") else None
    return exit_info.value.code, doc, captured.err


@pytest.fixture
def env(sandbox, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WSYNC_CONFIG", raising=False)
    monkeypatch.setenv("WSYNC_STORE_URL", sandbox.url)
    monkeypatch.setenv("WSYNC_CONSUMER_KEY", sandbox.consumer_key)
    monkeypatch.setenv("WSYNC_CONSUMER_SECRET", sandbox.consumer_secret)
    monkeypatch.setenv("WSYNC_LEDGER", str(tmp_path / "wsync.db"))
    return tmp_path


IMPORT_KEYS = {"success", "message", "job_id", "created", "updated", "unchanged", "failed", "skipped", "removed",
               "variations", "feed_errors", "images_scheduled", "total_processed", "duration_s", "requests"}


@sandbox_only
def test_plan_writes_nothing_then_import_then_plan_is_all_unchanged(env, sandbox, capsys):
    feed = write_feed(env / "feed.csv", catalogue_rows(simple=12, variable=2, per_parent=3))
    code, plan, _ = run_cli(["plan", str(feed), "--format", "csv", "--json"], capsys)
    assert code == 0 and plan["counts"]["create"] == 12 + 2 + 6
    assert sandbox.stats()["writes"] == 0
    assert {"Shop", "Shop > Simple", "Shop > Variable"} <= set(plan["new_terms"])

    code, result, _ = run_cli(["import", str(feed), "--format", "csv", "--json", "--no-process-images"], capsys)
    assert code == 0, result
    assert set(result) >= IMPORT_KEYS
    # 14 products created (12 simple, 2 variable); their 6 variations are counted apart.
    assert result["message"].startswith("Batch import completed. Created: 14, Updated: 0")
    assert result["created"] == 14 == result["total_processed"] and result["variations"]["created"] == 6
    assert set(result["requests"]) == {"read", "write"}

    writes = sandbox.stats()["writes"]
    code, plan, _ = run_cli(["import", str(feed), "--format", "csv", "--dry-run", "--json"], capsys)
    assert code == 0 and plan["counts"]["unchanged"] == 20 and plan["items"] == []
    assert sandbox.stats()["writes"] == writes

    code, status, _ = run_cli(["status", str(result["job_id"]), "--json"], capsys)
    job = status["job"]
    assert code == 0 and job["status"] == "completed" and job["total_created"] == 14 == job["total_processed"]
    assert job["variations"]["created"] == 6 and job["total_failed"] == 0 and job["total_errors"] == 0


@sandbox_only
def test_item_errors_exit_1_and_are_listed(env, sandbox, capsys):
    rows = catalogue_rows(simple=5, variable=0)
    with __import__("tests.sync.conftest", fromlist=["x"]).SyncRig(sandbox, env).client() as client:
        parent = client.post("products", {"name": "x", "type": "variable", "sku": "P",
                                          "attributes": [{"name": "Size", "options": ["S"], "variation": True}]}).data
        client.post(f"products/{parent['id']}/variations",
                    {"sku": "S00002", "attributes": [{"name": "Size", "option": "S"}]})
    feed = write_feed(env / "feed.csv", rows)
    code, result, _ = run_cli(["import", str(feed), "--format", "csv", "--json"], capsys)
    assert code == 1 and result["failed"] == 1 and result["created"] == 4 and result["success"] is False
    code, status, _ = run_cli(["status", str(result["job_id"]), "--json"], capsys)
    assert status["job"]["total_errors"] >= 1


@sandbox_only
def test_wrong_secret_exits_3_with_a_clear_message(env, capsys, monkeypatch):
    monkeypatch.setenv("WSYNC_CONSUMER_SECRET", "cs_wrongwrongwrongwrongwrongwrongwrong0000")
    feed = write_feed(env / "feed.csv", catalogue_rows(simple=2, variable=0))
    code, doc, err = run_cli(["import", str(feed), "--format", "csv", "--json"], capsys)
    assert code == 3
    assert doc["success"] is False and "secret" in doc["message"].lower()
    assert "wrongwrong" not in err + json.dumps(doc)


@sandbox_only
def test_refused_feed_exits_4_and_writes_nothing(env, sandbox, capsys):
    html = env / "feed.csv"
    html.write_text("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>\n", encoding="utf-8")
    code, doc, _ = run_cli(["import", str(html), "--format", "csv", "--json"], capsys)
    assert code == 4 and doc["success"] is False
    assert sandbox.stats()["writes"] == 0


@sandbox_only
def test_batch_size_over_the_store_limit_is_a_usage_error(env, capsys):
    feed = write_feed(env / "feed.csv", catalogue_rows(simple=1, variable=0))
    code, doc, _ = run_cli(["import", str(feed), "--products-per-batch", "101", "--json"], capsys)
    assert code == 2 and "between 1 and 100" in doc["message"]


@sandbox_only
def test_images_status_matches_the_store_and_names_sources(env, sandbox, image_host, capsys):
    urls = [f"{image_host.url}/img/a.png", f"{image_host.url}/img/b.png"]
    feed = write_feed(env / "feed.csv", catalogue_rows(simple=1, variable=0, images={"S00000": urls}))
    code, _result, _ = run_cli(["import", str(feed), "--format", "csv", "--json"], capsys)
    assert code == 0
    code, doc, _ = run_cli(["images", "status", "--sku", "S00000", "--json"], capsys)
    assert code == 0
    assert doc["total_images"] == 2 and doc["gallery_images"] == 1
    assert [i["source_url"] for i in doc["images"]] == urls
    assert doc["featured_image_url"].startswith(sandbox.url)
    assert doc["wanted_sources"] == urls and doc["pending_sources"] == [] and doc["failed_sources"] == []
    code, by_id, _ = run_cli(["images", "status", str(doc["product_id"]), "--json"], capsys)
    assert by_id["featured_image"] == doc["featured_image"]


@sandbox_only
def test_images_status_shows_only_the_products_own_history_and_missing_lists_the_rest(env, sandbox, image_host,
                                                                                        capsys):
    dead = {f"S{i:05d}": [f"{image_host.url}/dead/d{i}.png"] for i in range(1, 4)}
    urls = {"S00000": [f"{image_host.url}/img/ok.png"], **dead}
    feed = write_feed(env / "feed.csv", catalogue_rows(simple=4, variable=0, images=urls))
    code, first, _ = run_cli(["import", str(feed), "--format", "csv", "--json"], capsys)
    assert code == 1 and first["images_missing"] == 3 and first["image_errors"] == 3 and first["failed"] == 0
    assert sorted(first["images_missing_skus"]) == ["S00001", "S00002", "S00003"]
    code, doc, _ = run_cli(["images", "status", "--sku", "S00002", "--json"], capsys)
    assert code == 0 and doc["total_images"] == 0
    assert [f["url"] for f in doc["failed_sources"]] == dead["S00002"], "another product's failure was listed"
    assert doc["failed_sources"][0]["permanent"] and doc["failed_sources"][0]["next_retry"] != "next run"
    code, ok, _ = run_cli(["images", "status", "--sku", "S00000", "--json"], capsys)
    assert ok["failed_sources"] == [] and ok["total_images"] == 1
    code, listing, _ = run_cli(["images", "status", "--missing", "--json"], capsys)
    assert code == 1 and listing["count"] == 3
    assert sorted(i["sku"] for i in listing["items"]) == ["S00001", "S00002", "S00003"]
    # The re-run sends nothing, still says 3 lack images, and as all of it was reported as
    # permanent by the first job, it succeeds with one line saying so.
    code, again, _ = run_cli(["import", str(feed), "--format", "csv", "--json"], capsys)
    assert again["requests"]["write"] == 0 and again["images_missing"] == 3
    assert code == 0 and again["success"] and "failed permanently in an earlier job" in again["message"]


@sandbox_only
def test_images_later_with_images_process(env, sandbox, image_host, capsys):
    urls = {f"S{i:05d}": [f"{image_host.url}/img/p{i}.png"] for i in range(4)}
    feed = write_feed(env / "feed.csv", catalogue_rows(simple=4, variable=0, images=urls))
    code, result, _ = run_cli(["import", str(feed), "--format", "csv", "--no-process-images", "--json"], capsys)
    assert code == 0 and result["images_scheduled"] == 4
    assert sandbox.stats()["downloads"]["ok"] == 0
    code, doc, _ = run_cli(["images", "process", "--job", str(result["job_id"]), "--json"], capsys)
    assert code == 0, doc
    assert sandbox.stats()["downloads"]["ok"] == 4


@sandbox_only
def test_global_attributes_are_created_once_and_variations_reference_them(env, sandbox, capsys):
    rows = catalogue_rows(simple=0, variable=2, per_parent=3)
    feed = write_feed(env / "feed.csv", rows)
    (env / "wsync.toml").write_text(f"""
[feeds.shop]
source = "{feed}"
format = "csv"
[feeds.shop.mapping]
sku = "sku"
parent = "parent"
name = "name"
regular_price = "price"
stock_quantity = "stock"
categories = "category"
variation_attributes = ["Size"]
global_attributes = ["Size"]
[feeds.shop.mapping.attributes]
Size = "size"
""", encoding="utf-8")
    import os
    os.chmod(env / "wsync.toml", 0o600)
    code, result, _ = run_cli(["--config", str(env / "wsync.toml"), "import", "shop", "--json"], capsys)
    assert code == 0, result
    from tests.sync.conftest import SyncRig

    rig = SyncRig(sandbox, env)
    with rig.client() as client:
        attributes = client.get("products/attributes").data
        assert [a["name"] for a in attributes] == ["Size"]
        for parent in (p for p in rig.all_products() if p["type"] == "variable"):
            for variation in rig.all_variations(parent["id"]):
                assert variation["attributes"][0]["id"] == attributes[0]["id"]
    rig.ledger.close()


def _table_rows(text: str) -> dict[str, list[int]]:
    """The counts table's products / variations / images rows as numbers ("-" left out)."""
    rows = {}
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] in ("products", "variations", "images") and len(cells) == 8:
            rows[cells[0]] = [int(c) for c in cells[1:] if c != "-"]
    return rows


@sandbox_only
def test_import_json_counts_products_and_variations_apart(env, capsys):
    """`created` is products: 5 simple and 3 variable products with 4 variations each create 8
    products and 12 variations (adding the two up, it used to say created 20)."""
    feed = write_feed(env / "feed.csv", catalogue_rows(simple=5, variable=3, per_parent=4))
    args = ["import", str(feed), "--format", "csv", "--json", "--no-process-images"]
    code, result, _ = run_cli(args, capsys)
    assert code == 0 and result["success"], result
    assert (result["created"], result["updated"], result["unchanged"], result["skipped"], result["failed"]) == (
        8, 0, 0, 0, 0)
    assert result["total_processed"] == 8 and result["feed_errors"] == 0 and result["removed"] == 0
    assert result["variations"] == {"created": 12, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0,
                                    "processed": 12, "deleted": 0}
    code, again, _ = run_cli(args, capsys)
    assert code == 0 and (again["created"], again["updated"], again["unchanged"], again["total_processed"]) == (
        0, 0, 8, 8)
    assert again["variations"]["unchanged"] == 12 == again["variations"]["processed"]

    # The ledger's row, `wsync status` and `wsync jobs` say the same.
    code, status, _ = run_cli(["status", str(result["job_id"]), "--json"], capsys)
    job = status["job"]
    assert (job["total_processed"], job["total_created"], job["total_updated"], job["total_unchanged"],
            job["total_skipped"], job["total_failed"], job["total_errors"]) == (8, 8, 0, 0, 0, 0, 0)
    assert job["variations"] == result["variations"] and job["feed_errors"] == 0
    code, listing, _ = run_cli(["jobs", "--json"], capsys)
    listed = {j["id"]: j for j in listing["jobs"]}
    first, second = listed[result["job_id"]], listed[again["job_id"]]
    assert first["total_created"] == 8 and first["variations"] == job["variations"]
    assert second["total_unchanged"] == 8 and second["variations"]["unchanged"] == 12
    stats = listing["stats"]
    assert (stats["total_products_processed"], stats["total_products_created"]) == (16, 8)


@sandbox_only
def test_import_report_is_one_table_whose_rows_add_up(env, capsys):
    feed = write_feed(env / "feed.csv", catalogue_rows(simple=5, variable=3, per_parent=4))
    with pytest.raises(SystemExit) as exit_info:
        main(["import", str(feed), "--format", "csv", "--no-process-images"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0, out
    rows = _table_rows(out)
    # created, updated, unchanged, skipped, failed | total | removed (or deleted)
    assert rows["products"] == [8, 0, 0, 0, 0, 8, 0], out
    assert rows["variations"] == [12, 0, 0, 0, 0, 12, 0], out
    assert out.startswith("Batch import completed. Created: 8, Updated: 0"), out


@sandbox_only
def test_feed_record_errors_fail_the_job_but_are_not_failed_products(env, capsys):
    rows = catalogue_rows(simple=3, variable=1, per_parent=2)
    rows.append({"sku": "BAD1", "name": "Bad price", "price": "abc", "stock": 1})
    rows.append({"sku": "ORPHAN-S", "parent": "NOPE", "name": "Orphan", "price": "1.00", "size": "S"})
    feed = write_feed(env / "feed.csv", rows)
    code, result, _ = run_cli(["import", str(feed), "--format", "csv", "--json", "--no-process-images"], capsys)
    # Exit 1 as before: the feed had records that could not be read ...
    assert code == 1 and result["success"] is False, result
    # ... but no product or variation was refused: they are feed errors, not failed items.
    assert result["feed_errors"] == 2 and result["failed"] == 0 and result["variations"]["failed"] == 0
    assert result["created"] == 4 == result["total_processed"] and result["variations"]["created"] == 2
    assert "Feed errors: 2" in result["message"]
    code, status, _ = run_cli(["status", str(result["job_id"]), "--json"], capsys)
    job = status["job"]
    assert job["total_errors"] == 2 and job["total_failed"] == 0 and job["feed_errors"] == 2
    assert sorted(e["stage"] for e in job["errors"]) == ["feed", "feed"]
