"""Human-readable views of jobs: a status summary, the jobs table, a live progress bar."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich import box
from rich.console import Console, JustifyMethod
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from wsync.jobs.report import json_object
from wsync.ledger.jobs import TERMINAL

FOLLOW_INTERVAL_S = 0.5

_STYLE = {"completed": "green", "failed": "red", "cancelled": "yellow", "running": "cyan",
          "processing_stuck": "magenta", "scheduled": "blue"}


def _fmt(value: object) -> str:
    return "-" if value is None else escape(str(value))


def print_summary(console: Console, job: dict[str, Any]) -> None:
    style = _STYLE.get(job["status"], "")
    console.print(f"job {job['id']} ({job['kind']}, feed {_fmt(job['feed'])}): [{style}]{job['status']}[/]"
                  f"  {job['progress']:.1f}%")
    # Products, then variations, each line summing to its processed count; errors count items
    # of every kind (feed records and image errors too), so they are a line of their own.
    console.print(f"  products processed {job['total_processed']}"
                  + (f" of ~{job['estimated_total']}" if job.get("estimated_total") else "")
                  + f": created {job['total_created']}, updated {job['total_updated']},"
                  f" unchanged {job['total_unchanged']}"
                  + (f", skipped {job['total_skipped']}" if job.get("total_skipped") is not None else "")
                  + (f", failed {job['total_failed']}" if job.get("total_failed") is not None else ""))
    variations = job.get("variations")
    if variations and (variations.get("processed") or variations.get("deleted")):
        console.print(f"  variations processed {variations['processed']}: created {variations['created']},"
                      f" updated {variations['updated']}, unchanged {variations['unchanged']},"
                      f" skipped {variations['skipped']}, failed {variations['failed']}"
                      + (f"; {variations['deleted']} stale deleted" if variations.get("deleted") else ""))
    console.print(f"  item errors {job['total_errors']}"
                  + (f" ({job['feed_errors']} feed record(s) refused)" if job.get("feed_errors") else ""))
    console.print(f"  started {_fmt(job['started_at'])}, ended {_fmt(job['completed_at'])}"
                  + (f", {job['duration']:.0f} s" if job.get("duration") is not None else "")
                  + (f", {job['rate_per_min']}/min" if job.get("rate_per_min") else ""))
    limit = job.get("concurrency")
    if isinstance(limit, dict):
        console.print(f"  concurrency {limit.get('mode')}: {limit.get('current')} in flight (peak {limit.get('peak')}, "
                      f"at most {limit.get('ceiling')}), {limit.get('rate')} items/s, "
                      f"{limit.get('backoffs')} back-off(s), {limit.get('overloaded')} overload answer(s)")
    wait = job.get("settling")
    if wait:
        console.print(f"  [yellow]settling[/]: waiting for {wait.get('items')} item(s) of {wait.get('requests')} "
                      f"request(s) that may still be saving on the store, until {_fmt(wait.get('until'))} at the "
                      "latest (nothing is sent twice)")
    if job.get("worker_alive") is False:
        console.print(f"  [red]worker {job['worker_pid']} is gone[/]: `wsync recover` resumes the job")
    result = json_object(job.get("result"))
    if result.get("images_missing"):
        skus = ", ".join((result.get("images_missing_skus") or [])[:10])
        console.print(f"  images missing on {result['images_missing']} item(s): {escape(skus)}"
                      + (" …" if result["images_missing"] > 10 else "") + " (`wsync images status --missing`)")
    for message in job["error_messages"][-5:]:
        console.print(f"  [red]![/] {escape(message)}")
    errors = job.get("errors") or []
    if errors:
        console.print(f"  first item errors ({len(errors)} of {job['total_errors']}):")
        for error in errors:
            console.print(f"    {_fmt(error['sku'])} [{escape(error['stage'])}] {_fmt(error['code'])}: "
                          f"{escape(error['message'])}")


_COUNT_COLUMNS = ("created", "updated", "unchanged", "skipped", "failed")


def result_table(result: dict[str, Any]) -> Table:
    """An import's counts as one table whose rows add up: products and variations each split
    into created / updated / unchanged / skipped / failed, summing to the row's total; images
    on a row of their own (an image failure never makes its product failed)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, title_justify="left",
                  caption_justify="left")
    table.add_column("", no_wrap=True)
    for column in (*_COUNT_COLUMNS, "total", "removed"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_row("products", *(str(int(result.get(k) or 0)) for k in _COUNT_COLUMNS),
                  str(int(result.get("total_processed") or 0)), str(int(result.get("removed") or 0)))
    variations = result.get("variations") or {}
    table.add_row("variations", *(str(int(variations.get(k) or 0)) for k in _COUNT_COLUMNS),
                  str(int(variations.get("processed") or 0)), str(int(variations.get("deleted") or 0)))
    notes = ["total: the row's sum; removed: products that left the feed, stale variations deleted"]
    images = result.get("images")
    if isinstance(images, dict):
        downloaded, reused = int(images.get("downloaded") or 0), int(images.get("reused") or 0)
        table.add_row("images", str(downloaded), "-", str(reused), "-", str(int(images.get("failed_urls") or 0)),
                      str(downloaded + reused), "-")
        notes.append("images: created = downloaded by the store, unchanged = reused by id, total = attached,")
        notes.append("        failed = URLs that failed (an image error, never a failed product)")
        if result.get("image_errors"):
            notes.append(f"{result['image_errors']} saved item(s) have image errors")
    table.caption = "\n".join(notes)
    return table


def _short_time(value: str | None) -> str:
    # "2026-11-23T10:59:53+00:00" -> "11-23 10:59" (UTC): a table cell, not a record
    return "-" if not value else value[5:16].replace("T", " ")


def print_table(console: Console, doc: dict[str, Any]) -> None:
    table = Table(title="wsync jobs", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False)
    # products / new / upd: products processed, created, updated; vars: variations processed;
    # err: item errors of every kind, as `wsync status` counts them.
    table.caption = "products, new, upd: products processed, created, updated; vars: variations; err: item errors"
    table.caption_justify = "left"
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("id", "right"), ("feed", "left"), ("status", "left"), ("%", "right"), ("products", "right"), ("new", "right"),
        ("upd", "right"), ("vars", "right"), ("err", "right"), ("time", "right"), ("/min", "right"),
        ("started", "left"))
    for column, justify in columns:
        table.add_column(column, justify=justify, no_wrap=True)
    for job in doc["jobs"]:
        style = _STYLE.get(job["status"], "")
        feed = _fmt(job["feed"]) + ("" if job["kind"] == "import" else f" ({escape(job['kind'])})")
        variations = job.get("variations")
        undone = f" (undone by {job['undone_by']})" if job.get("undone_by") else ""
        table.add_row(str(job["id"]), feed, f"[{style}]{job['status']}[/]{undone}",
                      f"{job['progress']:.0f}", str(job["total_processed"]), str(job["total_created"]),
                      str(job["total_updated"]), "-" if not variations else str(variations["processed"]),
                      str(job["total_errors"]),
                      "-" if job["duration"] is None else f"{job['duration']:.0f}s",
                      _fmt(job["rate_per_min"]), _short_time(job["started_at"]))
    # On a terminal the table fits the window; piped or redirected, it is never truncated.
    if console.is_terminal:
        console.print(table)
    else:
        needed = console.measure(table, options=console.options.update_width(400)).maximum
        saved = console.width
        console.width = max(saved, needed)  # print() alone clamps to the console's width
        try:
            console.print(table)
        finally:
            console.width = saved
    s = doc["stats"]
    console.print(f"{s['total_jobs']} jobs: {s['scheduled']} scheduled, {s['running']} running, "
                  f"{s['completed']} completed, {s['failed']} failed; products processed "
                  f"{s['total_products_processed']}, created {s['total_products_created']}, "
                  f"updated {s['total_products_updated']}")


def follow(console: Console, poll: Callable[[], dict[str, Any]], interval_s: float | None = None) -> dict[str, Any]:
    """Poll the job until it ends, showing a progress bar; returns the last job document."""
    job = poll()
    columns = (TextColumn("job {task.fields[job_id]} {task.fields[status]}"), BarColumn(),
               TextColumn("{task.percentage:>5.1f}%"),
               TextColumn("{task.fields[processed]} products done, {task.fields[errors]} item errors"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("job", total=100, job_id=job["id"], status=job["status"],
                                 processed=job["total_processed"], errors=job["total_errors"])
        while True:
            progress.update(task, completed=job["progress"], status=job["status"],
                            processed=job["total_processed"], errors=job["total_errors"])
            if job["status"] in TERMINAL:
                break
            time.sleep(interval_s or FOLLOW_INTERVAL_S)
            job = poll()
    return job
