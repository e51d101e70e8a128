"""The undo / rebuild proof on a real test store (the realstore kit): every step through the wsync CLI,
the store read back through its REST API (and its database for attachments and terms), one JSON line
per step on stdout. RESETS THE STORE. Run with the kit's python, its credentials.env sourced and
exported (HTTPS_URL CK CS CA_BUNDLE WP_ADMIN_USER WP_APP_PASSWORD DB):

    WSYNC_PROOF_STORE=../realstore WSYNC_PROOF_DIR=/tmp/undo-proof ../realstore/venv/bin/python \
        benchmarks/real_store_undo.py [undo|rebuild|all]
"""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

STORE_DIR = Path(os.environ.get("WSYNC_PROOF_STORE", "../realstore")).resolve()
W = Path(os.environ.get("WSYNC_PROOF_DIR", "/tmp/wsync-undo-proof")).resolve()
W.mkdir(parents=True, exist_ok=True)
WSYNC = [str(Path(__file__).resolve().parent.parent / ".venv" / "bin" / "wsync")]
ENV = dict(os.environ)
ENV.update(WSYNC_STORE_URL=ENV["HTTPS_URL"], WSYNC_CONSUMER_KEY=ENV["CK"], WSYNC_CONSUMER_SECRET=ENV["CS"],
           REQUESTS_CA_BUNDLE=ENV["CA_BUNDLE"], WSYNC_LEDGER=str(W / "wsync.db"),
           WSYNC_WP_USER=ENV["WP_ADMIN_USER"], WSYNC_WP_APP_PASSWORD=ENV["WP_APP_PASSWORD"])
CAT = STORE_DIR / "bench" / "catalogue_img.csv"
FEED = W / "catalogue.csv"  # one feed: the mistaken file arrives under the same name
os.environ["REQUESTS_CA_BUNDLE"] = ENV["CA_BUNDLE"]  # the environment wins over a session setting
S = requests.Session()
S.auth = (ENV["CK"], ENV["CS"])
S.verify = ENV["CA_BUNDLE"]
API = ENV["HTTPS_URL"] + "/wp-json/wc/v3/"
VOLATILE = {"related_ids", "date_modified", "date_modified_gmt", "_links", "price_html", "price", "on_sale",
            "purchasable"}


def say(**doc):
    print(json.dumps(doc), flush=True)


def wsync(*args, check=True):
    t = time.time()
    p = subprocess.run(WSYNC + list(args), env=ENV, cwd=W, capture_output=True, text=True)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        doc = {"stdout": p.stdout[-2000:]}
    doc["_exit"], doc["_wall_s"] = p.returncode, round(time.time() - t, 1)
    if check and p.returncode not in (0, 1):
        print(p.stderr[-3000:], file=sys.stderr)
    return doc


def pages(path, **params):
    page = 1
    while True:
        r = S.get(API + path, params={"per_page": 100, "page": page, "orderby": "id", "order": "asc", **params})
        r.raise_for_status()
        yield from r.json()
        if page >= int(r.headers.get("X-WP-TotalPages") or 1):
            return
        page += 1


def clean(o):
    d = {k: v for k, v in o.items() if k not in VOLATILE}
    d["meta_data"] = sorted((m["key"], json.dumps(m["value"])) for m in d.get("meta_data") or [])
    d["images"] = [i["id"] for i in d.get("images") or []]
    if isinstance(d.get("image"), dict):
        d["image"] = d["image"]["id"]
    return d


def snapshot():
    out = {}
    for p in pages("products", context="edit"):
        out[p["sku"] or f"#{p['id']}"] = clean(p)
        if p["type"] == "variable":
            for v in pages(f"products/{p['id']}/variations", context="edit"):
                out[v["sku"] or f"#{v['id']}"] = clean(v)
    return out


def db(sql):
    return subprocess.run([*ENV["DB"].split(), "-N", "-e", sql], capture_output=True, text=True).stdout.strip()


def store_counts():
    return {"store_products": db("SELECT COUNT(*) FROM wp_posts WHERE post_type='product'"),
            "store_variations": db("SELECT COUNT(*) FROM wp_posts WHERE post_type='product_variation'"),
            "attachments": db("SELECT COUNT(*) FROM wp_posts WHERE post_type='attachment'"),
            "attachment_files": db("SELECT COUNT(DISTINCT meta_value) FROM wp_postmeta"
                                   " WHERE meta_key='_wp_attached_file'"),
            "product_cat": db("SELECT COUNT(*) FROM wp_term_taxonomy WHERE taxonomy='product_cat'"),
            "pa_terms": db("SELECT COUNT(*) FROM wp_term_taxonomy WHERE taxonomy LIKE 'pa\\_%'"),
            "attributes": db("SELECT COUNT(*) FROM wp_woocommerce_attribute_taxonomies")}


def ledger(sql):
    import sqlite3
    conn = sqlite3.connect(str(W / "wsync.db"), timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def changed_catalogue(path):
    rows = list(csv.DictReader(CAT.open(encoding="utf-8-sig")))
    priced = [r for r in rows if r["Regular price"]]
    stocked = [r for r in rows if r["Stock"]]
    for i, r in enumerate(priced):
        if i % 10 == 0:
            r["Regular price"] = f"{float(r['Regular price']) * 100:.2f}"  # the supplier file in cents
    for i, r in enumerate(stocked):
        if i % 20 == 0:
            r["Stock"] = "0"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    return len(priced) // 10 + (1 if len(priced) % 10 else 0), len(stocked) // 20 + (1 if len(stocked) % 20 else 0)


def main():
    step = sys.argv[1] if len(sys.argv) > 1 else "all"
    if step == "cont":
        r1 = ledger("SELECT result FROM background_jobs WHERE id=1")[0][0]
        r1 = dict(json.loads(r1), _exit=0, _wall_s=None)
        step = "undo-cont"
    if step in ("all", "undo"):
        subprocess.run([str(STORE_DIR / "reset-store.sh")], check=True, capture_output=True)
        if (W / "wsync.db").exists():
            os.unlink(W / "wsync.db")
        say(step="empty store", **store_counts())
        FEED.write_bytes(CAT.read_bytes())
        r1 = wsync("import", str(FEED), "--preset", "woocommerce-csv", "--json")
    if step in ("all", "undo", "undo-cont"):
        say(step="import 1", exit=r1["_exit"], wall_s=r1["_wall_s"], created=r1.get("created"),
            variations=r1.get("variations"), images=r1.get("images"), requests=r1.get("requests"), **store_counts())
        after_first = snapshot()
        json.dump(after_first, (W / "after_first.json").open("w"))
        prices, stock = changed_catalogue(FEED)
        r2 = wsync("import", str(FEED), "--preset", "woocommerce-csv", "--json")
        say(step="import 2 (10 % prices x100, 5 % stock 0)", exit=r2["_exit"], wall_s=r2["_wall_s"],
            updated=r2.get("updated"), variations=r2.get("variations"), requests=r2.get("requests"),
            price_rows=prices, stock_rows=stock)
        # The mistaken file was imported as an ad-hoc source: its own feed name. A conflicting edit:
        plan = wsync("undo", str(r2["job_id"]), "--dry-run", "--json")
        victim = next(i for i in plan["items"] if i["action"] == "restore" and i["kind"] == "product"
                      and "regular_price" in i.get("fields", []))
        S.put(API + f"products/{victim['id']}", json={"regular_price": "1.23"}).raise_for_status()
        plan = wsync("undo", str(r2["job_id"]), "--dry-run", "--json")
        say(step="undo 2 plan", counts=plan["counts"], store_items=plan["store_items"], conflict_sku=victim["sku"])
        # The undo in a background worker, killed -9 mid-way, then recovered.
        bg = wsync("undo", str(r2["job_id"]), "--background", "--json")
        undo_id = bg["job_id"]
        deadline = time.time() + 120
        while time.time() < deadline:
            done = ledger(f"SELECT COUNT(*) FROM job_changes WHERE job_id={r2['job_id']} AND undone_by={undo_id}")[0][0]
            if done >= 60:
                break
            time.sleep(0.2)
        os.kill(bg["worker_pid"], signal.SIGKILL)
        say(step="undo 2 killed -9", marked_before_kill=done, worker_pid=bg["worker_pid"])
        time.sleep(1)
        rec = wsync("recover", "--older-than", "0s", "--foreground", "--json")
        st = wsync("status", str(undo_id), "--json")
        result = (st.get("job") or {}).get("result") or {}
        say(step="undo 2 recovered", recover_exit=rec["_exit"], status=(st.get("job") or {}).get("status"),
            counts=result.get("counts"), attempts=(st.get("job") or {}).get("attempts"))
        now = snapshot()
        diff = sorted(k for k in set(now) | set(after_first) if now.get(k) != after_first.get(k))
        fields = {k: sorted(f for f in set(now[k]) | set(after_first[k]) if now[k].get(f) != after_first[k].get(f))
                  for k in diff if k in now and k in after_first}
        say(step="store after undo 2 vs after import 1", items=len(now), differing_items=diff, differing_fields=fields,
            conflict_left=now.get(victim["sku"], {}).get("regular_price"))
        rows = ledger(f"SELECT outcome, COUNT(*) FROM job_changes WHERE job_id={r2['job_id']} GROUP BY outcome")
        say(step="undo 2 outcomes in the ledger", rows=[list(r) for r in rows])
        r1u = wsync("undo", str(r1["job_id"]), "--allow-mass-change", "--json")
        say(step="undo 1", exit=r1u["_exit"], wall_s=r1u["_wall_s"], counts=r1u.get("counts"),
            requests=r1u.get("requests"), **store_counts())
        jobs = wsync("jobs", "--json")
        say(step="jobs", jobs=[{k: j.get(k) for k in ("id", "kind", "status", "undone_by")}
                               for j in jobs.get("jobs", [])])
    if step in ("all", "rebuild"):
        subprocess.run([str(STORE_DIR / "reset-store.sh")], check=True, capture_output=True)
        if (W / "wsync.db").exists():
            os.unlink(W / "wsync.db")
        FEED.write_bytes(CAT.read_bytes())
        r1 = wsync("import", str(FEED), "--preset", "woocommerce-csv", "--json")
        before = store_counts()
        say(step="rebuild: import", exit=r1["_exit"], wall_s=r1["_wall_s"], images=r1.get("images"), **before)
        os.unlink(W / "wsync.db")
        rb = wsync("ledger", "rebuild", "--json")
        say(step="ledger rebuild", **{k: rb.get(k) for k in ("products", "variations", "image_urls", "pages",
                                                           "requests", "duration_s", "_exit")})
        r2 = wsync("import", str(FEED), "--preset", "woocommerce-csv", "--json")
        say(step="re-import with the rebuilt ledger", exit=r2["_exit"], wall_s=r2["_wall_s"], created=r2.get("created"),
            updated=r2.get("updated"), unchanged=r2.get("unchanged"), variations=r2.get("variations"),
            images=r2.get("images"), requests=r2.get("requests"), **store_counts())


main()
