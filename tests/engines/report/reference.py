"""A plain-Python report engine over :class:`support.Data`: what every widget must return.

Written independently of the engine: zoneinfo for local times, the JsonLogic evaluator for
filters, simple loops for joins (scoped the same way as the SQL), sorted lists for
percentiles (linear interpolation, PostgreSQL ``percentile_cont``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from engines.logic import evaluate, truthy
from engines.report.spec import Measure, Widget

from .support import Data, visible


def iso(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value.astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


class Records:
    """The tickets as the viewer sees them, with their joins resolved."""

    def __init__(self, data: Data, scoped: bool) -> None:
        ok = (
            (lambda form, row: visible(form, row))
            if scoped
            else (lambda form, row: row.get("deleted_at") is None)
        )
        companies = {c["id"]: c for c in data.companies if ok("company", c)}
        customers = {}
        for c in data.customers:
            if ok("customer", c):
                customers[c["id"]] = {**c, "company": companies.get(c["company"])}
        tags = {t["id"]: t for t in data.tags if ok("tag", t)}
        self.records = []
        for t in data.tickets:
            if not ok("ticket", t):
                continue
            linked = sorted(g for (ticket, g, _p) in data.links if ticket == t["id"])
            self.records.append(
                {
                    **t,
                    "customer": customers.get(t["customer"]),
                    "customer_id": t["customer"],
                    "tags": [tags[g] for g in linked if g in tags],
                    "tag_ids": linked,
                    "answers": [
                        r for r in data.replies if r["ticket"] == t["id"] and ok("reply", r)
                    ],
                }
            )

    def logic_data(self, record: dict[str, Any]) -> dict[str, Any]:
        def flat(row: dict[str, Any] | None) -> Any:
            if row is None:
                return None
            return {k: flat(v) if isinstance(v, dict) else iso(v) for k, v in row.items()}

        out = {k: iso(v) for k, v in record.items() if k not in ("customer", "tags", "answers")}
        out["customer"] = flat(record["customer"])
        out["tags"] = record["tag_ids"] or None
        return out


def value(record: dict[str, Any], path: str) -> Any:
    if path == "customer":  # the relation's own column: the id, whether or not it is visible
        return record["customer_id"]
    node: Any = record
    for part in path.split("."):
        if node is None:
            return None
        node = node.get(part)
    if isinstance(node, dict):
        return node["id"]
    return node


def local(moment: datetime | date, tz: str) -> datetime:
    if isinstance(moment, datetime):
        return moment.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    return datetime(moment.year, moment.month, moment.day)


def bucket(raw: Any, name: str, tz: str) -> Any:
    if raw is None:
        return None
    t = local(raw, tz)
    if name == "hour_of_day":
        return t.hour
    if name == "weekday":
        return t.isoweekday()
    if name == "hour":
        return t.strftime("%Y-%m-%dT%H:00:00")
    d = t.date()
    if name == "week":
        d = d - timedelta(days=d.weekday())
    elif name == "month":
        d = d.replace(day=1)
    elif name == "quarter":
        d = d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1)
    elif name == "year":
        d = d.replace(month=1, day=1)
    return d.isoformat()


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = p * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _number(v: Any) -> Any:
    return float(v) if isinstance(v, Decimal) else v


def aggregate(agg: str, values: list[Any], rows: int, p: float | None) -> Any:
    """``values``: the non-null values; ``rows``: how many rows (for count of records)."""
    if agg == "count":
        return rows if values is None else len(values)
    if agg == "count_distinct":
        return len(set(values))
    if not values:
        return None
    numbers = [_number(v) for v in values]
    if agg == "sum":
        return sum(numbers)
    if agg == "avg":
        return sum(numbers) / len(numbers)
    if agg == "min":
        return iso(min(values))
    if agg == "max":
        return iso(max(values))
    if agg == "median":
        return percentile([float(v) for v in numbers], 0.5)
    return percentile([float(v) for v in numbers], p or 0.5)


class Reference:
    def __init__(self, data: Data, *, scoped: bool, tz: str, context: dict[str, Any]) -> None:
        self.records = Records(data, scoped)
        self.tz = tz
        self.context = context

    def holds(self, rule: Any, record: dict[str, Any]) -> bool:
        if rule is None:
            return True
        return truthy(evaluate(rule, self.records.logic_data(record), context=self.context))

    def leaf(self, m: Measure, rows: list[dict[str, Any]], extra: Callable[[dict], bool]) -> Any:
        chosen = [r for r in rows if extra(r) and self.holds(m.filter, r)]
        if m.field is None:
            return len(chosen)
        head, _, rest = m.field.partition(".")
        if head in ("answers", "tags") and (rest or head == "tags"):
            children = [c for r in chosen for c in r[head]]
            if not rest:
                return len(children)
            values = [c[rest] for c in children if c[rest] is not None]
            return aggregate(m.agg, values, len(children), m.p)
        if head == "answers":
            return sum(len(r["answers"]) for r in chosen)
        values = [value(r, m.field) for r in chosen]
        values = [v for v in values if v is not None]
        return aggregate(m.agg, values, len(chosen), m.p)

    def measure(self, m: Measure, rows: list[dict[str, Any]], extra: Callable[[dict], bool]) -> Any:
        if m.agg != "ratio":
            return self.leaf(m, rows, extra)

        def both(r: dict[str, Any]) -> bool:
            return extra(r) and self.holds(m.filter, r)

        n = self.leaf(m.numerator, rows, both)  # type: ignore[arg-type]
        d = self.leaf(m.denominator, rows, both)  # type: ignore[arg-type]
        return None if not d else float(n or 0) / float(d)

    def dim(self, widget: Widget, index: int, record: dict[str, Any]) -> Any:
        d = widget.dimensions[index]
        raw = value(record, d.field)
        if d.bucket is not None:
            return bucket(raw, d.bucket, self.tz)
        return iso(raw)

    def rows(self, widget: Widget, where: Callable[[dict], bool] = lambda r: True) -> list[dict]:
        return [r for r in self.records.records if where(r) and self.holds(widget.filter, r)]

    def grouped(
        self,
        widget: Widget,
        where: Callable[[dict], bool] = lambda r: True,
        periods: tuple[Callable[[dict], bool], Callable[[dict], bool]] | None = None,
    ) -> dict[tuple[Any, ...], dict[str, Any]]:
        groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        rows = self.rows(widget, where)
        for r in rows:
            key = tuple(self.dim(widget, i, r) for i in range(len(widget.dimensions)))
            groups.setdefault(key, []).append(r)
        if not widget.dimensions:
            groups = {(): rows}
        out = {}
        for key, members in groups.items():
            current = periods[0] if periods else (lambda r: True)
            row = {d.key: key[i] for i, d in enumerate(widget.dimensions)}
            for m in widget.measures:
                row[m.key] = self.measure(m, members, current)
            if periods:
                row["_compare"] = {}
                for m in widget.measures:
                    previous = self.measure(m, members, periods[1])
                    current_value = row[m.key]
                    change = None
                    if current_value is not None and previous not in (None, 0):
                        change = (current_value - previous) / previous
                    row["_compare"][m.key] = {"previous": previous, "change": change}
            out[key] = row
        return out
