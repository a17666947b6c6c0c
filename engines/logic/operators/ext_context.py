"""Tangram extensions, evaluation context: current_user current_department.

``{"current_user": []}`` is ``context["user"]`` (a dict, or ``null``);
``{"current_user": "id"}`` / ``{"current_user": ["profile.email", default]}``
walk into it with ``var`` path rules. ``current_department`` does the same
with ``context["department"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from .base import Context, Evaluator
from .data import PathOperator, compile_path


class _ContextPath(PathOperator):
    key: ClassVar[str]

    def compile(self, args: Sequence[Evaluator], raw: Sequence[Any]) -> Evaluator:
        key = self.key

        def source(data: Any, context: Context) -> Any:
            return context.get(key)

        return compile_path(args, raw, source)


class CurrentUser(_ContextPath):
    type = "current_user"
    key = "user"


class CurrentDepartment(_ContextPath):
    type = "current_department"
    key = "department"
