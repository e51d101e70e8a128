"""What every command shares: global options, output helpers, logging that cannot leak secrets.

Results go to stdout (one JSON document with --json, so `| jq` always works); logs, progress
and warnings go to stderr.
"""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from wsync.redact import RedactingFilter, redact

CONCURRENCY_HELP = ("requests in flight: auto (the default: found as the job goes, up to concurrency_max "
                    "in [import], 8) or a number from 1 to 16 to pin it")

# Human-readable results; rich turns itself off when stdout is not a terminal.
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class GlobalOptions:
    config: Path | None = None
    verbose: bool = False
    insecure: bool = False


STATE = GlobalOptions()


def setup_logging(verbose: bool, log_file: Path | None = None) -> None:
    """Log to stderr (and optionally a file); every handler sees only redacted text."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    level = logging.DEBUG if verbose else logging.WARNING
    handler: logging.Handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    if log_file is not None:
        from wsync.logfile import open_private_log_handler

        root.addHandler(open_private_log_handler(log_file))
    root.setLevel(logging.DEBUG if (verbose or log_file) else logging.WARNING)
    handler.setLevel(level)
    # Third-party chatter (urllib3 connection pool lines carry full URLs) stays at INFO+ unless verbose.
    logging.getLogger("urllib3").setLevel(logging.DEBUG if verbose else logging.WARNING)


def emit_json(doc: Any) -> None:
    """Print one JSON document on stdout, scrubbed of secrets. A plan's item list that lives on
    disk (wsync.sync.plan_items) is written item by item, never built as one string."""
    from wsync.sync.plan_items import PlanItems

    streamed = {k: v for k, v in doc.items() if isinstance(v, PlanItems)} if isinstance(doc, dict) else {}
    if not streamed:
        sys.stdout.write(redact(json.dumps(doc, indent=2, ensure_ascii=False, default=str)) + "\n")
        sys.stdout.flush()
        return
    rest = {k: (None if k in streamed else v) for k, v in doc.items()}
    text = json.dumps(rest, indent=2, ensure_ascii=False, default=str)
    for name, items in streamed.items():
        head, _, text = text.partition(f'\n  {json.dumps(name)}: null')
        sys.stdout.write(redact(head) + f'\n  {json.dumps(name)}: [')
        # One line per item, through the C encoder (an indented dump is encoded in Python, five
        # times slower), scrubbed and written a thousand lines at a time.
        chunk: list[str] = []
        for index, line in enumerate(items.json_lines()):
            chunk.append(("," if index else "") + "\n    " + line)
            if len(chunk) == 1000:
                sys.stdout.write(redact("".join(chunk)))
                chunk = []
        sys.stdout.write(redact("".join(chunk)))
        sys.stdout.write("\n  ]" if len(items) else "]")
    sys.stdout.write(redact(text) + "\n")
    sys.stdout.flush()
