"""A plan's item list past its in-memory head: read back, and printed by `--json`, as it was put in."""

from __future__ import annotations

import json

import pytest

from wsync.cli.common import emit_json
from wsync.sync.plan import ItemPlan
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


PLANS = [
    ItemPlan("product", "K1", "S-1", "create"),
    ItemPlan("variation", "K1-\u00e9", None, "create", parent_key='K "1"'),
    ItemPlan("variation", "K\\2", "S\n2", "create", parent_key="K2"),
    ItemPlan("product", "K3", "S3", "update", store_id=7, send={"regular_price": "1.00"}),
    ItemPlan("product", "K4", "S4", "skip", reason="new item, and --no-create-new"),
    ItemPlan("product", "K5", "S5", "create", adopted=True, store_id=9),
]


@pytest.mark.parametrize("plan", PLANS, ids=[f"{p.action}-{p.key}" for p in PLANS])
def test_an_item_plan_as_json_is_its_dict_as_json(plan: ItemPlan) -> None:
    """The plan's lines past its head are written without the dict: the same JSON, byte for byte."""
    assert plan.to_json() == json.dumps(plan.to_dict(), ensure_ascii=False)


def test_item_plans_read_back_as_their_dicts() -> None:
    out = PlanItems(memory_items=2)
    for plan in PLANS:
        out.append_plan(plan)
    assert list(out) == [p.to_dict() for p in PLANS]
