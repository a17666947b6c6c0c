"""Computed family: auto-number (server-generated) and formula (JsonLogic, stored).

Neither accepts a value from the client. An auto-number is filled by the records service from
a gap-free counter in the same transaction as the insert; a formula is recomputed from the
record's other fields on every write, so the stored value is always current and can be
filtered, sorted and aggregated like any column.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Boolean, Date, Numeric, String
from sqlalchemy.types import TypeEngine

from engines.form.errors import InvalidValue
from engines.form.schema import FieldSpec
from engines.form.types.base import FieldType
from engines.form.types.dates import UTCTimestamp, parse_date, parse_datetime
from engines.form.types.number import NUMERIC_AGGREGATIONS
from engines.logic.coerce import format_datetime

_TOKEN = re.compile(r"\{(yyyy|yy|MM|dd|HH|seq(?::(\d{1,2}))?)\}")


class AutoNumberSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pattern: str = Field(
        default="{seq:6}",
        min_length=1,
        max_length=60,
        description="e.g. TK-{yyyyMMdd}-{seq:4}; {seq} restarts per prefix",
    )

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        value = value.replace("{yyyyMMdd}", "{yyyy}{MM}{dd}").replace("{yyyyMM}", "{yyyy}{MM}")
        seqs = [m for m in _TOKEN.finditer(value) if m.group(1).startswith("seq")]
        if len(seqs) != 1:
            raise ValueError("the pattern needs exactly one {seq} or {seq:N}")
        leftover = _TOKEN.sub("", value)
        if "{" in leftover or "}" in leftover:
            raise ValueError("unknown token; use {yyyy} {yy} {MM} {dd} {HH} {yyyyMMdd} {seq:N}")
        return value


def render_prefix(pattern: str, moment: datetime) -> tuple[str, str, int]:
    """(text before {seq}, text after it, zero-pad width) with the date tokens filled in."""
    values = {
        "yyyy": f"{moment.year:04d}",
        "yy": f"{moment.year % 100:02d}",
        "MM": f"{moment.month:02d}",
        "dd": f"{moment.day:02d}",
        "HH": f"{moment.hour:02d}",
    }
    before: list[str] = []
    after: list[str] = []
    width, seen = 0, False
    position = 0
    for match in _TOKEN.finditer(pattern):
        literal = pattern[position : match.start()]
        (after if seen else before).append(literal)
        token = match.group(1)
        if token.startswith("seq"):
            seen = True
            width = int(match.group(2) or 0)
        else:
            (after if seen else before).append(values[token])
        position = match.end()
    (after if seen else before).append(pattern[position:])
    return "".join(before), "".join(after), width


def format_number(pattern: str, moment: datetime, sequence: int) -> tuple[str, str]:
    """(counter scope, finished number) — the scope is what makes {seq} restart."""
    before, after, width = render_prefix(pattern, moment)
    return before + "\x1f" + after, f"{before}{sequence:0{width}d}{after}"


class AutoNumber(FieldType):
    type = "autonumber"
    family = "computed"
    Settings = AutoNumberSettings
    searchable = True
    sql_type = String(80)
    client_writable = False
    generated = True
    always_unique = True

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "maxLength": 80, "readOnly": True}


Result = Literal["number", "text", "boolean", "date", "datetime"]


class FormulaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    expression: Any = Field(description="A JsonLogic expression over the form's fields")
    result: Result = "number"
    scale: int = Field(default=2, ge=0, le=12, description="Decimal places of number results")


class Formula(FieldType):
    type = "formula"
    family = "computed"
    Settings = FormulaSettings
    client_writable = False
    computed = True
    aggregations = NUMERIC_AGGREGATIONS

    def column_type(self, spec: FieldSpec) -> TypeEngine[Any]:
        settings = self.settings(spec)
        types: dict[str, TypeEngine[Any]] = {
            "number": Numeric(38, settings.scale, asdecimal=True),
            "text": String(1000),
            "boolean": Boolean(),
            "date": Date(),
            "datetime": UTCTimestamp(),
        }
        return types[settings.result]

    def expression(self, spec: FieldSpec) -> Any:
        return self.settings(spec).expression

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        kinds = {
            "number": {"type": "string"},
            "text": {"type": "string"},
            "boolean": {"type": "boolean"},
            "date": {"type": "string", "format": "date"},
            "datetime": {"type": "string", "format": "date-time"},
        }
        return {**kinds[self.settings(spec).result], "readOnly": True}

    def kind(self, spec: FieldSpec) -> str:
        return str(self.settings(spec).result)

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        """Convert a JsonLogic result; results that do not fit become empty (NULL)."""
        settings = self.settings(spec)
        try:
            if settings.result == "number":
                if isinstance(value, bool) or value is None or value == "":
                    return None
                number = Decimal(str(value))
                if not number.is_finite():
                    return None
                return number.quantize(Decimal(1).scaleb(-settings.scale))
            if settings.result == "text":
                return None if value is None else str(value)[:1000]
            if settings.result == "boolean":
                return None if value is None else bool(value)
            if settings.result == "date":
                return None if value in (None, "") else parse_date(value)
            return None if value in (None, "") else parse_datetime(value)
        except (InvalidOperation, InvalidValue, ValueError, TypeError):
            return None

    def from_storage(self, spec: FieldSpec, value: Any) -> Any:
        if value is None:
            return None
        result = self.settings(spec).result
        if result == "number":
            return str(value)
        if result in ("date", "datetime") and isinstance(value, date):
            return format_datetime(value)
        return value

    def to_logic(self, spec: FieldSpec, value: Any) -> Any:
        if value is not None and self.settings(spec).result == "number":
            number = Decimal(value)
            return int(number) if number == number.to_integral_value() else float(number)
        return self.from_storage(spec, value)
