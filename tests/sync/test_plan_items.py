"""A plan's item list past its in-memory head: read back, and printed by `--json`, as it was put in."""

from __future__ import annotations

import json

import pytest

from wsync.cli.common import emit_json
from wsync.sync.plan_items import PlanItems

ITEMS = [{"kind": "product", "key": f"K{i}", "sku": f"S\u00e9{i}", "action": "create" if i % 2 else "update",
          "fields": ["regular_price"]} for i in range(7)]


@pytest.fixture
def items() -> PlanItems:
    out = PlanItems(memory_items=3)  # 3 in memory, 4 in the file
    for item in ITEMS:
        out.append(item)
    return out


def test_head_and_tail_read_back_in_order(items: PlanItems) -> None:
    assert len(items) == len(ITEMS)
    assert list(items) == ITEMS
    assert [json.loads(line) for line in items.json_lines()] == ITEMS
    # Reading does not lose the place where the next item goes.
    items.append({"kind": "variation", "key": "last"})
    assert list(items)[-1] == {"kind": "variation", "key": "last"}
    assert len(list(items.json_lines())) == len(ITEMS) + 1
    items.close()


def test_emit_json_prints_every_item_once(items: PlanItems, capsys: pytest.CaptureFixture[str]) -> None:
    emit_json({"success": True, "items": items, "summary": {"create": 4}})
    doc = json.loads(capsys.readouterr().out)
    assert doc == {"success": True, "items": ITEMS, "summary": {"create": 4}}
    items.close()


def test_emit_json_of_an_empty_list(capsys: pytest.CaptureFixture[str]) -> None:
    emit_json({"items": PlanItems(memory_items=0)})
    assert json.loads(capsys.readouterr().out) == {"items": []}
