"""Turning form-engine problems into problem+json field errors in the caller's language."""

from __future__ import annotations

from engines.form.errors import FieldProblem
from runtime.errors import FieldError, ProblemError
from runtime.i18n import current_locale


def field_errors(problems: list[FieldProblem], prefix: str = "") -> list[FieldError]:
    locale = current_locale.get()
    errors = []
    for problem in problems:
        message = problem.message(locale)
        messages = problem.params.get("messages")
        if problem.code == "rule_failed" and isinstance(messages, dict):
            message = messages.get(locale) or message
        errors.append(FieldError(f"{prefix}{problem.field}", problem.code, message))
    return errors


def invalid(problems: list[FieldProblem], prefix: str = "") -> ProblemError:
    return ProblemError("validation_failed", errors=field_errors(problems, prefix))
