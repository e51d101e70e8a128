"""Every Python example in the README and docs/ runs, or says why not (`<!-- not-run: WHY -->`).

A file's ```python blocks run in order in one namespace, as a reader would type them into one
session: a later block may use what an earlier one made."""

from __future__ import annotations

import pytest

from tools.doc_blocks import all_blocks

PYTHON = [b for b in all_blocks() if b.lang in ("python", "py", "pycon")]
FILES = sorted({b.path for b in PYTHON if "not-run" not in b.notes})


@pytest.mark.parametrize("block", PYTHON, ids=[b.where for b in PYTHON])
def test_every_python_example_runs_or_says_why_not(block):
    if "not-run" in block.notes:
        assert block.notes["not-run"], f"{block.where}: say why it is not run: <!-- not-run: WHY -->"
    else:
        compile(block.text, block.where, "exec")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_python_examples(path):
    namespace: dict = {"__name__": "__doc_example__"}
    for block in (b for b in PYTHON if b.path == path and "not-run" not in b.notes):
        try:
            exec(compile(block.text, block.where, "exec"), namespace)
        except Exception as exc:  # the example is what failed: say which one
            pytest.fail(f"{block.where}: {type(exc).__name__}: {exc}")
