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
    """Print one JSON document on stdout, scrubbed of secrets."""
    sys.stdout.write(redact(json.dumps(doc, indent=2, ensure_ascii=False, default=str)) + "\n")
    sys.stdout.flush()
