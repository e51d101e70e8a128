"""The `wsync` command line: a thin layer that parses options and renders results.

Each area registers its commands from its own module; `main()` turns every WsyncError into a
clear message (and a JSON error document under --json) with a stable exit code, never a traceback.
"""

from __future__ import annotations

import gc
import sys
import traceback
from pathlib import Path
from typing import Any

import typer

try:  # Recent Typer carries its own copy of click; its exceptions come from there.
    from typer._click.exceptions import ClickException as _ClickException
    _EXIT: tuple[type[BaseException], ...] = (typer.Exit,)
    _ABORT: tuple[type[BaseException], ...] = (typer.Abort,)
except ImportError:  # pragma: no cover - Typer on top of click
    import click

    # The same exception, from the package this Typer is built on: mypy sees another class.
    _ClickException = click.ClickException  # type: ignore[misc,assignment]
    _EXIT = (typer.Exit, click.exceptions.Exit)
    _ABORT = (typer.Abort, click.exceptions.Abort)

from wsync import __version__
from wsync.cli import common
from wsync.errors import EXIT_USAGE, WsyncError
from wsync.redact import redact


def _flags_without_a_type() -> None:
    """A flag takes no value, so its help row shows none: `--json`, `--process-images
    --no-process-images`. Recent Typer's rich help prints a type for every option, `<bool>` for
    each flag and for --help itself, where its plain help leaves it out: flags are given no type
    here, every other option keeps its own. A Typer without that method is left as it is."""
    option = getattr(typer.core, "TyperOption", None)
    typed = getattr(option, "display_type_rich", None)
    if option is None or typed is None or typed.__module__ == __name__:
        return  # no such Typer, or done already

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) and self.metavar is None:
            return None
        shown: str | None = typed(self, ctx)
        return shown

    option.display_type_rich = display_type_rich


_flags_without_a_type()

app = typer.Typer(
    name="wsync",
    help="Keep a WooCommerce store in sync with wholesaler feeds.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wsync {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: Path | None = typer.Option(None, "--config", "-c", envvar="WSYNC_CONFIG",
                                          help="Path to wsync.toml (default: ./wsync.toml)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every request and retry to stderr."),
    insecure: bool = typer.Option(False, "--insecure", help="Skip TLS certificate verification (never by default)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    common.STATE.config = config
    common.STATE.verbose = verbose
    common.STATE.insecure = insecure
    common.setup_logging(verbose)


def _register_all() -> None:
    from wsync.cli import feed_cmd, images_cmd, jobs_cmd, sandbox_cmd, store_cmd, sync_cmd, undo_cmd

    for module in (store_cmd, sandbox_cmd, feed_cmd, sync_cmd, images_cmd, jobs_cmd, undo_cmd):
        module.register(app)


_register_all()


def _fewer_collections() -> None:
    """A big feed allocates millions of short-lived rows, products and payload dicts, freed by
    reference counting; at the default threshold (700) the cyclic collector runs every few
    hundred rows and walks everything alive. What start-up made is frozen out of its walks and it
    runs every 50,000 allocations: 7 % less CPU for `wsync plan` of 100,000 rows, same peak RSS.
    Only for a process wsync runs (not for a caller's process, e.g. tests calling main(args))."""
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)


def main(argv: list[str] | None = None) -> None:
    if argv is None:  # the process's own command line: wsync owns the process
        _fewer_collections()
    args = list(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in args
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="wsync", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except _EXIT as exc:
        code = getattr(exc, "exit_code", 0)
    except _ABORT:
        common.err.print("aborted")
        code = 130
    except _ClickException as exc:
        if wants_json:
            common.emit_json({"success": False, "message": exc.format_message(), "exit_code": EXIT_USAGE})
        exc.show()
        code = EXIT_USAGE
    except WsyncError as exc:
        message = redact(str(exc))
        if wants_json:
            common.emit_json({"success": False, "message": redact(exc.message), "hint": exc.hint,
                              "error": type(exc).__name__, "exit_code": exc.exit_code})
        sys.stderr.write(f"error: {message}\n")
        code = exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = 130
    except Exception as exc:  # a bug: say so plainly, keep secrets out, show the trace only with -v
        if common.STATE.verbose:
            sys.stderr.write(redact("".join(traceback.format_exception(exc))))
        sys.stderr.write(redact(f"internal error: {type(exc).__name__}: {exc} (run with --verbose for details)\n"))
        if wants_json:
            common.emit_json({"success": False, "message": redact(f"internal error: {type(exc).__name__}: {exc}"),
                              "exit_code": 70})
        code = 70
    sys.exit(code)
