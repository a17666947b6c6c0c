"""Dotted data paths as used by ``var``, ``missing`` and ``current_user``.

``"a.b.1"`` walks ``data["a"]["b"][1]``: object keys are matched as strings,
array elements (and string characters) by canonical non-negative integer
segments, and ``length`` of an array or string is its length, as in JS. As in
json-logic-js a key that is present with a ``null`` value ends the walk with
``null`` (not the default), and an empty or ``null`` path means the whole data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from .coerce import to_string

Segment = tuple[str, int | None]
Segments = tuple[Segment, ...]

MISSING: Final[Any] = object()


def _segment(part: str) -> Segment:
    if part.isascii() and part.isdigit() and (part == "0" or part[0] != "0") and len(part) < 19:
        return (part, int(part))
    return (part, None)


def split_path(key: Any) -> Segments | None:
    """Pre-split a ``var`` key; ``None`` means "the whole data" (``""`` / ``null``)."""
    if key is None or (type(key) is str and key == ""):
        return None
    return tuple(_segment(part) for part in to_string(key).split("."))


def walk(data: Any, segments: Segments | None, default: Any = None) -> Any:
    """Follow ``segments`` into ``data``; ``default`` if a step is missing."""
    if segments is None:
        return data
    for key, index in segments:
        if data is None:
            return default
        t = type(data)
        if t is dict:
            data = data.get(key, MISSING)
            if data is MISSING:
                return default
        elif t is list or t is tuple or t is str:
            if index is None or index >= len(data):
                if key == "length":
                    data = len(data)
                    continue
                return default
            data = data[index]
        elif isinstance(data, Mapping):
            data = data.get(key, MISSING)
            if data is MISSING:
                return default
        elif isinstance(data, Sequence) and not isinstance(data, bytes):
            if index is None or index >= len(data):
                if key == "length":
                    data = len(data)
                    continue
                return default
            data = data[index]
        else:
            return default
    return data


def resolve(data: Any, key: Any, default: Any = None) -> Any:
    """``walk(data, split_path(key), default)``."""
    return walk(data, split_path(key), default)
