"""`wsync undo JOB` and `wsync ledger backup|rebuild`: the work is in wsync.sync.undo / rebuild."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from wsync.cli import common
from wsync.cli.common import CONCURRENCY_HELP
from wsync.errors import EXIT_ITEM_ERRORS, EXIT_OK, UsageError
from wsync.sync.options import parse_concurrency

ledger_app = typer.Typer(help="Back the ledger up, or rebuild it from the store.", no_args_is_help=True)


def _settings_and_ledger(ledger: Path | None, require_store: bool = True) -> tuple[Any, Any]:
    from wsync.cli.sync_cmd import load_settings
    from wsync.ledger import Ledger

    settings = load_settings(require_store=require_store)
    path = ledger or Path(settings.ledger_path)
    return settings, Ledger(path)


def register(app: typer.Typer) -> None:
    @app.command("undo")
    def undo_cmd(
        job: int = typer.Argument(..., help="The job to undo (an import, an images job, or an undo)."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Plan only: per SKU what would be restored or deleted."),
        trash: bool = typer.Option(False, "--trash",
                                   help="Trash the products the job created instead of deleting them."),
        force: bool = typer.Option(False, "--force", help="Restore fields changed on the store since the job, too."),
        allow_mass_change: bool = typer.Option(False, "--allow-mass-change",
                                               help="Allow an undo that touches more than 20 % of the store."),
        background: bool = typer.Option(False, "--background", help="Run in a detached worker; print the job id."),
        concurrency: str | None = typer.Option(None, "--concurrency", help=CONCURRENCY_HELP),
        ledger: Path | None = typer.Option(None, "--ledger", help="Ledger file (default: from wsync.toml)."),
        as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout."),
    ) -> None:
        """Put back what a job changed and delete what it created (plan first with --dry-run)."""
        from wsync.sync.engine import make_client
        from wsync.sync.undo import plan_undo, schedule_undo

        settings, led = _settings_and_ledger(ledger)
        options = {"trash": trash, "force": force, "allow_mass_change": allow_mass_change,
                   "concurrency": parse_concurrency(concurrency or "auto")}
        if dry_run:
            client = make_client(settings)
            try:
                doc = plan_undo(led, client, job, force=force, trash=trash).to_dict()
            finally:
                client.close()
            doc["dry_run"] = True
            if as_json:
                common.emit_json(doc)
            else:
                _render_plan(doc)
            raise typer.Exit(EXIT_OK)
        job_id = schedule_undo(led, job, options)
        if background:
            from wsync.jobs.detached import start_detached_worker

            pid = start_detached_worker(common.STATE.config or getattr(settings, "path", None), led.path, job_id)
            doc = {"success": True, "job_id": job_id, "target": job, "scheduled": True, "worker_pid": pid,
                   "message": f"undo of job {job} scheduled as job {job_id}"}
            common.emit_json(doc) if as_json else common.out.print(
                f"{doc['message']}: follow it with `wsync status {job_id} --follow`")
            raise typer.Exit(EXIT_OK)
        raise typer.Exit(_run_foreground(led, settings, job_id, as_json))

    @ledger_app.command("backup")
    def backup_cmd(
        target: Path = typer.Argument(..., help="Where to write the copy."),
        ledger: Path | None = typer.Option(None, "--ledger", help="Ledger file (default: from wsync.toml)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """A consistent copy of the live ledger (SQLite's backup API: safe while a worker writes)."""
        _settings, led = _settings_and_ledger(ledger, require_store=False)
        if not led.path.exists():
            raise UsageError(f"no ledger at {led.path}")
        pages = led.backup(target)
        size = target.stat().st_size
        doc = {"success": True, "ledger": str(led.path), "backup": str(target), "pages": pages, "bytes": size,
               "schema_version": led.schema_version}
        common.emit_json(doc) if as_json else common.out.print(
            f"ledger {led.path} copied to {target} ({size} bytes, schema {led.schema_version})", markup=False)

    @ledger_app.command("rebuild")
    def rebuild_cmd(
        restart: bool = typer.Option(False, "--restart",
                                     help="Start from the first page, not where the last run stopped."),
        ledger: Path | None = typer.Option(None, "--ledger", help="Ledger file (default: from wsync.toml)."),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Rebuild SKU -> id, URL -> attachment and the pushed state from what the store carries."""
        from wsync.sync.engine import make_client
        from wsync.sync.rebuild import rebuild_ledger

        settings, led = _settings_and_ledger(ledger)
        client = make_client(settings)
        try:
            doc = rebuild_ledger(led, client, restart=restart,
                                 progress=None if as_json else (lambda msg: common.err.print(msg, markup=False)))
        finally:
            client.close()
        if as_json:
            common.emit_json(doc)
        else:
            common.out.print(doc["message"], markup=False)
        raise typer.Exit(EXIT_OK if doc["success"] else EXIT_ITEM_ERRORS)

    app.add_typer(ledger_app, name="ledger")


def _run_foreground(led: Any, settings: Any, job_id: int, as_json: bool) -> int:
    from wsync.cli.sync_cmd import _FAILED_EXIT
    from wsync.jobs.runner import run_here
    from wsync.ledger.jobs import JobStore

    jobs = JobStore(led)
    row = run_here(jobs, job_id, settings)
    result = row.get("result") or {}
    if row.get("status") == "failed":
        code = _FAILED_EXIT.get(result.get("error_type", ""), EXIT_ITEM_ERRORS)
        message = result.get("error") or "the undo failed"
        if as_json:
            common.emit_json({"success": False, "message": message, "job_id": job_id,
                              "error": result.get("error_type"), "exit_code": code})
        common.err.print(f"error: {message}", markup=False)
        return code
    if as_json:
        common.emit_json(result)
    else:
        common.out.print(result.get("message", ""), markup=False)
        for item in result.get("conflicts", [])[:20]:
            common.out.print(f"  conflict {item['kind']:9} {item.get('sku') or item.get('key')}: {item.get('reason')}",
                             markup=False)
        common.out.print(f"undo job {job_id}", markup=False)
    return EXIT_OK if result.get("success") else EXIT_ITEM_ERRORS


def _render_plan(doc: dict[str, Any]) -> None:
    c = doc["counts"]
    common.out.print(f"undo plan for job {doc['target']}: restore {c['restore']}, delete {c['delete'] + c['trash']}, "
                     f"conflict {c['conflict']}, already {c['already']}, gone {c['gone']}; terms {c['terms']}, "
                     f"attachments {c['attachments']}", markup=False)
    shown = [i for i in doc["items"] if i["action"] in ("restore", "conflict", "delete", "trash")]
    for item in shown[:50]:
        fields = f" ({', '.join(item['fields'])})" if item.get("fields") else ""
        note = f": {item['reason']}" if item["action"] == "conflict" else ""
        common.out.print(f"  {item['action']:8} {item['kind']:9} {item.get('sku') or item.get('key')}{fields}{note}",
                         markup=False)
    if len(shown) > 50:
        common.out.print(f"  … and {len(shown) - 50} more (use --json for all)")
    if doc.get("mass_change"):
        common.out.print(f"  touches more than 20 % of the store's {doc['store_items']} items: "
                         "needs --allow-mass-change", markup=False)
