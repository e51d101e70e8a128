"""The image phase against the sandbox store, which downloads every {src} it is sent and counts it."""

from __future__ import annotations

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
    # An image error on a product that was saved: the product is created, not failed.
    assert result["failed"] == 0 and result["image_errors"] == 1 and not result["success"]
    assert result["created"] == 1 == result["total_processed"] and result["feed_errors"] == 0
    assert result["images_missing"] == 1 and result["images_missing_skus"] == ["S00000"]
    errors = rig.jobs.errors(result["job_id"])
    assert [(e["stage"], e["sku"]) for e in errors] == [("image", "S00000")]
    assert dead in errors[0]["message"] and "404" in errors[0]["message"]
    # The next run does not hammer the dead URL again (it is retried after a day).
    again, _ = rig.run(rig.feed(catalogue_rows(simple=1, variable=0, images=images)))
    assert again["requests"]["write"] == 0 and downloads(sandbox) == 3 and again["failed"] == 0
    assert again["images_missing"] == 1 and again["success"], "reported as permanent once: the re-run says so"


@sandbox_only
def test_store_side_image_failure_is_retried_without_the_bad_url(rig, sandbox, image_host):
    good = f"{image_host.url}/img/ok.png"
    bad = f"{image_host.url}/notimage/page.png"  # served as HTML: the store refuses it
    result, _ = rig.run(rig.feed(catalogue_rows(simple=1, variable=0, images={"S00000": [good, bad]})),
                        probe_images=False)
    product = rig.all_products()[0]
    assert len(product["images"]) == 1
    errors = rig.jobs.errors(result["job_id"])
    assert [e["code"] for e in errors] == ["wsync_image_permanent"]
    assert "(woocommerce_product_image_upload_error) [permanent" in errors[0]["message"]


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


@sandbox_only
def test_a_store_hiccup_on_its_uploads_folder_is_retried_in_the_same_job(rig, sandbox, image_host):
    """Every URL is good, but the store fails its first 5 uploads (and the rest of those
    requests): the images are tried again, one per request, and all land in one run. A dead
    URL is still parked and reported, as a permanent failure."""
    urls = {f"S{i:05d}": [f"{image_host.url}/img/h{i}.png"] for i in range(20)}
    dead = f"{image_host.url}/dead/gone.png"
    urls["S00019"] = [dead]
    sandbox.set_faults(upload_dir_failures=5)
    result, _ = rig.run(rig.feed(catalogue_rows(simple=20, variable=0, images=urls)))
    products = {p["sku"]: p for p in rig.all_products()}
    assert all(len(products[f"S{i:05d}"]["images"]) == 1 for i in range(19)), "a good image was left behind"
    assert result["images"]["retried"] >= 5
    errors = rig.jobs.errors(result["job_id"])
    assert [(e["sku"], e["code"]) for e in errors] == [("S00019", "wsync_image_permanent")]
    assert "[permanent" in errors[0]["message"]
    failures = rig.ledger.conn.execute("SELECT url, permanent FROM image_failures").fetchall()
    assert [(f["url"], f["permanent"]) for f in failures] == [(dead, 1)]


@sandbox_only
def test_a_store_failing_uploads_all_job_long_is_reported_and_tried_again_next_run(rig, sandbox, image_host):
    urls = {"S00000": [f"{image_host.url}/img/x.png"]}
    sandbox.set_faults(upload_dir_failures=1000)
    first, _ = rig.run(rig.feed(catalogue_rows(simple=1, variable=0, images=urls)))
    errors = rig.jobs.errors(first["job_id"])
    assert len(errors) == 1 and "Unable to create directory" in errors[0]["message"]
    assert errors[0]["code"] == "wsync_image_transient"
    assert "[transient: tried 4 times in this job" in errors[0]["message"]
    assert rig.ledger.conn.execute("SELECT permanent FROM image_failures").fetchone()[0] == 0
    sandbox.set_faults(upload_dir_failures=0)
    second, _ = rig.run(rig.feed(catalogue_rows(simple=1, variable=0, images=urls)))
    assert rig.jobs.errors(second["job_id"]) == []
    assert len(rig.all_products()[0]["images"]) == 1, "the transient failure was parked instead of retried"
