"""`wsync undo` and `wsync ledger rebuild` end to end on the sandbox (or a live store with WSYNC_TEST_*):
import, change prices and stock, undo that, undo the import; lose the ledger, rebuild it, re-run."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.sync.conftest import LIVE, sandbox_only
from wsync.ledger import Ledger
from wsync.ledger.history import JobChanges
from wsync.sandbox import ImageHost
from wsync.store import StoreClient
from wsync.sync.rebuild import rebuild_ledger
from wsync.sync.undo import plan_undo, run_undo, schedule_undo

VOLATILE = {"related_ids", "date_modified", "date_modified_gmt", "_links", "price_html", "price", "on_sale",
            "purchasable"}


def snapshot(rig) -> dict[str, Any]:
    """Every product and variation of the test, field by field, as the REST API reads them back."""
    out: dict[str, Any] = {}
    with rig.client() as c:
        for p in c.iter_pages("products", params={"context": "edit"}):
            if not (p.get("sku") or "").startswith(rig.prefix):
                continue
            out[p["sku"]] = _clean(p)
            if p["type"] == "variable":
                for v in c.iter_pages(f"products/{p['id']}/variations", params={"context": "edit"}):
                    out[v["sku"]] = _clean(v)
    return out


def _clean(obj: dict[str, Any]) -> dict[str, Any]:
    doc = {k: v for k, v in obj.items() if k not in VOLATILE}
    # The image phase's own meta (source URLs) is written after the first snapshot's products phase.
    doc["meta_data"] = sorted((m["key"], str(m["value"])) for m in doc.get("meta_data") or [])
    for key in ("images",):
        doc[key] = [i["id"] for i in doc.get(key) or []]
    if isinstance(doc.get("image"), dict):
        doc["image"] = doc["image"]["id"]
    return doc


def undo(rig, target: int, **options: Any) -> dict[str, Any]:
    job_id = schedule_undo(rig.ledger, target, options)
    client = StoreClient(rig.store)
    try:
        job = rig.jobs.claim(job_id, worker_pid=os.getpid(), worker_host="test")
        result = run_undo(job_id, ledger=rig.ledger, settings=rig.settings, jobs=rig.jobs, client=client)
        rig.jobs.finish(job_id, "completed", result)
    finally:
        client.close()
    assert job is not None
    return result


def run(rig, feed) -> dict[str, Any]:
    """An import job, ended as the runner ends it (an undo waits for its target to end)."""
    result, _ = rig.run(feed)
    rig.jobs.finish(result["job_id"], "completed", result)
    return result


def changed_rows(rig, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """10 % of prices up by half, 5 % of stock to 0: the mistaken supplier file."""
    out = []
    priced = [r for r in rows if r.get("price")]
    for index, row in enumerate(rows):
        row = dict(row)
        if row.get("price") and priced.index(row) % 10 == 0:
            row["price"] = f"{float(row['price']) * 1.5:.2f}"
        if row.get("stock") not in (None, "") and index % 20 == 0:
            row["stock"] = 0
        out.append(row)
    return out


@pytest.fixture
def media_password(monkeypatch, request):
    """A WordPress application password for deleting attachments: the sandbox's, or on a live store
    WSYNC_TEST_WP_USER / WSYNC_TEST_WP_APP_PASSWORD (without them the attachments are left)."""
    if not LIVE:
        sandbox = request.getfixturevalue("sandbox")
        monkeypatch.setenv("WSYNC_WP_USER", sandbox.wp_user)
        monkeypatch.setenv("WSYNC_WP_APP_PASSWORD", sandbox.wp_app_password)
    elif os.environ.get("WSYNC_TEST_WP_USER") and os.environ.get("WSYNC_TEST_WP_APP_PASSWORD"):
        monkeypatch.setenv("WSYNC_WP_USER", os.environ["WSYNC_TEST_WP_USER"])
        monkeypatch.setenv("WSYNC_WP_APP_PASSWORD", os.environ["WSYNC_TEST_WP_APP_PASSWORD"])


@pytest.fixture
def store_images():
    """The image host the store downloads from. A live store takes images only from ports
    WordPress allows (80, 443, 8080): there it listens on WSYNC_TEST_IMAGE_PORT."""
    port = os.environ.get("WSYNC_TEST_IMAGE_PORT")
    if LIVE and not port:
        pytest.skip("set WSYNC_TEST_IMAGE_PORT to a port WordPress downloads from (80, 443, 8080)")
    host = ImageHost(port=int(port) if LIVE and port else 0).start()
    try:
        yield host
    finally:
        host.stop()


def test_undo_puts_back_a_price_and_stock_job_then_deletes_the_import(rig, store_images, media_password):
    urls = [f"{store_images.url}/img/u{i}.png" for i in range(12)]
    images = {f"{rig.prefix}S{i:05d}": [urls[i % 12]] for i in range(30)}
    images.update({f"{rig.prefix}V{i:05d}": [urls[(i + 5) % 12]] for i in range(6)})
    rows = rig.rows(simple=30, variable=6, per_parent=4, images=images)
    first = run(rig, rig.feed(rows))
    assert first["success"] and first["created"] == 36
    after_first = snapshot(rig)
    assert len(after_first) == 60

    second = run(rig, rig.feed(changed_rows(rig, rows), "changed.csv"))
    assert second["updated"] + second["variations"]["updated"] > 0
    job2 = second["job_id"]
    changes = JobChanges(rig.ledger).for_job(job2)
    assert changes and all(c.action == "updated" and c.before for c in changes)

    # A person changes one of job 2's prices directly: a conflict, left alone.
    target = next(c for c in changes if c.kind == "product" and "regular_price" in (c.before or {}))
    with rig.client() as c:
        c.put(f"products/{target.store_id}", {"regular_price": "99.99"})

    plan = plan_undo(rig.ledger, rig.client(), job2).to_dict()
    assert plan["counts"]["conflict"] == 1 and plan["counts"]["restore"] == len(changes) - 1
    assert [i["sku"] for i in plan["items"] if i["action"] == "conflict"] == [target.sku]

    result = undo(rig, job2)
    assert result["counts"]["restored"] == len(changes) - 1 and result["counts"]["conflicts"] == 1
    assert not result["success"]
    now = snapshot(rig)
    assert now[target.sku]["regular_price"] == "99.99"
    now[target.sku] = after_first[target.sku] = None
    assert now == after_first, "every other field equals the state after the first import"
    assert rig.jobs.get(job2)["undone_by"] == result["job_id"]

    # Undo of the import: nothing of it is left (guarded: it is the whole store; a live store
    # that holds far more than this test's 60 items, e.g. a benchmark's catalogue, is not guarded).
    job1 = first["job_id"]
    with rig.client() as c:
        store_products = int(c.get("products", params={"per_page": 1, "_fields": "id"}).headers.get("X-WP-Total") or 0)
    if not LIVE or 0.2 * (store_products + 24) < 60:  # its 60 items against the store's and its variations
        with pytest.raises(Exception, match="more than 20 %"):
            undo(rig, job1)
    gone = undo(rig, job1, allow_mass_change=True)
    assert gone["counts"]["deleted"] == 60 and gone["counts"]["failed"] == 0
    assert snapshot(rig) == {}
    if not LIVE:
        assert gone["counts"]["attachments_deleted"] == 12
        assert gone["counts"]["terms_deleted"] >= 3  # Shop, Shop > Simple, Shop > Variable, the Size attribute
        with rig.client() as c:
            assert c.get("products/categories", params={"per_page": 100}).data == [] or all(
                t["slug"] == "uncategorized" for t in c.get("products/categories", params={"per_page": 100}).data)
    assert rig.ledger.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 0


def test_undoing_an_undo_puts_the_job_back(rig):
    rows = rig.rows(simple=20, variable=0)
    run(rig, rig.feed(rows))
    changed = [dict(r, price="12.00") if i < 3 else r for i, r in enumerate(rows)]
    second = run(rig, rig.feed(changed, "changed.csv"))
    wanted = snapshot(rig)
    first_undo = undo(rig, second["job_id"])
    assert first_undo["counts"]["restored"] == 3
    assert {s["regular_price"] for s in snapshot(rig).values()} == {"10.00"}
    again = undo(rig, first_undo["job_id"])
    assert again["counts"]["restored"] == 3 and again["success"]
    assert snapshot(rig) == wanted
    assert rig.jobs.get(second["job_id"])["undone_by"] is None
    # ...and the job can be undone again.
    assert undo(rig, second["job_id"])["counts"]["restored"] == 3


@sandbox_only
def test_a_rebuilt_ledger_makes_the_next_import_send_and_download_nothing(rig, sandbox, image_host):
    urls = [f"{image_host.url}/img/r{i}.png" for i in range(8)]
    images = {f"S{i:05d}": [urls[i % 8], urls[(i + 1) % 8]] for i in range(20)}
    images.update({f"V{i:05d}": [urls[i % 8]] for i in range(4)})
    rows = rig.rows(simple=20, variable=4, per_parent=3, images=images)
    feed = rig.feed(rows)
    first = run(rig, feed)
    assert first["images"]["downloaded"] == 8
    rig.ledger.close()
    os.unlink(rig.tmp / "wsync.db")
    rig.ledger = Ledger(rig.tmp / "wsync.db")
    rig.jobs.ledger = rig.ledger
    from wsync.ledger.jobs import JobStore

    rig.jobs = JobStore(rig.ledger)
    with rig.client() as c:
        report = rebuild_ledger(rig.ledger, c)
    assert report["products"] == 24 and report["variations"] == 12 and report["image_urls"] == 8
    downloads = sandbox.stats()["downloads"]["attempted"]
    again, _client = rig.run(feed)
    assert again["created"] == 0 and again["updated"] == 0 and again["variations"]["updated"] == 0
    assert again["requests"]["write"] == 0
    assert sandbox.stats()["downloads"]["attempted"] == downloads


@sandbox_only
def test_kill_9_during_an_undo_then_recover_completes_it_and_restores_nothing_twice(rig, sandbox):
    import signal
    import subprocess
    import sys
    import time

    from wsync.sandbox import LatencyModel

    rows = rig.rows(simple=400, variable=0)
    run(rig, rig.feed(rows))
    changed = [dict(r, price="11.00") if i % 7 == 0 else r for i, r in enumerate(rows)]
    second = run(rig, rig.feed(changed, "changed.csv"))
    total = second["updated"]
    assert total == 58
    rig.ledger.close()
    sandbox.set_latency(LatencyModel(per_request_s=0.05, per_item_update_s=0.03))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WSYNC_")}
    env.update(WSYNC_STORE_URL=sandbox.url, WSYNC_CONSUMER_KEY=sandbox.consumer_key,
               WSYNC_CONSUMER_SECRET=sandbox.consumer_secret, WSYNC_LEDGER=str(rig.tmp / "wsync.db"))

    def wsync(*args: str) -> dict[str, Any]:
        import json

        done = subprocess.run([sys.executable, "-m", "wsync", *args, "--json"], cwd=rig.tmp, env=env,
                              capture_output=True, text=True, timeout=120)
        return json.loads(done.stdout)

    started = wsync("undo", str(second["job_id"]), "--background")
    ledger = Ledger(rig.tmp / "wsync.db")
    deadline = time.monotonic() + 30
    marked = 0
    while time.monotonic() < deadline and marked == 0:
        marked = ledger.conn.execute("SELECT COUNT(*) FROM job_changes WHERE job_id=? AND undone_by IS NOT NULL",
                                     (second["job_id"],)).fetchone()[0]
        time.sleep(0.01)
    os.kill(started["worker_pid"], signal.SIGKILL)
    assert 0 < marked < total, "killed mid-way"
    wsync("recover", "--older-than", "0s", "--foreground")
    status = wsync("status", str(started["job_id"]))["job"]
    assert status["status"] == "completed"
    counts = status["result"]["counts"]
    # The resumed attempt restores only what the first had not marked: an item whose restore
    # landed without its mark is found already restored, never sent again as a restore.
    assert counts["restored"] + counts["already"] == total - marked
    assert counts["conflicts"] == 0 and counts["failed"] == 0
    outcomes = dict(ledger.conn.execute("SELECT outcome, COUNT(*) FROM job_changes WHERE job_id=? GROUP BY outcome",
                                        (second["job_id"],)).fetchall())
    assert sum(outcomes.values()) == total and set(outcomes) <= {"restored", "already"}
    with rig.client() as c:
        prices = {p["regular_price"] for p in c.iter_pages("products", fields=["regular_price"])}
    assert prices == {"10.00"}
    ledger.close()
