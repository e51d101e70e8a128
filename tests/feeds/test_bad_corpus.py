"""Every file in tests/data/bad/ through `wsync feed preview FILE --json`: a clear answer, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
CASES = tomllib.loads((BAD / "cases.toml").read_text())["cases"]


def preview(path: Path, preset: str | None = None) -> tuple[int, dict, str]:
    extra = ["--preset", preset] if preset else []
    proc = subprocess.run([sys.executable, "-m", "wsync", "feed", "preview", str(path), "--json", "--limit", "50",
                           *extra], capture_output=True, text=True, timeout=60)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def test_every_bad_file_has_a_case():
    files = {p.name for p in BAD.iterdir() if p.name != "cases.toml"}
    assert files == set(CASES), files ^ set(CASES)
    assert len(CASES) >= 30


def check(code: int, doc: dict, stderr: str, case: dict) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert code == case["exit"], (doc, stderr)
    if code == 4:
        assert doc["success"] is False and doc["error"] == "FeedRefused"
        for part in case["message"]:
            assert part in doc["message"], doc["message"]
        return
    assert doc["success"] is True
    if "error_reason" in case:
        matching = [e for e in doc["errors"] if case["error_reason"] in e["reason"]
                    and e["where"] == case.get("error_where", e["where"])
                    and e["field"] == case.get("error_field", e["field"])]
        assert matching, doc["errors"]
    else:
        assert doc["errors"] == []
    if "prices" in case:
        assert [p["regular_price"] for p in doc["products"]] == case["prices"]
    if "images" in case:
        assert [i["src"] for p in doc["products"] for i in p["images"]] == case["images"]
    if "warning" in case:
        assert any(case["warning"] in w for w in doc["warnings"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_feed(name: str):
    code, doc, stderr = preview(BAD / name, CASES[name].get("preset"))
    check(code, doc, stderr, CASES[name])
    assert "root:" not in json.dumps(doc)  # no local file content (e.g. /etc/passwd) ever leaks


def test_ten_megabyte_field_is_a_record_error(tmp_path: Path):
    feed = tmp_path / "huge-field.csv"
    with open(feed, "w") as fh:
        fh.write("sku,name,price,description\nA1,Lamp,10.00,\"" + "x" * (10 * 1024 * 1024) + "\"\n")
        fh.write("A2,Chair,20.00,fine\nA3,Desk,30.00,fine\n")
    code, doc, stderr = preview(feed)
    check(code, doc, stderr, {"exit": 0, "error_where": "huge-field.csv line 2", "error_field": "description",
                              "error_reason": "characters long"})
    assert len(json.dumps(doc)) < 20_000


def test_preview_a_configured_feed_by_name_and_unknown_names(tmp_path: Path):
    data = BAD.parent
    (tmp_path / "wsync.toml").write_text(f'[feeds.google]\nsource = "{data / "google-merchant-rss.xml"}"\n'
                                         'preset = "google-merchant"\n')
    base = [sys.executable, "-m", "wsync", "--config", str(tmp_path / "wsync.toml"), "feed", "preview"]
    proc = subprocess.run([*base, "google", "--limit", "1", "--json"], capture_output=True, text=True, timeout=60)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0 and len(doc["products"]) == 1
    assert doc["counts"] == {"products": 2, "variable": 1, "variations": 3, "images": 7, "distinct_images": 5,
                             "errors": 0}
    proc = subprocess.run([*base, "nosuch", "--json"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no feed named 'nosuch'" in json.loads(proc.stdout)["message"]
    proc = subprocess.run([*base, "google"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "2 products (1 variable, 3 variations)" in proc.stdout
