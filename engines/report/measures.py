"""Measures as small registered classes returning Core expressions (DESIGN §10.1, §10.9).

A measure aggregates one value per row (``NULL`` where a filtered measure's condition does not
hold, so conditional aggregation needs no second statement). Measures over a one-to-many join
are *decomposable*: ``partials`` aggregate the many side per source record in a subquery,
``combine`` aggregates those partials per group, so no row is counted twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from sqlalchemy import Float, func, literal
from sqlalchemy.sql.elements import ColumnElement

from engines.registry import Registry
from engines.report.dialect import Percentile, as_float
from engines.report.fields import FieldRef

Expr = ColumnElement[Any]


class MeasureType(ABC):
    """One aggregation. ``aggregate(None)`` means "count the rows" where it applies."""

    type: ClassVar[str]
    #: The form-engine capability this measure needs from the field type.
    capability: ClassVar[str]
    #: Partial aggregates per source record (one-to-many); empty = not decomposable.
    partial_names: ClassVar[tuple[str, ...]] = ()

    def value_type(self, ref: FieldRef | None) -> str:
        return "number"

    @abstractmethod
    def aggregate(self, value: Expr | None, p: float | None = None) -> Expr:
        """The aggregate over ``value`` (every measure implements it)."""

    def partials(self, value: Expr | None) -> dict[str, Expr]:
        # Reached only for decomposable measures: the resolve pass refuses the others across
        # a one-to-many join (report error), so this is a guard, not a missing feature.
        raise TypeError(f"{self.type} does not decompose into per-record partials")

    def combine(self, partials: dict[str, Expr]) -> Expr:
        raise TypeError(f"{self.type} does not decompose into per-record partials")


class Count(MeasureType):
    type = "count"
    capability = "count"
    partial_names = ("n",)

    def value_type(self, ref: FieldRef | None) -> str:
        return "integer"

    def aggregate(self, value: Expr | None, p: float | None = None) -> Expr:
        return func.count() if value is None else func.count(value)

    def partials(self, value: Expr | None) -> dict[str, Expr]:
        return {"n": self.aggregate(value)}

    def combine(self, partials: dict[str, Expr]) -> Expr:
        return func.coalesce(func.sum(partials["n"]), literal(0))


class CountDistinct(MeasureType):
    type = "count_distinct"
    capability = "count_distinct"

    def value_type(self, ref: FieldRef | None) -> str:
        return "integer"

    def aggregate(self, value: Expr | None, p: float | None = None) -> Expr:
        return func.count(value.distinct()) if value is not None else func.count()


class Sum(MeasureType):
    type = "sum"
    capability = "sum"
    partial_names = ("s",)

    def value_type(self, ref: FieldRef | None) -> str:
        return ref.value_type if ref is not None else "number"

    def aggregate(self, value: Expr | None, p: float | None = None) -> Expr:
        return func.sum(value)

    def partials(self, value: Expr | None) -> dict[str, Expr]:
        return {"s": func.sum(value)}

    def combine(self, partials: dict[str, Expr]) -> Expr:
        return func.sum(partials["s"])


class Avg(MeasureType):
    type = "avg"
    capability = "avg"
    partial_names = ("s", "n")

    def aggregate(self, value: Expr | None, p: float | None = None) -> Expr:
        return func.avg(value)

    def partials(self, value: Expr | None) -> dict[str, Expr]:
        return {"s": func.sum(value), "n": func.count(value)}

    def combine(self, partials: dict[str, Expr]) -> Expr:
        return Ratio.divide(func.sum(partials["s"]), func.sum(partials["n"]))


class _Extreme(MeasureType):
    fn: ClassVar[str]
    partial_names = ("x",)

    def value_type(self, ref: FieldRef | None) -> str:
        return ref.value_type if ref is not None else "number"

    def aggregate(self, value: Expr | None, p: float | None = None) -> Expr:
        aggregate: Expr = getattr(func, self.fn)(value)
        return aggregate

    def partials(self, value: Expr | None) -> dict[str, Expr]:
        return {"x": self.aggregate(value)}

    def combine(self, partials: dict[str, Expr]) -> Expr:
        return self.aggregate(partials["x"])


class Min(_Extreme):
    type = "min"
    capability = "min"
    fn = "min"


class Max(_Extreme):
    type = "max"
    capability = "max"
    fn = "max"


class Median(MeasureType):
    type = "median"
    capability = "median"

    def aggregate(self, value: Expr | None, p: float | None = None) -> Expr:
        assert value is not None
        return Percentile(value, 0.5)


class PercentileCont(MeasureType):
    type = "percentile"
    capability = "percentile"

    def aggregate(self, value: Expr | None, p: float | None = None) -> Expr:
        assert value is not None and p is not None
        return Percentile(value, p)


class Ratio(MeasureType):
    """``numerator / denominator`` as a float, NULL where the denominator is 0 or NULL."""

    type = "ratio"
    capability = ""

    def aggregate(self, value: Expr | None, p: float | None = None) -> Expr:
        # A ratio is built from its numerator's and denominator's aggregates (see ``divide``
        # and the build pass); it has no aggregate of its own.
        raise TypeError("a ratio is the quotient of two measures, not an aggregate")

    @staticmethod
    def divide(numerator: Expr, denominator: Expr) -> Expr:
        denominator = func.nullif(as_float(denominator), literal(0.0), type_=Float())
        return as_float(numerator) / denominator


MEASURES: Registry[MeasureType] = Registry(
    "report_measure",
    [
        Count(),
        CountDistinct(),
        Sum(),
        Avg(),
        Min(),
        Max(),
        Median(),
        PercentileCont(),
        Ratio(),
    ],
)
