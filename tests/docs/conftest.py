"""Docs that run: the examples in README.md and docs/*.md, executed.

The Markdown reading and the output scenario live in tools/ (`python -m tools.docs_regen`
regenerates the output the docs show, from the same scenario); the repository root is put on
sys.path for them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.docs_regen import Run, run_scenario  # noqa: E402


@pytest.fixture(scope="session")
def docs_run(tmp_path_factory) -> Run:
    """The docs scenario, run once: the demo, then the example feed against a sandbox store
    (preview, import, status, plan, import --only, import --background, jobs)."""
    return run_scenario(tmp_path_factory.mktemp("docs-run"))
