"""Date family: date, date-time (time-zone aware, stored in UTC)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Date, DateTime
from sqlalchemy.types import TypeDecorator

from engines.form.errors import InvalidValue
from engines.form.schema import FieldSpec
from engines.form.types.base import FieldType
from engines.logic.coerce import format_datetime

DATE_AGGREGATIONS = frozenset({"count", "count_distinct", "min", "max"})


class UTCTimestamp(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite keeps naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if len(text) < 10 or text[10:11] not in ("", "T", " "):
        raise InvalidValue("invalid_date")
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise InvalidValue("invalid_date") from exc


def parse_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidValue("invalid_datetime") from exc
    if parsed.tzinfo is None:
        raise InvalidValue("invalid_datetime")
    # Millisecond precision, like the JS toISOString() form that JsonLogic compares.
    return parsed.astimezone(UTC).replace(microsecond=parsed.microsecond // 1000 * 1000)


class DateField(FieldType):
    type = "date"
    family = "date"
    logic_kind = "date"
    unique_allowed = True
    indexed_by_default = True
    aggregations = DATE_AGGREGATIONS
    sql_type = Date()
    converts_from = frozenset({"datetime", "text"})

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "format": "date"}

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        return parse_date(value)

    def from_storage(self, spec: FieldSpec, value: Any) -> Any:
        return None if value is None else format_datetime(parse_date(value))

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        return parse_date(raw.replace("/", "-").split(" ")[0]).isoformat()


class DateTimeField(FieldType):
    type = "datetime"
    family = "date"
    logic_kind = "datetime"
    indexed_by_default = True
    aggregations = DATE_AGGREGATIONS
    sql_type = UTCTimestamp()
    converts_from = frozenset({"date"})

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        return parse_datetime(value)

    def from_storage(self, spec: FieldSpec, value: Any) -> Any:
        if value is None:
            return None
        return format_datetime(value if value.tzinfo else value.replace(tzinfo=UTC))

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        return self.from_storage(spec, parse_datetime(raw.replace(" ", "T", 1)))
