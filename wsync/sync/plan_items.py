"""The item list of a plan, in bounded memory: `wsync plan` of a million-row feed lists a million
changes, and a list of a million dicts would be the biggest thing the process holds.

The first `memory_items` items stay in memory; the rest go to a temporary file as JSON lines.
It reads like a list (len, iteration, indexing, slicing, equality with a list), and
`wsync.cli.common.emit_json` writes it item by item.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Protocol, overload

MEMORY_ITEMS = 10_000
# One encoder for every line: json.dumps with an argument makes a new one per call.
encode_line = json.JSONEncoder(ensure_ascii=False).encode


class Item(Protocol):
    """An item plan (wsync.sync.plan.ItemPlan) as this list takes it."""

    def to_dict(self) -> dict[str, Any]: ...

    def to_json(self) -> str: ...


class PlanItems(Sequence[dict[str, Any]]):
    def __init__(self, memory_items: int = MEMORY_ITEMS):
        self._memory_items = memory_items
        self._head: list[dict[str, Any]] = []
        self._tail: IO[str] | None = None
        self._tail_len = 0

    def append(self, item: dict[str, Any]) -> None:
        if len(self._head) < self._memory_items:
            self._head.append(item)
            return
        self._write(encode_line(item))

    def append_plan(self, plan: Item) -> None:
        """An item plan's item (its to_dict()); past the first `memory_items`, its JSON line is
        written without the dict being made (`ItemPlan.to_json`)."""
        if len(self._head) < self._memory_items:
            self._head.append(plan.to_dict())
            return
        self._write(plan.to_json())

    def _write(self, line: str) -> None:
        if self._tail is None:
            self._tail = tempfile.TemporaryFile("w+", encoding="utf-8", prefix="wsync-plan-")  # noqa: SIM115 (closed by close())
        self._tail.write(line + "\n")
        self._tail_len += 1

    def extend_json_lines(self, path: Path) -> None:
        """Append the items of a file of JSON lines (another process's share of a plan), which is
        deleted: past the first `memory_items`, copied as they are, not decoded and encoded again."""
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if len(self._head) < self._memory_items:
                    self._head.append(json.loads(line))
                    continue
                self._write(line.rstrip("\n"))
        path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return len(self._head) + self._tail_len

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield from self._head
        for line in self._tail_lines():
            yield json.loads(line)

    def _tail_lines(self) -> Iterator[str]:
        """The items on disk, as the JSON lines they were written as; the file is left where the
        next item goes."""
        if self._tail is None:
            return
        self._tail.flush()
        self._tail.seek(0)
        for line in self._tail:
            yield line.rstrip("\n")
        self._tail.seek(0, 2)

    def json_lines(self) -> Iterator[str]:
        """Each item as one line of JSON, in order: the items on disk are already JSON and are
        passed through as they are, not decoded and encoded again."""
        for item in self._head:
            yield encode_line(item)
        yield from self._tail_lines()

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            if (index.stop is not None and 0 <= index.stop <= len(self._head)
                    and (index.start or 0) >= 0 and (index.step or 1) > 0):
                return self._head[index]
            return list(self)[index]
        if 0 <= index < len(self._head):
            return self._head[index]
        return list(self)[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PlanItems | list):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def close(self) -> None:
        if self._tail is not None:
            self._tail.close()
            self._tail = None
