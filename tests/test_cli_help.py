"""Every command's --help: a flag shows as `--flag` (or `--flag  --no-flag`), never with a type.

Recent Typer's rich help prints `<bool>` beside each flag and beside --help itself; wsync.cli
leaves the type out for flags (they take no value), the way Typer's plain help shows them.
Options that take a value keep theirs (`<int>`, `<str>`, `<path>`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest
import typer
from typer.testing import CliRunner

from wsync.cli import app


def commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from commands(sub, (*path, name))


ALL = list(commands(typer.main.get_command(app)))


def help_of(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_reached():
    assert {(), ("import",), ("demo",), ("plan",), ("images", "process"), ("jobs", "cancel"),
            ("sandbox", "proxy"), ("config", "show")} <= set(ALL)


@pytest.mark.parametrize("path", ALL, ids=lambda path: " ".join(path) or "wsync")
def test_no_help_shows_a_flag_with_a_type(path):
    text = help_of(path)
    assert "--help" in text
    assert "<bool>" not in text, text


def test_a_flag_pair_reads_as_one_option_and_values_keep_their_type():
    text = help_of(("import",))
    rows = {line.split()[1]: line for line in text.splitlines() if re.match(r"^│ --", line)}
    for flag in ("process-images", "update-existing", "create-new"):
        row = rows[f"--{flag}"]
        assert f"--no-{flag}" in row and "<" not in row, row
    assert "<int>" in rows["--products-per-batch"] and "<str>" in rows["--only"]
    assert "<path>" in help_of(("demo",))
