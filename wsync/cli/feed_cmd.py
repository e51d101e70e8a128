"""`wsync feed preview`: what a feed maps to, before anything is sent to the store."""

from __future__ import annotations

import tempfile
import tomllib
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from wsync.cli import common
from wsync.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from wsync.catalogue import FieldUpdate
    from wsync.feeds import FeedSpec, LoadResult

feed_app = typer.Typer(help="Inspect wholesaler feeds.", no_args_is_help=True)


def _feed_tables(config: Path | None) -> tuple[dict[str, dict[str, Any]], Path]:
    """The [feeds.*] tables of the config, read by the config loader."""
    from wsync.config import load_settings

    path = config or Path("wsync.toml")
    if not path.is_file():
        return {}, Path.cwd()
    settings = load_settings(config, require_store=False)
    return dict(settings.feeds), path.resolve().parent


def resolve_spec(target: str, preset: str | None, fmt: str | None) -> FeedSpec:
    from wsync.feeds import FeedSpec

    if preset and fmt:
        raise UsageError("use either --preset or --format, not both")
    tables, base_dir = _feed_tables(common.STATE.config)
    if target in tables:
        if preset or fmt:
            table = dict(tables[target])
            table.pop("mapping", None) if preset else None
            table.update({"preset": preset} if preset else {"format": fmt})
            return FeedSpec.from_config(target, table, base_dir)
        return FeedSpec.from_config(target, tables[target], base_dir)
    looks_like_source = "/" in target or "." in target or target.startswith("http")
    if not looks_like_source:
        known = ", ".join(sorted(tables)) or "none configured"
        raise UsageError(f"no feed named {target!r} and no such file (feeds: {known})")
    return FeedSpec.adhoc(target, preset=preset, format=fmt)


@feed_app.command("preview")
def preview(
    target: str = typer.Argument(..., help="A feed name from wsync.toml, or a file path / URL."),
    preset: str | None = typer.Option(None, "--preset", help="woocommerce-csv, google-merchant or shopify-json."),
    fmt: str | None = typer.Option(None, "--format", help="csv, tsv, json, jsonl, xml or api."),
    limit: int = typer.Option(10, "--limit", min=0, help="How many mapped products to show."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Map a feed and show the first products, the counts and the first errors (nothing is sent)."""
    from wsync.feeds import load_catalogue

    spec = resolve_spec(target, preset, fmt)
    with tempfile.TemporaryDirectory(prefix="wsync-preview-") as spill:
        # Assembled on disk: a preview of a million-row feed holds only the products it shows.
        result = load_catalogue(spec, spill_dir=Path(spill))
        shown = list(islice(result.products, limit))
        close = getattr(result.products, "close", None)
        if close is not None:
            close()
    errors = [{"where": e.where, "field": e.field, "value": e.value, "reason": e.reason} for e in result.errors]
    if result.updates is not None:
        _preview_partial(spec, result, result.updates, limit, errors, as_json)
        return
    if as_json:
        common.emit_json({"success": True, "products": [p.to_dict() for p in shown], "counts": result.counts,
                          "errors": errors[:100], "warnings": result.warnings[:100]})
        return
    table = Table(title=f"{spec.label}: first {len(shown)} of {result.counts['products']} products")
    for column in ("key", "type", "name", "price", "sale", "stock", "variations", "images", "categories"):
        table.add_column(column)
    for p in shown:
        table.add_row(p.key, p.type, p.name[:40], p.regular_price or "", p.sale_price or "",
                      "" if p.stock_quantity is None else str(p.stock_quantity), str(len(p.variations)),
                      str(len(p.images)), "; ".join(" > ".join(c) for c in p.categories)[:40])
    common.out.print(table)
    c = result.counts
    common.out.print(f"{c['products']} products ({c['variable']} variable, {c['variations']} variations), "
                     f"{c['images']} images ({c['distinct_images']} distinct), {c['errors']} errors")
    _print_notes(result)


def _print_notes(result: LoadResult) -> None:
    """The first warnings (stderr) and record errors (stdout) of a preview."""
    for warning in result.warnings[:10]:
        common.err.print(f"warning: {warning}", markup=False)
    for e in result.errors[:20]:
        common.out.print(f"  error: {e}", markup=False)
    if len(result.errors) > 20:
        common.out.print(f"  ... and {len(result.errors) - 20} more errors")


def _preview_partial(spec: FeedSpec, result: LoadResult, updates: list[FieldUpdate], limit: int,
                     errors: list[dict[str, Any]], as_json: bool) -> None:
    """A partial feed's preview (`updates` is the result's): the fields each key sets (no
    products: it never creates any)."""
    shown = updates[:limit]
    if as_json:
        common.emit_json({"success": True, "partial": {"fields": result.partial_fields},
                          "updates": [u.to_dict() for u in shown], "products": [], "counts": result.counts,
                          "errors": errors[:100], "warnings": result.warnings[:100]})
        return
    fields = sorted({k for u in updates for k in u.fields})
    table = Table(title=f"{spec.label}: a partial feed, first {len(shown)} of {len(updates)} updates")
    table.add_column("key")
    for name in fields:
        table.add_column(name)
    for u in shown:
        table.add_row(u.key, *["" if u.fields.get(f) is None else str(u.fields[f]) for f in fields])
    common.out.print(table)
    common.out.print(f"{len(updates)} updates of {', '.join(fields) or 'nothing'} for items the ledger or "
                     f"the store has (a partial feed never creates), {result.counts['errors']} errors")
    _print_notes(result)


@feed_app.command("suggest")
def suggest_cmd(
    source: str = typer.Argument(..., help="A supplier's file (path or URL) to propose a mapping for."),
    join: str | None = typer.Option(None, "--join", help="A second file of the same feed (combinations, "
                                                            "stock): the join is proposed too."),
    name: str | None = typer.Option(None, "--name", help="The feed's name in wsync.toml (default: the "
                                                            "file's name)."),
    rows: int = typer.Option(5000, "--rows", min=10, help="How many records to read for the evidence."),
    write: bool = typer.Option(False, "--write", help="Add the feed to wsync.toml as [feeds.NAME], commented."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Propose a mapping from the file itself: each choice with its evidence and a confidence."""
    from wsync.feeds.suggest import render_toml, suggest_feed

    config = common.STATE.config or Path("wsync.toml")
    result = suggest_feed(source, name=name, join=join, limit=rows, base_dir=config.resolve().parent)
    text = render_toml(result)
    check_table(result.name, text, config.resolve().parent)
    written = None
    if write:
        written = str(append_feed(config, result.name, text))
    if as_json:
        doc = result.to_dict()
        doc["written"] = written
        common.emit_json(doc)
        return
    common.out.print(text, markup=False, end="", soft_wrap=True)
    if written:
        common.err.print(f"added [feeds.{result.name}] to {written}; next: wsync feed preview {result.name}",
                         markup=False)


def check_table(name: str, text: str, base_dir: Path) -> None:
    """What suggest writes loads with wsync's own loader (or it is a bug: nothing is written)."""
    from wsync.feeds import FeedSpec

    try:
        table = tomllib.loads(text)["feeds"][name]
    except (tomllib.TOMLDecodeError, KeyError) as exc:  # pragma: no cover - a bug in the renderer
        raise ConfigError(f"the suggested table does not parse ({exc})", key=f"feeds.{name}") from None
    FeedSpec.from_config(name, table, base_dir)


def append_feed(config: Path, name: str, text: str) -> Path:
    """Add a [feeds.NAME] block to wsync.toml (a new file is created private, 0600)."""
    import os

    if config.exists():
        current = config.read_text(encoding="utf-8")
        try:
            feeds = tomllib.loads(current).get("feeds", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML ({exc}); nothing written", path=str(config)) from None
        if name in feeds:
            raise UsageError(f"{config} already has [feeds.{name}]; nothing written",
                             hint="pass --name to add it under another name")
        joined = current.rstrip("\n") + "\n\n" + text
        tomllib.loads(joined)
        with open(config, "a", encoding="utf-8") as fh:
            fh.write(("\n" if current.endswith("\n") else "\n\n") + text)
        return config.resolve()
    config.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("# wsync configuration (`wsync init` writes a commented starter with [store]).\n\n" + text)
    return config.resolve()


def register(app: typer.Typer) -> None:
    app.add_typer(feed_app, name="feed")
