"""Structure family: sub-table (child rows such as order lines).

The rows live in a child table ``t_<form id>_<field id>`` (``parent_id``, ``position`` and one
column per child field). They are validated with the child fields' own types and saved in the
parent's transaction: the parent and its rows are written together or not at all.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engines.form.schema import FieldSpec, FormSchema
from engines.form.types.base import FieldType


class SubTableSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: list[FieldSpec] = Field(min_length=1, max_length=50)
    archived: list[FieldSpec] = Field(default_factory=list)
    min_rows: int = Field(default=0, ge=0)
    max_rows: int = Field(default=500, ge=1, le=5000)

    @model_validator(mode="after")
    def _check(self) -> SubTableSettings:
        ids = [f.id for f in [*self.fields, *self.archived]]
        keys = [f.key for f in self.fields]
        if len(set(ids)) != len(ids) or len(set(keys)) != len(keys):
            raise ValueError("child field ids and keys must be unique")
        if self.min_rows > self.max_rows:
            raise ValueError("min_rows is larger than max_rows")
        return self


class SubTable(FieldType):
    type = "subtable"
    family = "structure"
    Settings = SubTableSettings
    logic_kind = "array"
    has_column = False
    has_children = True
    sortable = False
    filterable = False
    aggregations = frozenset({"count"})

    def child_form(self, spec: FieldSpec, parent_id: int = 1) -> FormSchema:
        """The child rows as a form of their own (used to validate and to build the table)."""
        settings = self.settings(spec)
        return FormSchema(
            id=parent_id,
            key=spec.key,
            label=spec.label,
            fields=settings.fields,
            archived=settings.archived,
        )

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        settings = self.settings(spec)
        schema: dict[str, Any] = {
            "type": "array",
            "items": {"type": "object"},
            "maxItems": settings.max_rows,
        }
        if settings.min_rows:
            schema["minItems"] = settings.min_rows
        return schema

    def is_empty(self, value: Any) -> bool:
        return value is None  # [] is checked against min_rows

    def format_text(self, spec: FieldSpec, value: Any) -> str:
        return "" if not value else f"{len(value)} rows"
