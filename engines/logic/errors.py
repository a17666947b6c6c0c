"""Errors raised for malformed JsonLogic rules.

Every error carries a stable ``code`` (``logic.*``), a human message and the
location of the offending node as a JSON path such as ``$.and[1].var``
(operator keys that are not identifiers are quoted: ``$['=='][0]``). The raw
path segments are in ``segments`` for programmatic use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

PathSegment = str | int
Path = tuple[PathSegment, ...]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def format_path(segments: Sequence[PathSegment]) -> str:
    """Render path segments as a JSON path: ``("and", 1, "var")`` -> ``$.and[1].var``."""
    parts = ["$"]
    for segment in segments:
        if isinstance(segment, int):
            parts.append(f"[{segment}]")
        elif _IDENTIFIER.match(segment):
            parts.append(f".{segment}")
        else:
            escaped = segment.replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"['{escaped}']")
    return "".join(parts)


class LogicError(ValueError):
    """A malformed rule (or bad evaluation context). Subclasses fix the ``code``."""

    code: ClassVar[str] = "logic.error"

    def __init__(self, message: str, segments: Sequence[PathSegment] = ()) -> None:
        self.message = message
        self.segments: Path = tuple(segments)
        self.path = format_path(self.segments)
        super().__init__(f"{message} (at {self.path})")

    def to_dict(self) -> dict[str, str]:
        """``{"path", "code", "message"}`` for API error payloads."""
        return {"path": self.path, "code": self.code, "message": self.message}

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message, self.segments))


class UnknownOperatorError(LogicError):
    """A one-key object whose key is not a registered operator."""

    code = "logic.unknown_operator"


class ArityError(LogicError):
    """An operator got fewer or more arguments than it accepts."""

    code = "logic.bad_arity"


class ArgumentError(LogicError):
    """A literal argument has the wrong type (e.g. ``map`` over a number)."""

    code = "logic.bad_argument"


class MultipleKeysError(LogicError):
    """An object with several keys, one of them an operator: an ambiguous operation."""

    code = "logic.multiple_keys"


class TooDeepError(LogicError):
    """The rule nests deeper than ``MAX_DEPTH``."""

    code = "logic.too_deep"


class ContextError(LogicError):
    """The evaluation context is unusable (e.g. an unparseable ``now``)."""

    code = "logic.bad_context"


ERRORS_BY_CODE: dict[str, type[LogicError]] = {
    cls.code: cls
    for cls in (
        LogicError,
        UnknownOperatorError,
        ArityError,
        ArgumentError,
        MultipleKeysError,
        TooDeepError,
        ContextError,
    )
}


def error_for(code: str, message: str, segments: Sequence[PathSegment]) -> LogicError:
    """Build the error class registered for ``code`` (``LogicError`` if unknown)."""
    return ERRORS_BY_CODE.get(code, LogicError)(message, segments)
