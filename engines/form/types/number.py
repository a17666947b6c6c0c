"""Number family: integer, decimal (exact), currency, percent."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import BigInteger, Numeric
from sqlalchemy.types import TypeEngine

from engines.form.errors import InvalidValue
from engines.form.schema import FieldSpec
from engines.form.types.base import FieldType

NUMERIC_AGGREGATIONS = frozenset(
    {"count", "count_distinct", "sum", "avg", "min", "max", "median", "percentile"}
)
INT64 = 2**63 - 1


class IntegerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min: int | None = Field(default=None, ge=-INT64, le=INT64)
    max: int | None = Field(default=None, ge=-INT64, le=INT64)

    @model_validator(mode="after")
    def _range(self) -> IntegerSettings:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is larger than max")
        return self


class DecimalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    precision: int = Field(default=18, ge=1, le=38, description="Total digits")
    scale: int = Field(default=2, ge=0, le=12, description="Digits after the decimal point")
    min: Decimal | None = None
    max: Decimal | None = None

    @model_validator(mode="after")
    def _check(self) -> DecimalSettings:
        if self.scale > self.precision:
            raise ValueError("scale is larger than precision")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is larger than max")
        return self


class CurrencySettings(DecimalSettings):
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")


class Integer(FieldType):
    type = "integer"
    family = "number"
    Settings = IntegerSettings
    logic_kind = "number"
    unique_allowed = True
    aggregations = NUMERIC_AGGREGATIONS
    sql_type = BigInteger()

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        settings = self.settings(spec)
        schema: dict[str, Any] = {"type": "integer"}
        schema["minimum"] = settings.min if settings.min is not None else -INT64
        schema["maximum"] = settings.max if settings.max is not None else INT64
        return schema

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise InvalidValue("invalid_integer")
        return int(value)

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        try:
            number = Decimal(raw.replace(",", ""))
        except InvalidOperation as exc:
            raise InvalidValue("invalid_integer") from exc
        if number != number.to_integral_value():
            raise InvalidValue("invalid_integer")
        return int(number)


class DecimalNumber(FieldType):
    """Exact decimals. The API returns them as strings ("12.50") so no digit is lost."""

    type = "decimal"
    family = "number"
    Settings = DecimalSettings
    logic_kind = "number"
    pattern_code = "invalid_number"
    unique_allowed = True
    aggregations = NUMERIC_AGGREGATIONS
    converts_from = frozenset({"integer", "decimal", "currency", "percent"})

    def column_type(self, spec: FieldSpec) -> TypeEngine[Any]:
        settings = self.settings(spec)
        return Numeric(settings.precision, settings.scale, asdecimal=True)

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": ["number", "string"], "pattern": r"^-?\d+(\.\d+)?$"}

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        settings = self.settings(spec)
        if isinstance(value, bool):
            raise InvalidValue("invalid_number")
        try:
            number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        except (InvalidOperation, TypeError, ValueError) as exc:
            raise InvalidValue("invalid_number") from exc
        if not number.is_finite():
            raise InvalidValue("invalid_number")
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)
        if -exponent > settings.scale and number != number.quantize(
            Decimal(1).scaleb(-settings.scale)
        ):
            raise InvalidValue("too_many_decimals", places=settings.scale)
        number = number.quantize(Decimal(1).scaleb(-settings.scale))
        if len(number.as_tuple().digits) > settings.precision:
            raise InvalidValue("too_many_digits")
        if settings.min is not None and number < settings.min:
            raise InvalidValue("too_small", min=str(settings.min))
        if settings.max is not None and number > settings.max:
            raise InvalidValue("too_large", max=str(settings.max))
        return number

    def from_storage(self, spec: FieldSpec, value: Any) -> Any:
        if value is None:
            return None
        scale = self.settings(spec).scale
        return str(Decimal(value).quantize(Decimal(1).scaleb(-scale)))

    def to_logic(self, spec: FieldSpec, value: Any) -> Any:
        if value is None:
            return None
        number = Decimal(value)
        return int(number) if number == number.to_integral_value() else float(number)

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        cleaned = raw.replace(",", "").replace("¥", "").replace("$", "").replace("%", "").strip()
        try:
            Decimal(cleaned)
        except InvalidOperation as exc:
            raise InvalidValue("invalid_number") from exc
        return cleaned


class Currency(DecimalNumber):
    type = "currency"
    Settings = CurrencySettings


class Percent(DecimalNumber):
    """A percentage as entered: 12.5 means 12.5 %."""

    type = "percent"

    def format_text(self, spec: FieldSpec, value: Any) -> str:
        return "" if value is None else f"{value}%"
