"""A feed unchanged since the last complete run is nothing to do, read no further than its
bytes; a run that left anything undone, or other settings, make the next run read and plan it all
(wsync.sync.unchanged)."""

from __future__ import annotations

from collections.abc import Callable

from tests.feeds.conftest import FeedServer
from tests.sync.conftest import sandbox_only


def hold_sku(rig, sku: str) -> Callable[[], None]:
    """Make a variation elsewhere hold `sku`, so the store refuses a product with it; returns
    what lets it go."""
    with rig.client() as c:
        parent = c.post("products", {"name": "other", "type": "variable", "sku": rig.sku("OTHER"),
                                     "attributes": [{"name": "Size", "options": ["S"], "variation": True}]}).data
        holder = c.post(f"products/{parent['id']}/variations",
                        {"sku": sku, "attributes": [{"name": "Size", "option": "S"}]}).data

    def release() -> None:
        with rig.client() as c:
            c.delete(f"products/{parent['id']}/variations/{holder['id']}", params={"force": "true"})
    return release


def test_the_same_file_again_is_nothing_to_do_and_reports_what_the_last_run_found(rig):
    feed = rig.feed(rig.rows(simple=30, variable=4, per_parent=3))
    first, _ = rig.run(feed, process_images=False)
    assert first["success"] and first["created"] == 34 and "feed_unchanged" not in first

    again, _ = rig.run(feed, process_images=False)
    assert again["feed_unchanged"] is True and again["success"]
    assert again["requests"] == {"read": 0, "write": 0}
    assert again["unchanged"] == 34 and again["created"] == again["updated"] == 0
    assert again["variations"]["unchanged"] == 12
    assert "the same file" in again["message"]

    # The bytes decide, not the file's time: the same rows written again are still unchanged.
    rig.feed(rig.rows(simple=30, variable=4, per_parent=3))
    assert rig.run(feed, process_images=False)[0].get("feed_unchanged") is True

    forced, _ = rig.run(feed, process_images=False, force=True)
    assert "feed_unchanged" not in forced and forced["unchanged"] + forced["updated"] == 34


def test_a_changed_row_is_read_planned_and_sent(rig):
    rows = rig.rows(simple=20, variable=0)
    feed = rig.feed(rows)
    rig.run(feed, process_images=False)
    rows[3]["price"] = "11.11"
    rig.feed(rows)
    result, _ = rig.run(feed, process_images=False)
    assert "feed_unchanged" not in result and result["updated"] == 1 and result["unchanged"] == 19
    assert {p["sku"]: p for p in rig.all_products()}[rig.sku("S00003")]["regular_price"] == "11.11"


def test_other_options_read_the_same_file_again(rig):
    feed = rig.feed(rig.rows(simple=10, variable=0))
    rig.run(feed, process_images=False)
    other, _ = rig.run(feed, process_images=False, products_per_batch=5)
    assert "feed_unchanged" not in other and other["unchanged"] == 10
    # ...and that run, complete too, is the one the next run with those options compares with.
    assert rig.run(feed, process_images=False, products_per_batch=5)[0].get("feed_unchanged") is True


def test_a_run_that_failed_an_item_is_followed_by_one_that_sends_it(rig):
    rows = rig.rows(simple=12, variable=0)
    feed = rig.feed(rows)
    release = hold_sku(rig, rig.sku("S00004"))
    first, _ = rig.run(feed, process_images=False)
    assert first["failed"] == 1 and first["created"] == 11

    release()
    second, _ = rig.run(feed, process_images=False)
    assert "feed_unchanged" not in second, "a failed item must be tried again on the unchanged file"
    assert second["created"] == 1 and second["failed"] == 0 and second["success"]
    third, _ = rig.run(feed, process_images=False)
    assert third.get("feed_unchanged") is True and third["unchanged"] == 12


def test_images_left_to_an_images_job_keep_the_next_import_looking(rig):
    feed = rig.feed(rig.rows(simple=3, variable=0, images={rig.sku("S00000"): ["http://127.0.0.1:9/a.jpg"]}))
    first, _ = rig.run(feed, process_images=False)
    assert first["images_scheduled"] == 1
    again, _ = rig.run(feed, process_images=False)
    assert "feed_unchanged" not in again


@sandbox_only
def test_an_http_feed_after_a_failed_run_is_fetched_whole_then_conditionally(rig):
    server = FeedServer()
    try:
        rows = rig.rows(simple=6, variable=0)
        body = rig.feed(rows).read_bytes()
        server.routes["/feed.csv"] = {"body": body, "etag": '"v1"'}
        url = server.url + "/feed.csv"
        release = hold_sku(rig, rig.sku("S00002"))
        first, _ = rig.run(url, process_images=False)
        assert first["failed"] == 1
        release()

        second, _ = rig.run(url, process_images=False)
        assert "If-None-Match" not in server.requests[-1]["headers"]
        assert second["created"] == 1 and "feed_unchanged" not in second
        third, _ = rig.run(url, process_images=False)
        assert server.requests[-1]["headers"].get("If-None-Match") == '"v1"'
        assert third["feed_unchanged"] is True and "HTTP 304" in third["message"] and third["unchanged"] == 6
    finally:
        server.stop()
