"""`wsync init`, `wsync config show` and `wsync check`."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from wsync.cli import common
from wsync.config import CONFIG_NAME, effective_values, load_settings
from wsync.errors import UsageError
from wsync.redact import redact
from wsync.store.check import EXIT_CODES, run_check

STARTER = '''\
# wsync configuration. Keep this file private (chmod 600): it can hold the store's keys.
# Keys may also come from the environment instead: WSYNC_STORE_URL, WSYNC_CONSUMER_KEY,
# WSYNC_CONSUMER_SECRET (they override this file).

[store]
url = "https://shop.example.com"          # the WordPress site root, not /wp-json
consumer_key = "ck_..."                    # WooCommerce > Settings > Advanced > REST API (Read/Write)
consumer_secret = "cs_..."
# auth = "auto"          # auto: Basic over https, OAuth 1.0a over http; "query" if the host strips Authorization
# verify_tls = true
# allow_insecure_http = false   # plain http is refused except to localhost
# connect_timeout = 10
# read_timeout = 120
# max_request_s = 300    # the longest a request may run on the store, even after wsync gave up on it:
#                        # a write left unanswered is not sent again before it could still land
# max_attempts = 5
# max_retry_wait_s = 120
# concurrency = 2

# ledger = "wsync.db"     # job history and sku->id map, beside this file by default

[import]
# products_per_batch = 50     # at most 100
# variations_per_batch = 25   # at most 100
# variations_across_parents = true  # one request may hold several parents' variations
# images_per_batch = 5
# process_images = true
# update_existing = true
# create_new = true
# missing = "keep"            # keep | outofstock | draft | trash: products no longer in the feed
# stale_variations = "delete" # delete | keep
# allow_mass_change = false

# One table per feed. The mapping keys are documented in docs/feeds.md.
[feeds.example]
source = "https://supplier.example.com/export/products.csv"
format = "csv"

[feeds.example.mapping]
sku = "Article number"
name = "Title"
regular_price = "Price"
images = "Image URLs"
'''

STARTER_FEEDS = "# One table per feed. The mapping keys are documented in docs/feeds.md.\n"
assert STARTER_FEEDS in STARTER

CHECK_HELP = ("Connect to the store, check the keys can read and write, and report versions, permalinks "
              "and round-trip time.\n\nExit codes:\n\n" + "\n\n".join(f"{code}: {text}" for code, text in
                                                                  EXIT_CODES.values()))


def register(app: typer.Typer) -> None:
    config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
    app.add_typer(config_app, name="config")

    @app.command("init")
    def init(
        force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
        path: Path = typer.Option(Path(CONFIG_NAME), "--path", help="Where to write the file."),
        feed: str | None = typer.Option(None, "--feed", help="A supplier's file: its feed table is proposed "
                                                                "from the file (`wsync feed suggest`)."),
        join: str | None = typer.Option(None, "--join", help="With --feed: its second file."),
        json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Write a commented starter wsync.toml (created private, mode 0600)."""
        if path.exists() and not force:
            raise UsageError(f"{path} already exists; nothing written", hint="pass --force to overwrite it")
        text = STARTER
        feed_name = None
        if feed:
            from wsync.cli.feed_cmd import check_table
            from wsync.feeds.suggest import render_toml, suggest_feed

            result = suggest_feed(feed, join=join, base_dir=path.resolve().parent)
            block = render_toml(result)
            check_table(result.name, block, path.resolve().parent)
            text = STARTER[: STARTER.index(STARTER_FEEDS)] + STARTER_FEEDS + block
            feed_name = result.name
        elif join:
            raise UsageError("--join goes with --feed")
        path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(path, 0o600)  # an existing file overwritten with --force keeps no looser mode
        if json_out:
            common.emit_json({"success": True, "path": str(path.resolve()), "feed": feed_name})
        else:
            common.out.print(f"wrote {path} — edit [store] url and keys, then run `wsync check`"
                             + (f" and `wsync feed preview {feed_name}`" if feed_name else ""), markup=False)

    @config_app.command("show")
    def show(json_out: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
        """Print the effective configuration (secrets masked) and where each value came from."""
        settings = load_settings(common.STATE.config, require_store=False)
        values = effective_values(settings)
        feeds = sorted(settings.feeds)
        doc = {"config_file": str(settings.path) if settings.path else None, "values": values, "feeds": feeds}
        if json_out:
            common.emit_json(doc)
            return
        common.out.print(f"config file: {doc['config_file'] or '(none: defaults and environment)'}")
        width = max(len(k) for k in values)
        for key, item in values.items():
            common.out.print(redact(f"{key:<{width}} = {_show(item['value'])}  ({item['source']})"), markup=False)
        common.out.print(f"feeds: {', '.join(feeds) or '(none)'}", markup=False)

    @app.command("check", help=CHECK_HELP)
    def check(json_out: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
        settings = load_settings(common.STATE.config)
        store = settings.store
        assert store is not None  # require_store=True
        if common.STATE.insecure:
            store = store.with_changes(verify_tls=False)
        report = run_check(store)
        if json_out:
            common.emit_json(report.as_dict())
        else:
            for step in report.steps:
                mark = "ok " if step["ok"] else "-- "
                common.out.print(f"{mark} {step['step']}: {step['detail']}", markup=False)
            if report.ok:
                common.out.print(f"ok: {report.message}", markup=False)
            else:
                common.err.print(f"error: {report.message}", markup=False)
                if report.hint:
                    common.err.print(f"  hint: {report.hint}", markup=False)
        raise typer.Exit(report.exit_code)


def _show(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
