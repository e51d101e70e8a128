"""The fenced blocks of README.md and docs/*.md, with the notes written right above them.

A note is a whole-line HTML comment directly above a block's opening fence (no blank line in
between; several may stack). The ones the tests and `python -m tools.docs_regen` read:

    <!-- not-run: WHY -->   a shell block no test runs (it needs a live store, takes an hour...)
    <!-- run: servers -->   a shell block of long-running servers: each line is started (on a
                            free port), must print its first line, and must stop cleanly on SIGTERM
    <!-- run: empty-dir --> a shell block run in an empty directory (not a copy of examples/)
    <!-- output: NAME -->   a ```text block holding the output of the docs scenario's step NAME,
                            rewritten by `python -m tools.docs_regen`

Untagged blocks and ```sh / ```bash / ```shell / ```console blocks are shell examples; program
output and diagrams are tagged ```text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHELL_LANGS = ("", "sh", "bash", "shell", "console")
_FENCE = re.compile(r"^(?P<indent> {0,3})(?:(?P<fence>`{3,})(?P<info>[^`]*)|(?P<tilde>~{3,})(?P<tinfo>.*))$")
_NOTE = re.compile(r"^\s*<!--\s*(?P<body>.*?)\s*-->\s*$")


@dataclass
class Block:
    path: Path
    line: int                     # 1-based line number of the opening fence
    lang: str
    text: str                     # the block's content, ending with a newline (or empty)
    notes: dict[str, str] = field(default_factory=dict)   # "not-run" -> why, "output" -> name, ...
    first: int = 0                # 0-based index of the first content line
    last: int = 0                 # 0-based index of the closing fence

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.lang in SHELL_LANGS

    @property
    def run_modes(self) -> set[str]:
        return {word.strip() for word in self.notes.get("run", "").split(",") if word.strip()}


def doc_files(root: Path = ROOT) -> list[Path]:
    """The Markdown a user reads: the README, then docs/ in name order."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _notes_above(lines: list[str], index: int) -> dict[str, str]:
    notes: dict[str, str] = {}
    i = index - 1
    while i >= 0 and (m := _NOTE.match(lines[i])):
        key, _, value = m.group("body").partition(":")
        notes.setdefault(key.strip(), value.strip())
        i -= 1
    return notes


def read_blocks(path: Path, text: str | None = None) -> list[Block]:
    """Every fenced block of one Markdown file, in order. An unclosed fence is an error: the
    rest of the file would silently become code."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        # A backtick fence's info string holds no backtick (CommonMark): "```` ```text ````" is
        # inline code at the start of a line, not a block.
        fence = m.group("fence") or m.group("tilde")
        info = (m.group("info") if m.group("fence") else m.group("tinfo")).strip()
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        if j == len(lines):
            raise ValueError(f"{path}:{i + 1}: code block never closed")
        body = lines[i + 1:j]
        blocks.append(Block(path=path, line=i + 1, lang=info.split()[0] if info else "",
                            text="".join(line + "\n" for line in body), notes=_notes_above(lines, i),
                            first=i + 1, last=j))
        i = j + 1
    return blocks


def all_blocks(root: Path = ROOT) -> list[Block]:
    return [block for path in doc_files(root) for block in read_blocks(path)]
