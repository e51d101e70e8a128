"""JSON documents are streamed item by item, wherever the item list sits."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from wsync.errors import FeedRefused
from wsync.feeds.json_format import JsonFeed


def feed(tmp_path: Path, document: object, raw: str | None = None, **kw) -> list:
    path = tmp_path / "feed.json"
    path.write_text(raw if raw is not None else json.dumps(document), encoding="utf-8")
    return list(JsonFeed(path, "feed.json", **kw))


@pytest.mark.parametrize("document, pointer", [
    ([{"sku": "A"}, {"sku": "B"}], ""),
    ({"meta": {"n": 2}, "products": [{"sku": "A"}, {"sku": "B"}]}, "/products"),
    ({"rows": [{"sku": "A"}, {"sku": "B"}], "total": 2}, "/rows"),  # the one list
])
def test_the_item_list_is_found_without_items_path(tmp_path, document, pointer):
    records = feed(tmp_path, document)
    assert [r for _, r in records] == [{"sku": "A"}, {"sku": "B"}]
    assert [w for w, _ in records] == [f"feed.json {pointer}/0", f"feed.json {pointer}/1"]


def test_items_path_and_a_path_that_is_not_a_list(tmp_path):
    doc = {"data": {"products": [{"sku": "A", "price": 12.50}]}, "next": None}
    ((where, record),) = feed(tmp_path, doc, items_path="data.products")
    assert where == "feed.json /data/products/0"
    assert record["price"] == Decimal("12.5")  # numbers are Decimal, never float
    with pytest.raises(FeedRefused, match="leads to dict, not a list"):
        feed(tmp_path, doc, items_path="data")


def test_one_object_is_one_record_and_a_byte_order_mark_is_skipped(tmp_path):
    path = tmp_path / "one.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"sku": "A", "name": "Alpha"}).encode())
    assert [r for _, r in JsonFeed(path, "one.json")] == [{"sku": "A", "name": "Alpha"}]


def test_records_arrive_before_the_document_ends(tmp_path):
    """A truncated document: the items before the cut are read one by one (nothing waits for the
    whole document), then the feed is refused naming where it broke."""
    items = ",".join(json.dumps({"sku": f"S{i}"}) for i in range(1000))
    path = tmp_path / "cut.json"
    path.write_text('{"products": [' + items + ', {"sku": "S10', encoding="utf-8")
    seen = []
    with pytest.raises(FeedRefused, match="truncated"):
        for _, record in JsonFeed(path, "cut.json", items_path="products"):
            seen.append(record["sku"])
    assert len(seen) == 1000
