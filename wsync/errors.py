"""Errors every layer shares, and the exit codes the CLI maps them to.

Exit codes (stable, documented in the README):
  0  everything done
  1  the job finished, but some items failed (the ledger lists them)
  2  usage or configuration error (nothing was sent)
  3  the store is unreachable or refuses the keys
  4  the feed could not be read or was refused as a whole (nothing was written)
`wsync check` refines 3 into one code per failure kind (see wsync.store.check).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

EXIT_OK = 0
EXIT_ITEM_ERRORS = 1
EXIT_USAGE = 2
EXIT_STORE = 3
EXIT_FEED = 4


class WsyncError(Exception):
    """Base of every error wsync reports to a user: the message is shown as is, no traceback."""

    exit_code = EXIT_ITEM_ERRORS

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(WsyncError):
    exit_code = EXIT_USAGE


class ConfigError(WsyncError):
    """A configuration problem; names the file, the key and the fix."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None, hint: str | None = None):
        where = ""
        if path:
            where = f"{path}: "
        if key:
            where += f"[{key}] "
        super().__init__(where + message, hint=hint)
        self.path = path
        self.key = key


# How a config table's reader reports a bad key: `fail(key, message, hint)` raises the caller's
# ConfigError, naming the key where the caller's table sits.
Fail = Callable[[str, str, str | None], NoReturn]


class StoreUnavailable(WsyncError):
    """The store could not be reached or refused the keys: nothing can be synced."""

    exit_code = EXIT_STORE


class FeedRefused(WsyncError):
    """The feed as a whole is unusable (empty, HTML, truncated, far too small): nothing is written."""

    exit_code = EXIT_FEED
