"""Docs that run: the examples in README.md and docs/*.md, executed.

The Markdown reading lives in tools/ (shared with the maintenance scripts); the repository root
is put on sys.path for it.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
