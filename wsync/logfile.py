"""Log files created 0600 with every record redacted (worker logs live beside the ledger)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from wsync.redact import RedactingFilter


def open_private_log_handler(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    handler.setLevel(logging.INFO)
    return handler
