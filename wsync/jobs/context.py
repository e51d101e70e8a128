"""Where the ledger is and which settings a worker runs with.

The ledger path comes from an explicit --ledger, else the settings (WSYNC_LEDGER, the config's
`ledger`, or wsync.db beside it); without loadable settings, WSYNC_LEDGER or ./wsync.db. A worker
given an explicit ledger can still start when the configuration cannot be loaded: the jobs that
need the store then fail with the configuration error as their message, instead of the worker
dying silently in the background.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wsync.errors import ConfigError, WsyncError

if TYPE_CHECKING:
    from wsync.config import Settings

DEFAULT_LEDGER = "wsync.db"
WORKER_LOG_NAME = "wsync-worker.log"


@dataclass
class JobContext:
    ledger_path: Path
    settings: Settings | None = None
    settings_error: WsyncError | None = None

    @property
    def worker_log(self) -> Path:
        return self.ledger_path.parent / WORKER_LOG_NAME


def _load_settings(config: Path | None) -> Settings | None:
    try:
        from wsync.config import load_settings
    except ImportError:
        return None
    return load_settings(config, require_store=False)


def resolve(config: Path | None, ledger: Path | None = None) -> JobContext:
    settings, error = None, None
    try:
        settings = _load_settings(config)
    except WsyncError as exc:
        if ledger is None:
            raise
        error = exc
    path = ledger
    if path is None and settings is not None and getattr(settings, "ledger_path", None):
        path = Path(settings.ledger_path)
    if path is None and os.environ.get("WSYNC_LEDGER"):
        path = Path(os.environ["WSYNC_LEDGER"])
    if path is None:
        path = Path(DEFAULT_LEDGER)
    path = path.expanduser()
    if path.exists() and path.is_dir():
        raise ConfigError("the ledger path is a directory, not a file", path=str(path),
                          hint="point `ledger` in wsync.toml (or --ledger) at a file such as wsync.db")
    return JobContext(ledger_path=path.resolve(), settings=settings, settings_error=error)
