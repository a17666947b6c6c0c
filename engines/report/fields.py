"""Field references: a path (``customer.region``) resolved against the forms, no SQL yet.

A :class:`FieldRef` says which form holds the field, through which many-to-one relations it is
reached (``chain``), whether it lies across a one-to-many join (``many``), and what it can do
(aggregations from the field type's ``aggregations``, grouping, bucketing). The type classes of
``engines.form`` decide; nothing here asks ``if type == ...`` beyond the logic kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import Integer

from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec
from engines.form.types.base import column_name
from engines.report.catalog import FormEntry

_DATE_AGGS: Final = frozenset({"count", "count_distinct", "min", "max"})
_ID_AGGS: Final = frozenset({"count", "count_distinct"})

#: System columns usable as fields: key -> (logic kind, aggregations).
SYSTEM_FIELDS: Final[dict[str, tuple[str, frozenset[str]]]] = {
    "id": ("number", _ID_AGGS),
    "created_at": ("datetime", _DATE_AGGS),
    "updated_at": ("datetime", _DATE_AGGS),
    "created_by": ("number", _ID_AGGS),
    "updated_by": ("number", _ID_AGGS),
    "owner_id": ("number", _ID_AGGS),
    "department_id": ("number", _ID_AGGS),
}


@dataclass(frozen=True)
class ManyJoin:
    """A one-to-many step from the source: ``reverse`` (records of ``form`` whose relation
    ``via`` points at the source) or ``links`` (the source's many-relation ``via``)."""

    key: str
    kind: str  # "reverse" | "links"
    form: str  # the form on the many side
    via: str  # relation field key (on ``form``) or many-relation key (on the source)


@dataclass(frozen=True)
class FieldRef:
    """A resolved field path."""

    path: str
    form: str  # key of the form holding the field
    key: str  # field key in that form ("" = the records themselves, for count of a join)
    type: str  # field type, or "system"
    kind: str  # logic kind: text, number, boolean, date, datetime, array, links
    value_type: str  # integer, decimal, text, boolean, date, datetime, json, links
    column: str | None  # physical column in the form's table (None: no column)
    aggregations: frozenset[str]
    groupable: bool
    chain: tuple[str, ...] = ()  # many-to-one relation paths walked, e.g. ("customer",)
    many: ManyJoin | None = None
    chain_forms: tuple[str, ...] = ()  # the form key reached by each step of ``chain``

    @property
    def bucketable(self) -> bool:
        return self.kind in ("date", "datetime")


def system_ref(path: str, entry: FormEntry, key: str, chain: tuple[str, ...]) -> FieldRef:
    kind, aggs = SYSTEM_FIELDS[key]
    value_type = {"number": "integer", "datetime": "datetime"}[kind]
    return FieldRef(path, entry.key, key, "system", kind, value_type, key, aggs, True, chain)


def spec_ref(
    path: str, entry: FormEntry, spec: FieldSpec, chain: tuple[str, ...], many: ManyJoin | None
) -> FieldRef:
    field_type = FIELD_TYPES.get(spec.type)
    kind = field_type.kind(spec)
    column = column_name(spec) if field_type.has_column else None
    if kind == "number":
        sql_type = entry.table.c[column].type if column is not None else None
        value_type = "integer" if isinstance(sql_type, Integer) else "decimal"
    else:
        value_type = {"array": "json"}.get(kind, kind)
    groupable = field_type.has_column and field_type.sortable and kind not in ("array", "links")
    aggregations = field_type.aggregations if column is not None or kind == "links" else frozenset()
    return FieldRef(
        path,
        entry.key,
        spec.key,
        spec.type,
        kind,
        value_type,
        column,
        aggregations,
        groupable,
        chain,
        many,
    )
