"""products/batch with `_fields`: the sandbox answers as the real store did (recordings/33).

The recording's requests are replayed in order against a fresh sandbox (ids are the sandbox's
own, mapped by position) and each answer is compared by shape: which keys a saved item's answer
has, which slots are errors, and whether the whole answer is the empty list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

RECORDING = Path(__file__).resolve().parents[1] / "data" / "recordings" / "33_batch_fields.json"


def shape(answer: Any) -> Any:
    """An answer reduced to what the comparison is about: per slot, its keys or its error code."""
    if not isinstance(answer, dict):
        return answer
    if not {"create", "update", "delete"} & set(answer):
        return sorted(answer)
    out = {}
    for key, slots in answer.items():
        out[key] = [("error", slot["error"]["code"]) if "error" in slot
                    else ("keys", "whole" if "(untrimmed product answer)" in slot or len(slot) > 6 else sorted(slot))
                    for slot in slots]
    return out


def test_the_recorded_exchanges_answer_alike(sandbox, woo_api):
    exchanges = json.loads(RECORDING.read_text(encoding="utf-8"))["exchanges"]
    recorded_ids: dict[int, int] = {}  # the real store's ids -> the sandbox's
    for exchange in exchanges:
        method, target = exchange["request"].split(" ", 1)
        parts = urlsplit(target)
        path = parts.path.removeprefix("/wp-json/wc/v3/")
        params = dict(parse_qsl(parts.query))
        body = json.loads(json.dumps(exchange.get("body")), object_hook=lambda d: {
            k: recorded_ids.get(v, v) if k == "id" else v for k, v in d.items()})
        if path.startswith("products/") and path.split("/")[1].isdigit():
            path = f"products/{recorded_ids[int(path.split('/')[1])]}"
        resp = woo_api.post(path, body, params=params) if method == "POST" else woo_api.get(path, params=params)
        assert resp.status_code == exchange["status"], (exchange["request"], resp.text)
        answer = resp.json()
        recorded = exchange["body_returned"]
        assert shape(answer) == shape(recorded), exchange["request"]
        if isinstance(recorded, dict):
            for key in ("create", "update"):
                for real, ours in zip(recorded.get(key) or [], answer.get(key) or [], strict=True):
                    if "error" not in real and "id" in real:
                        recorded_ids[real["id"]] = ours["id"]
        if method == "GET":
            assert answer["regular_price"] == recorded["regular_price"]  # the trimmed update was saved


def test_an_update_with_fields_in_its_body_saves_the_rest(sandbox, woo_api):
    made = woo_api.post("products/batch", {"create": [{"name": "F", "sku": "F-1", "regular_price": "3.00"}]},
                        params={"_fields": "create,update,delete,id,sku"}).json()["create"][0]
    assert set(made) <= {"id", "sku", "_links"} and made["sku"] == "F-1"
    woo_api.post("products/batch", {"update": [{"id": made["id"], "regular_price": "4.00", "_fields": "id,sku"}]})
    doc = woo_api.get(f"products/{made['id']}").json()
    assert doc["regular_price"] == "4.00"
    assert not any(m["key"] == "_fields" for m in doc["meta_data"])
