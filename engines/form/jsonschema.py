"""Compile a form to a JSON Schema (draft 2020-12) document."""

from __future__ import annotations

from typing import Any

from engines.form.registry import FIELD_TYPES
from engines.form.schema import FormSchema

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def form_json_schema(form: FormSchema, *, required: set[str] | None = None) -> dict[str, Any]:
    """The schema of a record submission; ``required`` defaults to the statically required keys."""
    properties = {spec.key: FIELD_TYPES.get(spec.type).json_schema(spec) for spec in form.fields}
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "title": form.label.get("en") or form.label.get("zh-CN"),
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    keys = required if required is not None else {f.key for f in form.fields if f.required}
    if keys:
        schema["required"] = sorted(keys)
    return schema
