"""The SQLite ledger (see wsync.ledger.db)."""

from wsync.ledger.db import Ledger, now_iso

__all__ = ["Ledger", "now_iso"]
