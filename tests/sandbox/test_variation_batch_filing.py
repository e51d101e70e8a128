"""A variations batch holding several parents' items: the sandbox files them as the real store did
(recordings/34), and its `variations_under_url` fault acts like a store that does not.

The recording's requests are replayed in order against a fresh sandbox (the real store's ids
mapped to the sandbox's by position); each saved item must be filed under the parent the real
store filed it under, with the same SKU and price, and the parents' listing must agree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from wsync.sandbox import Faults

RECORDING = Path(__file__).resolve().parents[1] / "data" / "recordings" / "34_variations_across_parents.json"


def _up(item: dict[str, Any]) -> int:
    return int(item["_links"]["up"][0]["href"].rstrip("/").rsplit("/", 1)[1])


def test_the_recorded_exchanges_file_items_alike(sandbox, woo_api):
    ids: dict[int, int] = {}  # the real store's ids -> the sandbox's

    def mapped(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (ids.get(v, v) if k in ("id", "product_id") else mapped(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [mapped(v) for v in value]
        return value

    for exchange in json.loads(RECORDING.read_text(encoding="utf-8"))["exchanges"]:
        method, target = exchange["request"].split(" ", 1)
        path, _, query = target.removeprefix("/wp-json/wc/v3/").partition("?")
        params = dict(p.split("=", 1) for p in query.split("&")) if query else {}
        parts = path.split("/")
        if len(parts) > 1 and parts[1].isdigit():
            parts[1] = str(ids[int(parts[1])])
        if "include" in params:
            params["include"] = ",".join(str(ids[int(i)]) for i in params["include"].split(","))
        path = "/".join(parts)
        resp = (woo_api.post(path, mapped(exchange["body"]), params=params) if method == "POST"
                else woo_api.get(path, params=params))
        assert resp.status_code == exchange["status"], (exchange["request"], resp.text)
        answer, recorded = resp.json(), exchange["body_returned"]
        if isinstance(recorded, dict):
            for key in ("create", "update"):
                for real, ours in zip(recorded.get(key) or [], answer.get(key) or [], strict=True):
                    assert "error" not in ours, ours
                    ids.setdefault(real["id"], ours["id"])
                    assert (ours["sku"], ours.get("price")) == (real["sku"], real.get("price"))
                    if "_links" in real and "up" in real["_links"]:
                        assert _up(ours) == ids[_up(real)], "filed under another parent than the real store's"
        else:
            assert [(o["id"], o["variations"], o["price"]) for o in answer] == \
                [(ids[r["id"]], [ids[v] for v in r["variations"]], r["price"]) for r in recorded]


def test_a_product_id_that_is_no_product_fails_only_its_item(sandbox, woo_api):
    sizes = [{"name": "Size", "options": ["S", "M"], "variation": True}]
    parent = woo_api.post("products", {"name": "P", "type": "variable", "sku": "P", "attributes": sizes}).json()
    answer = woo_api.post(f"products/{parent['id']}/variations/batch", {"create": [
        {"sku": "P-S", "attributes": [{"name": "Size", "option": "S"}]},
        {"sku": "X-S", "attributes": [{"name": "Size", "option": "S"}], "product_id": 99999}]}).json()
    assert "error" not in answer["create"][0]
    assert answer["create"][1]["error"]["code"] == "woocommerce_rest_product_variation_invalid_parent"


def test_the_fault_files_every_item_under_the_urls_product(sandbox, woo_api):
    sandbox.set_faults(Faults(variations_under_url=True))
    made = woo_api.post("products/batch", {"create": [
        {"name": n, "type": "variable", "sku": n, "attributes": [{"name": "Size", "options": ["S"], "variation": True}]}
        for n in ("A", "B")]}).json()["create"]
    a, b = made[0]["id"], made[1]["id"]
    answer = woo_api.post(f"products/{a}/variations/batch", {"create": [
        {"sku": "B-S", "attributes": [{"name": "Size", "option": "S"}], "product_id": b}]}).json()
    assert _up(answer["create"][0]) == a
    listed = {p["id"]: p["variations"] for p in woo_api.get("products", params={"include": f"{a},{b}"}).json()}
    assert listed == {a: [answer["create"][0]["id"]], b: []}
