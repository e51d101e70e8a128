"""WooCommerce itself as the proof: import one WooCommerce CSV with WooCommerce's own importer and
with wsync, each into a freshly reset real store, read both back through the REST API, and
compare product by product.

    python benchmarks/compare_wc_import.py --store-dir ../realstore FILE.csv [--images-to URL] [--json]

`--store-dir` is a store made by the realstore kit (its credentials.env, reset-store.sh and
bench/run_csv.py, the timed in-process run of WooCommerce's importer). `--images-to` rewrites
every image URL of the file to `URL/img/NNNN.jpg` (the kit's image server) first, since a test
store reaches no other host; both importers then get the same file. Products are matched by
SKU (by name where there is none); variations by their attributes. The fields compared are the
ones a merchant sees: type, status, SKU, prices, stock, categories, tags, attributes, variations,
image count, grouped members, upsells and cross-sells (by SKU), detail fields and meta. The
report lists every difference; the exit code is 0 when there is none.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import requests

from wsync.feeds.presets.woocommerce_columns import resolve

FIELDS = ("type", "status", "featured", "catalog_visibility", "regular_price", "sale_price", "tax_status",
          "tax_class", "manage_stock", "stock_quantity", "stock_status", "backorders", "low_stock_amount",
          "sold_individually", "weight", "reviews_allowed", "menu_order", "virtual", "downloadable",
          "download_limit", "download_expiry", "external_url", "button_text", "shipping_class",
          "date_on_sale_from", "date_on_sale_to", "description", "short_description", "purchase_note")
VARIATION_FIELDS = ("status", "regular_price", "sale_price", "manage_stock", "stock_quantity", "stock_status",
                    "backorders", "weight", "virtual", "downloadable", "tax_class", "description")


def credentials(store_dir: Path) -> dict[str, str]:
    env = {}
    for line in (store_dir / "credentials.env").read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            env[key] = shlex.split(value)[0] if value else ""
    return env


def set_option(env: dict[str, str], name: str, value: str | None) -> str | None:
    """Set a WordPress option in the store's database (None deletes it); returns the value it had."""
    table = env.get("DB_PREFIX", "wp_") + "options"
    db = shlex.split(env["DB"])

    def sql(statement: str, *args: str) -> str:
        quoted = [a.replace("\\", "\\\\").replace("'", "\\'") for a in args]
        return subprocess.run([*db, "-N", "-e", statement.format(*quoted)], check=True, capture_output=True,
                              text=True).stdout.strip()

    found = sql(f"SELECT CONCAT('=', option_value) FROM {table} WHERE option_name='{{0}}'", name)
    old = found[1:] if found.startswith("=") else None
    if value is None:
        sql(f"DELETE FROM {table} WHERE option_name='{{0}}'", name)
    else:
        sql(f"INSERT INTO {table} (option_name, option_value, autoload) VALUES ('{{0}}', '{{1}}', 'yes') "
            f"ON DUPLICATE KEY UPDATE option_value='{{1}}'", name, value)
    return old


def rewrite_images(src: Path, base: str, out: Path) -> None:
    """Every distinct image URL of the file becomes one of the kit's images, the same one each time."""
    with src.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    # The images column under its name in the file's language, as wsync reads it.
    column = resolve(header).by_field.get("images")
    image_cols = [header.index(column)] if column else []
    mapping: dict[str, str] = {}
    for row in rows[1:]:
        for i in image_cols[:1]:
            if i < len(row) and row[i].strip():
                urls = [u.strip() for u in row[i].split(",") if u.strip()]
                row[i] = ", ".join(mapping.setdefault(u, f"{base}/img/{len(mapping) + 1:04d}.jpg") for u in urls)
    with out.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


def snapshot(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every product as a merchant would compare it, keyed by SKU (or name)."""
    session = requests.Session()
    session.auth = (env["CK"], env["CS"])
    session.verify = env["CA_BUNDLE"]
    base = env["HTTPS_URL"] + "/wp-json/wc/v3/"

    def pages(path: str) -> list[dict[str, Any]]:
        out, page = [], 1
        while True:
            resp = session.get(base + path, params={"per_page": 100, "page": page, "orderby": "id", "order": "asc",
                                                    "context": "edit"}, timeout=60, verify=env["CA_BUNDLE"])
            resp.raise_for_status()
            out += resp.json()
            if page >= int(resp.headers.get("X-WP-TotalPages", "1")):
                return out
            page += 1

    products = [p for p in pages("products") if p["status"] != "importing"]
    sku_of = {p["id"]: p["sku"] or f"name:{p['name']}" for p in products}
    out = {}
    for p in products:
        doc = {f: p.get(f) for f in FIELDS}
        if not p.get("downloadable"):
            # Meaningless without files: the importer writes 0 from a blank cell, the store's default is -1.
            doc.pop("download_limit"), doc.pop("download_expiry")
        doc["sku"] = p["sku"]
        doc["name"] = p["name"]
        doc["categories"] = sorted(c["name"] for c in p["categories"])
        doc["tags"] = sorted(t["name"] for t in p["tags"])
        doc["images"] = len(p["images"])
        doc["attributes"] = sorted((a["name"], sorted(a["options"]), a["visible"], a["variation"])
                                   for a in p["attributes"])
        doc["default_attributes"] = sorted((a["name"], a["option"].lower()) for a in p["default_attributes"])
        for key in ("grouped_products", "upsell_ids", "cross_sell_ids"):
            doc[key] = sorted(sku_of.get(i, f"id:{i}") for i in p[key])
        doc["downloads"] = sorted((d["name"], d["file"]) for d in p["downloads"])
        doc["meta"] = sorted((m["key"], str(m["value"])) for m in p["meta_data"] if not m["key"].startswith("_wsync"))
        if p["type"] == "variable":
            doc["variations"] = {
                json.dumps(sorted((a["name"], a["option"].lower()) for a in v["attributes"])):
                    {**{f: v.get(f) for f in VARIATION_FIELDS}, "image": bool(v.get("image")),
                     "own_sku": v["sku"] if v["sku"] != p["sku"] else ""}
                for v in pages(f"products/{p['id']}/variations")}
        out[p["sku"] or f"name:{p['name']}"] = doc
    return out


def differences(theirs: dict[str, Any], ours: dict[str, Any], where: str = "") -> list[str]:
    out = []
    for key in sorted(set(theirs) | set(ours)):
        a, b = theirs.get(key, "<absent>"), ours.get(key, "<absent>")
        if isinstance(a, dict) and isinstance(b, dict):
            out += differences(a, b, f"{where}{key} / ")
        elif _normal(a) != _normal(b):
            out.append(f"{where}{key}: WooCommerce {a!r}, wsync {b!r}")
    return out


def _normal(value: Any) -> Any:
    # A description's paragraphs come back as the store formats them; compare the text. Prices
    # and measures compare as numbers: wsync writes two places ("20.00"), the importer as given ("20").
    if isinstance(value, str):
        text = value.replace("<p>", "").replace("</p>", "").strip()
        try:
            return Decimal(text) if text and text.replace(".", "", 1).isdigit() else text
        except InvalidOperation:
            return text
    return value


def run_wsync(env: dict[str, str], csv_path: Path, workdir: Path) -> dict[str, Any]:
    wsync = [sys.executable, "-m", "wsync"] if not os.environ.get("WSYNC_BIN") else [os.environ["WSYNC_BIN"]]
    run_env = {**os.environ, "WSYNC_STORE_URL": env["HTTPS_URL"], "WSYNC_CONSUMER_KEY": env["CK"],
               "WSYNC_CONSUMER_SECRET": env["CS"], "REQUESTS_CA_BUNDLE": env["CA_BUNDLE"]}
    started = time.monotonic()
    proc = subprocess.run([*wsync, "import", str(csv_path), "--preset", "woocommerce-csv", "--json"], cwd=workdir,
                          env=run_env, capture_output=True, text=True)
    doc = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {"stdout": proc.stdout[-2000:]}
    doc["wall_s"] = round(time.monotonic() - started, 1)
    doc["exit"] = proc.returncode
    if proc.returncode not in (0, 1):
        doc["stderr"] = proc.stderr[-2000:]
    return doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv", type=Path)
    ap.add_argument("--store-dir", type=Path, required=True)
    ap.add_argument("--images-to", help="rewrite image URLs to this image server (the kit's IMG_BASE)")
    ap.add_argument("--kit", type=Path, help="the realstore kit's folder (default: ../shared/realstore beside the "
                                             "project)")
    ap.add_argument("--site-language", help="the store's language while WooCommerce's importer runs (e.g. fr_FR): "
                                            "it maps English column names and those of the site's language only")
    ap.add_argument("--decimal-separator", help="the store's price decimal separator while WooCommerce's importer "
                                                "runs (its importer reads prices with it)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    store = a.store_dir.resolve()
    env = credentials(store)
    kit = (a.kit or Path(__file__).resolve().parents[2] / "shared" / "realstore").resolve()
    with tempfile.TemporaryDirectory(prefix="wsync-compare-") as tmp:
        work = Path(tmp)
        source = a.csv.resolve()
        if a.images_to:
            rewrite_images(source, a.images_to.rstrip("/"), work / source.name)
            source = work / source.name
        settings = {"WPLANG": a.site_language, "woocommerce_price_decimal_sep": a.decimal_separator}
        before = {name: set_option(env, name, value) for name, value in settings.items() if value}
        try:
            wc = subprocess.run([sys.executable, str(kit / "bench" / "run_csv.py"), "--dir", str(store), str(source),
                                 "--reset", "--label", "compare"], capture_output=True, text=True)
        finally:
            for name, value in before.items():
                set_option(env, name, value)
        wc_run = json.loads(wc.stdout.strip().splitlines()[-1]) if wc.returncode == 0 else {"error": wc.stderr[-2000:]}
        theirs = snapshot(env)
        subprocess.run([str(store / "reset-store.sh")], check=True, capture_output=True)
        ours_run = run_wsync(env, source, work)
        ours = snapshot(env)
    found = differences(theirs, ours)
    report = {"file": str(a.csv), "products": {"woocommerce": len(theirs), "wsync": len(ours)},
              "variations": {"woocommerce": sum(len(p.get("variations", {})) for p in theirs.values()),
                             "wsync": sum(len(p.get("variations", {})) for p in ours.values())},
              "woocommerce_run": {k: wc_run.get(k) for k in ("wall_s", "import_s", "imported", "failed", "errors")
                                  if k in wc_run} or wc_run,
              "wsync_run": {k: ours_run.get(k) for k in ("exit", "wall_s", "created", "failed", "message", "stderr")
                            if k in ours_run},
              "differences": found}
    if a.json:
        print(json.dumps(report, indent=1))
    else:
        print(f"{report['file']}: WooCommerce {report['products']['woocommerce']} products / "
              f"{report['variations']['woocommerce']} variations, wsync {report['products']['wsync']} / "
              f"{report['variations']['wsync']}; {len(found)} difference(s)")
        for line in found:
            print("  " + line)
    return 0 if not found else 1


if __name__ == "__main__":
    sys.exit(main())
