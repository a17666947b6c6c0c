"""Choice family: boolean, single select, multi select."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import JSON, Boolean, String
from sqlalchemy.dialects.postgresql import JSONB

from engines.form.errors import InvalidValue
from engines.form.schema import FieldSpec, Labels
from engines.form.types.base import FieldType, split_cell

_TRUE = {"true", "yes", "y", "1", "是", "对", "✓"}
_FALSE = {"false", "no", "n", "0", "否", "错", ""}


class BooleanField(FieldType):
    type = "boolean"
    family = "choice"
    logic_kind = "boolean"
    sql_type = Boolean()

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": "boolean"}

    def is_empty(self, value: Any) -> bool:
        return value is None

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        lowered = raw.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise InvalidValue("invalid_boolean")

    def format_text(self, spec: FieldSpec, value: Any) -> str:
        return "" if value is None else ("true" if value else "false")


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str = Field(min_length=1, max_length=100)
    label: Labels = Field(default_factory=dict)
    color: str | None = Field(default=None, pattern=r"^#[0-9a-fA-F]{6}$")


class SelectSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    options: list[Option] = Field(min_length=1, max_length=1000)
    max_choices: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _unique(self) -> SelectSettings:
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError("option values must be unique")
        return self

    def find(self, raw: str) -> str | None:
        """Match an option by value or by any label (imports use labels)."""
        for option in self.options:
            if raw == option.value or raw in option.label.values():
                return option.value
        return None


class SingleSelect(FieldType):
    type = "select"
    family = "choice"
    Settings = SelectSettings
    indexed_by_default = True
    sql_type = String(100)
    converts_from = frozenset({"text"})

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "enum": [o.value for o in self.settings(spec).options]}

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        if value not in {o.value for o in self.settings(spec).options}:
            raise InvalidValue("not_an_option")
        return value

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        found = self.settings(spec).find(raw)
        if found is None:
            raise InvalidValue("not_an_option")
        return found


class MultiSelect(FieldType):
    """Several options, stored as a JSON array in option order."""

    type = "multiselect"
    family = "choice"
    Settings = SelectSettings
    logic_kind = "array"
    sortable = False
    sql_type = JSON().with_variant(JSONB(), "postgresql")
    aggregations = frozenset({"count"})

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        settings = self.settings(spec)
        schema: dict[str, Any] = {
            "type": "array",
            "items": {"type": "string", "enum": [o.value for o in settings.options]},
            "uniqueItems": True,
        }
        if settings.max_choices:
            schema["maxItems"] = settings.max_choices
        return schema

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        settings = self.settings(spec)
        order = [o.value for o in settings.options]
        if any(v not in order for v in value):
            raise InvalidValue("not_an_option")
        if settings.max_choices and len(value) > settings.max_choices:
            raise InvalidValue("too_many_choices", max=settings.max_choices)
        return [v for v in order if v in set(value)]

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        settings = self.settings(spec)
        values = []
        for part in split_cell(raw):
            found = settings.find(part)
            if found is None:
                raise InvalidValue("not_an_option")
            values.append(found)
        return values

    def format_text(self, spec: FieldSpec, value: Any) -> str:
        return ", ".join(value or [])
