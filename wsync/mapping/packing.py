"""Rows and products as bytes for the spill (wsync.mapping.spill): marshal of nested lists.

A big feed's rows are written to disk once and read back once, and its products likewise: a
million-row feed is 1.2 million objects each way, each with a handful of nested dataclasses. Pickle
spends much of its time per object on the reduction protocol (a Python `__reduce__` per nested
object, each written with the name of a constructor to look up); `marshal` of the same values as
plain lists and tuples does without. Measured on the big-feed benchmark's rows: a row packs in
4.2 us (pickle: 8.0) and unpacks in 4.6 us (7.4), in 279 bytes (410); a product of five
variations packs in 16 us (25) and unpacks in 16 us (18), where the dataclasses' own constructors
are most of what is left. The shape comes from the dataclasses' fields, so a field added to a
model is packed with no change here.

marshal takes only Python's own value types (str, int, float, bool, None, bytes and the
containers). A value of any other type (a Decimal in a filter's raw source values, a str
subclass) makes marshal refuse the whole object; that object is then pickled instead. A pickle
starts with the byte 0x80 (protocol 2 and later) and a marshal never does (0x80 is marshal's
reference flag, never a type code on its own), so the reader tells the two apart by the first
byte. The bytes live for one job in one scratch file, written and read by the same interpreter:
marshal's format is stable within a Python version, and is never kept across runs.
"""

from __future__ import annotations

import dataclasses
import marshal
import pickle
import types
import typing
from collections.abc import Callable
from operator import attrgetter
from typing import Any, Generic, TypeVar

_T = TypeVar("_T")
_PICKLE_FIRST_BYTE = 0x80
# A nested field: its place in the fields, whether it holds a list of the class, and the class's codec.
_Nested = tuple[int, bool, "_Codec[Any]"]


class _Codec(Generic[_T]):
    """One dataclass's values as a list (or, with no nested dataclass among its fields, a tuple)."""

    def __init__(self, cls: type[_T]):
        self.cls = cls
        self.names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        get = attrgetter(*self.names)
        self.values: Callable[[Any], tuple[Any, ...]] = get if len(self.names) > 1 else (lambda obj: (get(obj),))
        self.nested: list[_Nested] = []  # filled by `_codec` (a class may nest itself: Row.children)

    def encode(self, obj: _T) -> Any:
        values = self.values(obj)
        if not self.nested:
            return values
        out = list(values)
        for place, many, codec in self.nested:
            value = out[place]
            if value is not None:
                out[place] = [codec.encode(item) for item in value] if many else codec.encode(value)
        return out

    def decode(self, values: Any) -> _T:
        for place, many, codec in self.nested:
            value = values[place]
            if value is not None:
                values[place] = [codec.decode(item) for item in value] if many else codec.decode(value)
        return self.cls(*values)


_CODECS: dict[type, _Codec[Any]] = {}


def _dataclass_in(annotation: Any) -> tuple[type | None, bool]:
    """The dataclass a field holds, directly or optionally (`X | None`) or as a list (`list[X]`,
    `list[X] | None`), and whether it is a list; (None, False) for any other field."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _dataclass_in(inner[0]) if len(inner) == 1 else (None, False)
    if typing.get_origin(annotation) is list and len(args) == 1 and isinstance(args[0], type) \
            and dataclasses.is_dataclass(args[0]):
        return args[0], True
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return annotation, False
    return None, False


def _codec(cls: type[_T]) -> _Codec[_T]:
    codec = _CODECS.get(cls)
    if codec is None:
        codec = _CODECS[cls] = _Codec(cls)
        hints = typing.get_type_hints(cls)
        for place, name in enumerate(codec.names):
            inner, many = _dataclass_in(hints[name])
            if inner is not None:
                codec.nested.append((place, many, _codec(inner)))
    return codec


class Packer(Generic[_T]):
    """`pack(obj) -> bytes` and `unpack(bytes) -> obj` for one dataclass of the catalogue model."""

    def __init__(self, cls: type[_T]):
        self._codec = _codec(cls)
        self._encode = self._codec.encode
        self._decode = self._codec.decode

    def pack(self, obj: _T) -> bytes:
        try:
            return marshal.dumps(self._encode(obj))
        except (ValueError, TypeError, AttributeError):
            # A value marshal does not take somewhere inside, or a field holding something other
            # than its annotated class: the whole object is pickled, which keeps it as it is.
            return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)

    def unpack(self, blob: bytes) -> _T:
        if blob[0] == _PICKLE_FIRST_BYTE:
            return typing.cast(_T, pickle.loads(blob))
        return self._decode(marshal.loads(blob))
