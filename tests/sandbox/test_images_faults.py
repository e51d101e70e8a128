"""Image sideloading and counting (recordings 03, 04, 16, 17, 21, and the project's own 28); faults; the CLI process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from wsync.sandbox import Faults, LatencyModel


def test_src_downloads_every_time_and_id_reuses(sandbox, woo_api, image_host):
    url = image_host.image_url("red.png?v=1")
    a = woo_api.post("products", {"name": "a", "images": [{"src": url, "name": "Red", "alt": "r"}]}).json()
    b = woo_api.post("products", {"name": "b", "images": [{"src": url}]}).json()
    assert a["images"][0]["id"] < a["id"]  # the attachment is made before the product
    assert a["images"][0]["src"].endswith("/red.png") and b["images"][0]["src"].endswith("/red-1.png")
    assert (a["images"][0]["name"], a["images"][0]["alt"], b["images"][0]["name"]) == ("Red", "r", "red-1.png")
    served = requests.get(b["images"][0]["src"], timeout=5)
    assert served.status_code == 200 and served.content[:4] == b"\x89PNG"
    c = woo_api.post("products", {"name": "c", "images": [{"id": a["images"][0]["id"],
                                                           "src": image_host.image_url("x.png")}]}).json()
    assert c["images"][0]["id"] == a["images"][0]["id"]
    assert image_host.count("/img/red.png") == 2 and image_host.count("/img/x.png") == 0
    stats = sandbox.stats()
    assert stats["downloads"]["attempted"] == 2 and stats["downloads"]["ok"] == 2
    assert stats["downloads"]["per_url"][url] == 2 and stats["counts"]["attachments"] == 2
    cleared = woo_api.put(f"products/{a['id']}", {"images": []}).json()
    assert cleared["images"] == [] and sandbox.stats()["counts"]["attachments"] == 2
    bad = woo_api.put(f"products/{a['id']}", {"images": [{"id": 99999999}]})
    assert bad.json() == {"code": "woocommerce_product_invalid_image_id",
                          "message": "#99999999 is an invalid image ID.", "data": {"status": 400}}


@pytest.mark.parametrize("path, message", [
    ("/dead/x.png", "Error getting remote image {url}. Error: Not Found"),
    ("/notimage/x.png", "Invalid image: Sorry, you are not allowed to upload this file type."),
    ("/img/noext", "Invalid image: Sorry, you are not allowed to upload this file type."),
])
def test_failed_image_product_not_saved(sandbox, woo_api, image_host, path, message):
    url = image_host.url + path
    resp = woo_api.post("products", {"name": "bad", "sku": "BAD-1", "images": [{"src": url}]})
    assert resp.status_code == 400
    assert resp.json() == {"code": "woocommerce_product_image_upload_error", "message": message.format(url=url),
                           "data": {"status": 400}}
    assert woo_api.get("products", params={"sku": "BAD-1", "status": "any"}).json() == []


def test_closed_port_message(woo_api):
    resp = woo_api.post("products", {"name": "bad", "images": [{"src": "http://127.0.0.1:9/x.png"}]})
    assert "cURL error 7: Failed to connect to 127.0.0.1 port 9" in resp.json()["message"]


def test_batch_with_dead_image_leaves_orphans(sandbox, woo_api, image_host):
    out = woo_api.post("products/batch", {"create": [
        {"name": "ok", "sku": "B-1", "images": [{"src": image_host.image_url("a.png")}]},
        {"name": "bad", "sku": "B-2", "images": [{"src": image_host.image_url("b.png")},
                                                 {"src": image_host.url + "/dead/c.png"}]},
        {"name": "none", "sku": "B-3"}]}).json()
    assert out["create"][1]["id"] == 0 and out["create"][1]["error"]["code"] == "woocommerce_product_image_upload_error"
    assert [c.get("sku") for c in out["create"]] == ["B-1", None, "B-3"]
    stats = sandbox.stats()
    assert stats["counts"]["attachments"] == 2 and stats["counts"]["products"] == 2  # b.png is an orphan
    assert stats["downloads"] | {"per_url": None} == {"attempted": 3, "ok": 2, "failed": 1, "per_url": None}
    up = woo_api.post("products/batch", {"update": [{"id": out["create"][0]["id"], "regular_price": "2",
                                                    "images": [{"src": image_host.url + "/dead/d.png"}]}]}).json()
    assert up["update"][0]["error"]["code"] == "woocommerce_product_image_upload_error"
    assert woo_api.get(f"products/{out['create'][0]['id']}").json()["regular_price"] == ""


def test_variation_image_error_code(woo_api, image_host):
    parent = woo_api.post("products", {"name": "v", "type": "variable",
                                       "attributes": [{"name": "S", "options": ["a"], "variation": True}]}).json()
    var = woo_api.post(f"products/{parent['id']}/variations", {"image": {"src": image_host.image_url("v.png")}}).json()
    assert var["image"]["src"].endswith("/v.png")
    resp = woo_api.put(f"products/{parent['id']}/variations/{var['id']}",
                       {"image": {"src": image_host.url + "/dead/v.png"}})
    assert (resp.status_code, resp.json()["code"]) == (400, "woocommerce_variation_image_upload_error")


def test_error_fault_with_retry_after_and_runtime_setting(sandbox, woo_api):
    requests.post(f"{sandbox.url}/_sandbox/faults",
                  json={"error_rate": 1.0, "error_statuses": [429], "retry_after_s": 7, "seed": 3},
                  timeout=5).raise_for_status()
    resp = woo_api.post("products", {"name": "x", "sku": "F-1"})
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
    assert requests.get(f"{sandbox.url}/_sandbox/stats", timeout=5).status_code == 200  # admin never faulted
    sandbox.set_faults(Faults())
    assert woo_api.get("products", params={"sku": "F-1"}).json() == []
    bad = requests.post(f"{sandbox.url}/_sandbox/faults", json={"error_rate": 2}, timeout=5)
    assert bad.status_code == 400


def test_commit_then_drop_really_commits(sandbox, woo_api):
    sandbox.set_faults(Faults(drop_rate=1.0, only_writes=True))
    with pytest.raises(requests.exceptions.ConnectionError):
        woo_api.post("products", {"name": "x", "sku": "DROP-1"})
    assert len(woo_api.get("products", params={"sku": "DROP-1"}).json()) == 1
    assert sandbox.stats()["faults"]["drops"] == 1


def test_hang_then_processed(sandbox, image_host):
    from woocommerce import API

    sandbox.set_faults(Faults(hang_rate=1.0, hang_s=0.6, only_writes=True))
    impatient = API(sandbox.url, sandbox.consumer_key, sandbox.consumer_secret, version="wc/v3", timeout=0.2)
    with pytest.raises(requests.exceptions.Timeout):
        impatient.post("products", {"name": "x", "sku": "HANG-1"})
    sandbox.set_faults(Faults())
    patient = API(sandbox.url, sandbox.consumer_key, sandbox.consumer_secret, version="wc/v3", timeout=5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not patient.get("products", params={"sku": "HANG-1"}).json():
        time.sleep(0.1)
    assert len(patient.get("products", params={"sku": "HANG-1"}).json()) == 1


def test_latency_model_and_reset(sandbox, woo_api):
    realistic = LatencyModel.realistic()
    assert realistic.cost(creates=100) == pytest.approx(0.08 + 3.3)
    assert realistic.cost(updates=100) == pytest.approx(0.08 + 1.9)
    sandbox.set_latency(LatencyModel(per_request_s=0.05))
    assert sandbox.stats()["latency"]["per_request_s"] == 0.05
    woo_api.post("products", {"name": "x"})
    requests.post(f"{sandbox.url}/_sandbox/reset", timeout=5).raise_for_status()
    assert sandbox.stats()["counts"]["products"] == 0 and sandbox.stats()["requests"]["total"] == 0


def test_cli_serve_prints_json_and_stops_on_sigterm(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "wsync", "sandbox", "serve", "--port", "0", "--json",
                             "--data", str(tmp_path / "store.db")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["consumer_key"].startswith("ck_") and info["readonly_secret"].startswith("cs_")
        assert requests.get(f"{info['url']}/wp-json/", timeout=5).json()["url"] == info["url"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert os.path.exists(tmp_path / "store.db")


RECORDINGS = Path(__file__).resolve().parents[1] / "data" / "recordings"


def test_uploads_folder_failure_answers_as_recorded(sandbox, woo_api, image_host):
    """The sandbox's answer has the recorded slot shape and message, the month aside."""
    recorded = json.loads((RECORDINGS / "28_uploads_folder_error.json").read_text())["exchanges"][0]
    sandbox.set_faults(upload_dir_failures=1)
    creates = [{**item, "images": [{"src": image_host.image_url(f"r{n}.png")}]}
               for n, item in enumerate(recorded["request"]["json"]["create"])]
    resp = woo_api.post("products/batch", {"create": creates})
    month = re.compile(r"uploads/\d{4}/\d{2}")
    assert resp.status_code == recorded["response"]["status"]
    got = [{**c, "error": {**c["error"], "message": month.sub("uploads/Y/M", c["error"]["message"])}}
           for c in resp.json()["create"]]
    want = [{**c, "error": {**c["error"], "message": month.sub("uploads/Y/M", c["error"]["message"])}}
            for c in recorded["response"]["json"]["create"]]
    assert got == want


def test_uploads_folder_failure_sticks_to_its_request(sandbox, woo_api, image_host):
    """Two requests creating the month's uploads folder at once: WordPress answers "Unable to
    create directory" and keeps that error for the rest of the request (recorded on WooCommerce
    8.2.2, as met by a real import). The knob hands out one such failure; the request that meets
    it fails its other sideloads too; the next request saves its images."""
    sandbox.set_faults(upload_dir_failures=1)
    out = woo_api.post("products/batch", {"create": [
        {"name": f"p{i}", "sku": f"U-{i}", "images": [{"src": image_host.image_url(f"u{i}.png")}]} for i in range(3)]
    }).json()
    messages = [c["error"]["message"] for c in out["create"]]
    assert all(m.startswith("Invalid image: Unable to create directory wp-content/uploads/") for m in messages)
    assert all(m.endswith("Is its parent directory writable by the server?") for m in messages)
    assert [c["error"]["code"] for c in out["create"]] == ["woocommerce_product_image_upload_error"] * 3
    again = woo_api.post("products/batch", {"create": [
        {"name": f"p{i}", "sku": f"U-{i}", "images": [{"src": image_host.image_url(f"u{i}.png")}]} for i in range(3)]
    }).json()
    assert all(c.get("id") and len(c["images"]) == 1 for c in again["create"])
