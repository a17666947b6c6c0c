"""What an import returns: the flow (when there is one) and every problem met on the way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engines.flow.model import Flow
from engines.form.check import SchemaProblem


@dataclass(frozen=True)
class Problem:
    """Something in the file that was not imported as it is, or not at all.

    ``element_id`` and ``element_type`` (``bpmn:userTask``) name the element concerned;
    both are None for problems of the file as a whole. ``line`` and ``column`` are given
    for XML that does not parse.
    """

    code: str
    message: str
    element_id: str | None = None
    element_type: str | None = None
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ImportResult:
    """``document`` is the flow as far as the file gave it (the flow JSON, for the designer
    to complete); ``flow`` is that document validated, or None when it is not a valid flow
    yet (a user task without an assignee, say). ``problems`` lists everything imported
    differently from the file or left out; ``check_problems`` holds
    :func:`engines.flow.check.check_flow`'s findings when the import was asked to check."""

    flow: Flow | None
    document: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)
    check_problems: list[SchemaProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The file was imported whole: a valid flow and no problems."""
        return self.flow is not None and not self.problems and not self.check_problems
