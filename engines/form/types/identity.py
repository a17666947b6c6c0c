"""Organisation family: a user, a department (references to platform tables)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Integer

from engines.form.errors import InvalidValue
from engines.form.schema import FieldSpec
from engines.form.types.base import FieldType, column_name

_ID = BigInteger().with_variant(Integer(), "sqlite")


class _Reference(FieldType):
    """A foreign key to a platform table; existence is checked by the records service."""

    family = "organisation"
    logic_kind = "number"
    indexed_by_default = True
    target_table: str
    sql_type = _ID

    def columns(self, spec: FieldSpec) -> list[Column[Any]]:
        return [
            Column(
                column_name(spec),
                _ID,
                ForeignKey(f"{self.target_table}.id", ondelete="SET NULL"),
                nullable=True,
            )
        ]

    def reference(self, spec: FieldSpec) -> tuple[str, str | int] | None:
        return ("table", self.target_table)

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1}

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidValue("invalid_integer")
        return value

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        # Imports name users and departments by id here; the import service maps names.
        if not raw.isdigit():
            raise InvalidValue("invalid_integer")
        return int(raw)


class UserField(_Reference):
    type = "user"
    target_table = "users"


class DepartmentField(_Reference):
    type = "department"
    target_table = "departments"
