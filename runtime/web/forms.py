"""Form errors on pages: per-field messages (from a problem's field errors) and a form message."""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.errors import ERRORS, ProblemError


@dataclass
class FormErrors:
    """Messages keyed by field name (a dotted path for sub-table cells), plus one for the form."""

    form: str | None = None
    fields: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def get(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    def __bool__(self) -> bool:
        return bool(self.form or self.fields)

    @classmethod
    def from_problem(cls, problem: ProblemError) -> FormErrors:
        """The problem's field errors by field; its title as the form message."""
        errors = cls()
        for item in problem.errors:
            errors.add(item.field, item.message)
        try:
            errors.form = ERRORS[problem.code].title(**problem.params)
        except (KeyError, IndexError):
            errors.form = ERRORS[problem.code].title()
        return errors
