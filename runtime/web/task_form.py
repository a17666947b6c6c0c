"""The fields a flow step lets its worker edit: simple inputs per field type, and the submitted
text turned back into API values (each type's own ``parse_text``, as imports do)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engines.form.errors import FieldProblem, InvalidValue
from runtime.i18n import current_locale
from runtime.records.forms import FormHandle
from runtime.web.forms import FormErrors
from runtime.web.templating import _label

EDITING = ("editable", "required")
NUMERIC = {"integer", "decimal", "currency", "percent"}


def _input(kind: str) -> str:
    if kind in ("textarea", "richtext"):
        return "textarea"
    if kind in ("select", "boolean"):
        return "select"
    if kind == "date":
        return "date"
    if kind in NUMERIC:
        return "number"
    return "text"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def node_fields(
    handle: FormHandle,
    rights: dict[str, str],
    record: dict[str, Any],
    values: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The step's editable fields, in form order, with their current (or submitted) text."""
    values = values or {}
    fields = []
    for spec in handle.form.fields:
        right = rights.get(spec.key)
        if right not in EDITING or not handle.field_type(spec.key).client_writable:
            continue
        kind = spec.type
        options: list[tuple[str, str]] = []
        if kind == "select":
            options = [
                (o["value"], _label(o.get("label")) or o["value"])
                for o in spec.options.get("options", [])
            ]
        fields.append(
            {
                "key": spec.key,
                "label": _label(spec.label),
                "help": _label(spec.help),
                "type": kind,
                "input": _input(kind),
                "required": right == "required",
                "value": values.get(spec.key, _text(record.get(spec.key))),
                "options": options,
            }
        )
    return fields


def parse_fields(
    handle: FormHandle, rights: dict[str, str], raw: dict[str, str]
) -> tuple[dict[str, Any], FormErrors]:
    """API values of the submitted step fields that changed; conversion errors by field.
    Fields the step does not let the worker edit are passed on as sent, so that the flows
    service refuses them (422 under the field) exactly as the API does."""
    errors = FormErrors()
    values: dict[str, Any] = {}
    locale = current_locale.get()
    for key, text in raw.items():
        if key not in handle.validator.specs:
            continue
        spec = handle.spec(key)
        field_type = handle.field_type(key)
        text = text.strip()
        if rights.get(key) not in EDITING:
            values[key] = text or None
            continue
        if not text:
            values[key] = None
            continue
        try:
            values[key] = field_type.parse_text(spec, text)
        except InvalidValue as exc:
            errors.add(key, FieldProblem(key, exc.code, exc.params).message(locale))
    return values, errors
