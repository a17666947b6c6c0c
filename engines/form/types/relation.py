"""Relation family: a link to a record of another form, and lookups through it.

A relation stores the id of the related record in its own column (indexed); the records
service checks that the record exists, is not deleted and is visible to the writer. A lookup
shows a field of the related record; it stores nothing and is read through the relation.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import BigInteger, Integer

from engines.form.errors import InvalidValue
from engines.form.schema import KEY_PATTERN, FieldSpec
from engines.form.types.base import FieldType

_ID = BigInteger().with_variant(Integer(), "sqlite")


class RelationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    form_id: int = Field(ge=1, description="Id of the related form (same app)")


class Relation(FieldType):
    type = "relation"
    family = "relation"
    Settings = RelationSettings
    logic_kind = "number"
    indexed_by_default = True
    sql_type = _ID

    def reference(self, spec: FieldSpec) -> tuple[str, str | int] | None:
        return ("form", int(self.settings(spec).form_id))

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidValue("invalid_integer")
        return value

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        if not raw.isdigit():
            raise InvalidValue("invalid_integer")
        return int(raw)


class LookupSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    relation: str = Field(pattern=KEY_PATTERN, description="Key of a relation field here")
    field: str = Field(pattern=KEY_PATTERN, description="Key of the field in the related form")


class Lookup(FieldType):
    type = "lookup"
    family = "relation"
    Settings = LookupSettings
    has_column = False
    looks_up = True
    client_writable = False
    sortable = False
    filterable = False
    aggregations = frozenset()

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"readOnly": True}

    def is_empty(self, value: Any) -> bool:
        return value is None
