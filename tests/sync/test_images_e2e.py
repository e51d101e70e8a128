"""The image phase against the sandbox store, which downloads every {src} it is sent and counts it."""

from __future__ import annotations

import pytest

from tests.sync.conftest import catalogue_rows, sandbox_only


def downloads(sandbox) -> int:
    return sandbox.stats()["downloads"]["ok"]


@sandbox_only
def test_shared_images_are_downloaded_once_and_never_again(rig, sandbox, image_host):
    urls = [f"{image_host.url}/img/photo-{i}.png" for i in range(100)]
    images = {f"S{i:05d}": [urls[i % 100], urls[(i * 7 + 3) % 100]] for i in range(300)}
    result, _ = rig.run(rig.feed(catalogue_rows(simple=300, variable=0, images=images)))
    assert result["failed"] == 0, rig.jobs.errors(result["job_id"])
    assert downloads(sandbox) == 100
    assert result["images"]["downloaded"] == 100 and result["images"]["reused"] == 500
    # 6 product batches and 2 categories; the 50 items that bring the 100 files in go 5 per
    # request (10), the 250 that only reference them go 50 per request (5).
    assert result["requests"]["write"] == 6 + 2 + 10 + 5
    products = rig.all_products()
    assert all(len(p["images"]) == 2 for p in products)
    again, _ = rig.run(rig.feed(catalogue_rows(simple=300, variable=0, images=images)))
    assert downloads(sandbox) == 100
    assert again["requests"]["write"] == 0


@sandbox_only
def test_store_prefilled_with_renamed_copies_downloads_nothing(rig, sandbox, image_host):
    urls = {f"S{i:05d}": [f"{image_host.url}/img/item-{i}.png"] for i in range(6)}
    with rig.client() as c:
        # Another tool already sideloaded each image twice: the store holds item-N.png and item-N-1.png.
        for sku, (url,) in urls.items():
            c.post("products", {"sku": sku, "name": "pre", "images": [{"src": url}, {"src": url}]})
    before = downloads(sandbox)
    result, _ = rig.run(rig.feed(catalogue_rows(simple=6, variable=0, images=urls)))
    assert result["failed"] == 0, rig.jobs.errors(result["job_id"])
    assert downloads(sandbox) == before, "adoption should have matched the existing attachments"
    for p in rig.all_products():
        assert len(p["images"]) == 1


@sandbox_only
def test_dead_url_leaves_the_good_images_and_is_recorded(rig, sandbox, image_host):
    good = [f"{image_host.url}/img/g{i}.png" for i in range(3)]
    dead = f"{image_host.url}/dead/missing.png"
    images = {"S00000": [good[0], dead, good[1], good[2]]}
    result, _ = rig.run(rig.feed(catalogue_rows(simple=1, variable=0, images=images)))
    product = rig.all_products()[0]
    assert len(product["images"]) == 3
    failures = rig.ledger.conn.execute("SELECT url, message FROM image_failures").fetchall()
    assert [f["url"] for f in failures] == [dead]
    assert "missing.png" in failures[0]["message"]
    assert downloads(sandbox) == 3
    # The job says so: one item error naming the link and the cause, so cron sees exit 1.
    assert result["failed"] == 1 and not result["success"]
    errors = rig.jobs.errors(result["job_id"])
    assert [(e["stage"], e["sku"]) for e in errors] == [("image", "S00000")]
    assert dead in errors[0]["message"] and "404" in errors[0]["message"]
    # The next run does not hammer the dead URL again (it is retried after a day).
    again, _ = rig.run(rig.feed(catalogue_rows(simple=1, variable=0, images=images)))
    assert again["requests"]["write"] == 0 and downloads(sandbox) == 3 and again["failed"] == 0


@sandbox_only
def test_store_side_image_failure_is_retried_without_the_bad_url(rig, sandbox, image_host):
    good = f"{image_host.url}/img/ok.png"
    bad = f"{image_host.url}/notimage/page.png"  # served as HTML: the store refuses it
    result, _ = rig.run(rig.feed(catalogue_rows(simple=1, variable=0, images={"S00000": [good, bad]})),
                        probe_images=False)
    product = rig.all_products()[0]
    assert len(product["images"]) == 1
    codes = {e["code"] for e in rig.jobs.errors(result["job_id"])}
    assert "woocommerce_product_image_upload_error" in codes


@sandbox_only
def test_variation_images_are_deduplicated_with_product_images(rig, sandbox, image_host):
    shared = f"{image_host.url}/img/shared.png"
    rows = catalogue_rows(simple=0, variable=2, per_parent=3, images={"V00000": [shared], "V00001": [shared]})
    for row in rows:
        if row.get("parent"):
            row["images"] = shared
    result, _ = rig.run(rig.feed(rows))
    assert result["failed"] == 0, rig.jobs.errors(result["job_id"])
    assert downloads(sandbox) == 1
    for p in rig.all_products():
        for v in rig.all_variations(p["id"]):
            assert v["image"] and v["image"]["id"] == p["images"][0]["id"]
