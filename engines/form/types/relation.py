"""Relation family: links to records of another form, and lookups through them.

A ``relation`` links one record: the related record's id is in the field's own column
(indexed). A ``multirelation`` links several, in order: its ids are rows of a link table of its
own, ``t_<form id>_<field id>`` (``record_id``, ``target_id``, ``position``; the primary key
``(record_id, target_id)`` serves "what does this record link to" and forbids duplicates, the
index ``(target_id, record_id)`` serves "which records link to this one"). The records service
checks every id of either kind: the record exists, is not deleted and is visible to the writer
(one query per target form). A lookup shows a field of the related record(s) — one value, or a
list through a many-relation; it stores nothing and is read through the related form's scope.

Why a table per field rather than one platform table of all links: the link table is plain,
typed and named like the form's own tables, so a report (or any BI tool) joins
``t_1 → t_1_5 → t_2`` on integer keys with indexes made for exactly that field; its rows go
with the form's table (foreign key, ``ON DELETE CASCADE``); publishing creates, keeps (archive)
and drops (purge) it like a sub-table's child table; and a filter on the field is an
``EXISTS`` over that one small table instead of over every link of every form.

A ``relation`` can be retyped to a ``multirelation`` (each id becomes a one-element list) and
back when no record links to more than one record; the related form cannot change.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import BigInteger, Integer

from engines.form.errors import InvalidValue
from engines.form.schema import KEY_PATTERN, FieldSpec
from engines.form.types.base import FieldType, split_cell

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
    converts_from = frozenset({"multirelation"})

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


class MultiRelationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    form_id: int = Field(ge=1, description="Id of the related form (same app)")
    max_links: int = Field(default=100, ge=1, le=1000, description="Most records one can link")


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 2**63


class MultiRelation(FieldType):
    """Links to several records of another form, in order; the API value is a list of ids."""

    type = "multirelation"
    family = "relation"
    Settings = MultiRelationSettings
    logic_kind = "links"
    has_column = False
    has_links = True
    sortable = False
    aggregations = frozenset({"count"})
    converts_from = frozenset({"relation"})
    schema_codes = {"uniqueItems": "duplicate_reference", "maxItems": "too_many_links"}

    def reference(self, spec: FieldSpec) -> tuple[str, str | int] | None:
        return ("form", int(self.settings(spec).form_id))

    def references(self, spec: FieldSpec, stored: Any) -> list[tuple[str, int]]:
        return [(f"[{index}]", value) for index, value in enumerate(stored or [])]

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
            "uniqueItems": True,
            "maxItems": self.settings(spec).max_links,
        }

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        if not isinstance(value, list) or not all(_is_id(v) for v in value):
            raise InvalidValue("invalid_integer")
        if len(set(value)) != len(value):
            raise InvalidValue("duplicate_reference")
        limit = self.settings(spec).max_links
        if len(value) > limit:
            raise InvalidValue("too_many_links", max=limit)
        return list(value)

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        parts = split_cell(raw)
        if not all(part.isascii() and part.isdigit() for part in parts):
            raise InvalidValue("invalid_integer")
        return [int(part) for part in parts]

    def format_text(self, spec: FieldSpec, value: Any) -> str:
        return ", ".join(str(v) for v in value or [])


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
