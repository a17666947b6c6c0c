"""The last pass: a plan becomes ONE SQLAlchemy Core statement and its column meta.

Shape of every statement: a *rows* subquery (one row per source record: the source alias, its
many-to-one joins (LEFT JOIN, scoped in the ON clause) and its one-to-many partial aggregates
(LEFT JOIN of a subquery grouped by the source record), filtered by ``where``) computes the
dimension values ``d<i>`` and the per-row measure inputs ``v<j>`` (NULL where a filtered
measure's condition or a comparison period does not hold). The outer query groups by the
``d<i>`` columns and aggregates the inputs. Labels are generated (``d0``, ``m0``), never taken
from the spec; values are bound parameters.

* top-N: the rows get a flag ``o`` ("others") from the top values of the first dimension (a
  subquery ranking them by the ``top_n.by`` measure); the first dimension is NULL where ``o``
  holds, so grouping folds the others into one group, aggregated over its own rows.
* pivot: the groupings (cells, row totals, column totals, grand total) with a level column
  ``g``, so every total is computed from the rows (right for averages, distinct counts and
  percentiles too): on PostgreSQL one ``GROUP BY GROUPING SETS`` select (``g`` from
  ``GROUPING(d0, …)``), on SQLite a ``UNION ALL`` of one grouped select per level.
* record tables (no measures): the rows themselves, with the record id ``rid``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from engines.form.schema import Labels
from engines.logic.sql.dialect import BinaryText
from engines.report.buckets import BUCKETS
from engines.report.expressions import compile_rule, field_expression
from engines.report.fields import FieldRef
from engines.report.measures import MEASURES, Ratio
from engines.report.plan import Plan
from engines.report.spec import Measure

STAGE = "compile"
Expr = ColumnElement[Any]
Aggregate = Callable[[Any], Expr]


@dataclass(frozen=True)
class OutputColumn:
    """One column of the result: ``name`` (SQL label), ``role`` (dimension, measure or
    previous: the measure in the previous period), the spec ``key``, ``label`` and ``type``
    (integer, decimal, number, text, boolean, date, datetime, datetime_local, json)."""

    name: str
    role: str
    key: str
    label: Labels
    type: str
    bucket: str | None = None


@dataclass
class _Rows:
    """What the rows subquery selects, and the many-side partials to compute."""

    #: An expression, or a function of the one-to-many subqueries (for their partials).
    columns: dict[str, Expr | Callable[[dict[str, Any]], Expr]] = field(default_factory=dict)
    partials: dict[str, dict[str, Expr]] = field(default_factory=dict)

    def add(self, expression: Expr | Callable[[dict[str, Any]], Expr], prefix: str = "v") -> str:
        name = f"{prefix}{len(self.columns)}"
        self.columns[name] = expression
        return name


def measure_ref(plan: Plan, leaf: Measure) -> FieldRef | None:
    if leaf.field is None:
        return None
    ref = plan.refs[leaf.field]
    if ref.kind == "links" and ref.many is None:
        return plan.refs[leaf.field + "#links"]
    return ref


class _Builder:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.widget = plan.widget
        self.rows = _Rows()
        self.dims: list[str] = []
        self.out: list[OutputColumn] = []
        self.aggregates: list[tuple[str, Aggregate]] = []
        self._filters: dict[int, Expr] = {}

    # --- inputs ---------------------------------------------------------------------------

    def filter_of(self, measure: Measure, where: str) -> Expr | None:
        if measure.filter is None:
            return None
        return compile_rule(self.plan, measure.filter, f"{where}.filter", STAGE)

    def leaf(self, leaf: Measure, conditions: list[Expr]) -> Aggregate:
        """The aggregate of one non-ratio measure under ``conditions`` (all must hold)."""
        measure_type = MEASURES.get(leaf.agg)
        ref = measure_ref(self.plan, leaf)
        when = and_(*conditions) if conditions else None
        if ref is not None and ref.many is not None:
            return self._many_leaf(leaf, ref, when)
        value = field_expression(self.plan, ref) if ref is not None else None
        name = self.rows.add(value) if value is not None else None
        if when is None:
            if name is None:
                return lambda sub: measure_type.aggregate(None)
            return lambda sub: measure_type.aggregate(sub.c[name], leaf.p)
        # A filtered measure aggregates with FILTER (WHERE …) (PostgreSQL, SQLite ≥ 3.30): the
        # planner skips the rows outright, where a CASE would be evaluated for each of them.
        flag = self.rows.add(when, prefix="w")
        return lambda sub: measure_type.aggregate(
            sub.c[name] if name is not None else None, leaf.p
        ).filter(sub.c[flag])

    def _many_leaf(self, leaf: Measure, ref: FieldRef, when: Expr | None) -> Aggregate:
        assert ref.many is not None
        measure_type = MEASURES.get(leaf.agg)
        many = self.plan.manys[ref.many.key]
        child = many.alias.c[ref.column] if ref.column is not None else many.alias.c.id
        partials = self.rows.partials.setdefault(ref.many.key, {})
        names: dict[str, str] = {}
        for part, expression in measure_type.partials(child).items():
            column = f"p{len(partials)}"
            partials[column] = expression
            names[part] = column
        inputs: dict[str, str] = {}
        key = ref.many.key
        for part, column in names.items():

            def partial(subqueries: dict[str, Any], column: str = column) -> Expr:
                value = subqueries[key].c[column]
                return case((when, value)) if when is not None else value

            inputs[part] = self.rows.add(partial)
        return lambda sub: measure_type.combine({p: sub.c[n] for p, n in inputs.items()})

    def measure(self, index: int, measure: Measure, extra: list[Expr]) -> Aggregate:
        where = f"measures[{index}]"
        own = self.filter_of(measure, where)
        conditions = [*extra, *([own] if own is not None else [])]
        if measure.agg != "ratio":
            return self.leaf(measure, conditions)
        assert measure.numerator is not None and measure.denominator is not None
        parts = []
        for name, sub in (("numerator", measure.numerator), ("denominator", measure.denominator)):
            sub_filter = self.filter_of(sub, f"{where}.{name}")
            parts.append(
                self.leaf(sub, [*conditions, *([sub_filter] if sub_filter is not None else [])])
            )
        numerator, denominator = parts
        return lambda s: Ratio.divide(numerator(s), denominator(s))

    def measure_type(self, measure: Measure) -> str:
        if measure.agg == "ratio":
            return "number"
        return MEASURES.get(measure.agg).value_type(measure_ref(self.plan, measure))

    def collect(self) -> None:
        plan = self.plan
        for index, dimension in enumerate(self.widget.dimensions):
            ref = plan.refs[dimension.field]
            expression = field_expression(plan, ref)
            value_type = ref.value_type
            if dimension.bucket is not None:
                bucket = BUCKETS.get(dimension.bucket)
                expression = bucket.expression(expression, ref.kind, plan.timezone)
                value_type = bucket.value_type
            name = f"d{index}"
            self.rows.columns[name] = expression
            self.dims.append(name)
            self.out.append(
                OutputColumn(
                    name, "dimension", dimension.key, dimension.label, value_type, dimension.bucket
                )
            )
        periods: list[tuple[str, list[Expr]]] = [("measure", [])]
        if plan.window is not None:
            column = field_expression(plan, plan.refs[plan.window.path])
            current = [column >= plan.window.start]
            previous = [column < plan.window.start]
            periods = [("measure", current), ("previous", previous)]
        for role, extra in periods:
            for index, measure in enumerate(self.widget.measures):
                name = f"m{index}" if role == "measure" else f"q{index}"
                self.aggregates.append((name, self.measure(index, measure, extra)))
                self.out.append(
                    OutputColumn(name, role, measure.key, measure.label, self.measure_type(measure))
                )

    # --- FROM -----------------------------------------------------------------------------

    def from_clause(self) -> tuple[Any, dict[str, Any]]:
        plan = self.plan
        joined: Any = plan.alias
        aliases = {"": plan.alias}
        for path in sorted(plan.ones, key=lambda p: p.count(".")):
            one = plan.ones[path]
            parent = aliases[one.parent] if one.parent else plan.alias
            aliases[path] = one.alias
            joined = joined.outerjoin(
                one.alias, and_(one.alias.c.id == parent.c[one.column], *one.conditions)
            )
        subqueries: dict[str, Any] = {}
        for key, partials in self.rows.partials.items():
            many = plan.manys[key]
            if many.link is None:
                owner = many.alias.c[_via_column(many)]
                query = (
                    select(owner.label("o"), *[e.label(n) for n, e in partials.items()])
                    .where(owner.is_not(None), *many.conditions)
                    .group_by(owner)
                )
            else:
                link = many.link
                query = (
                    select(link.c.record_id.label("o"), *[e.label(n) for n, e in partials.items()])
                    .select_from(link.join(many.alias, many.alias.c.id == link.c.target_id))
                    .where(*many.conditions)
                    .group_by(link.c.record_id)
                )
            subquery = query.subquery(f"a{len(subqueries)}")
            subqueries[key] = subquery
            joined = joined.outerjoin(subquery, subquery.c.o == plan.alias.c.id)
        return joined, subqueries

    def rows_select(self, extra: list[tuple[str, Expr]] | None = None) -> Any:
        joined, subqueries = self.from_clause()
        columns = [
            (expression if isinstance(expression, ColumnElement) else expression(subqueries)).label(
                name
            )
            for name, expression in self.rows.columns.items()
        ]
        columns.extend(e.label(n) for n, e in extra or [])
        if not columns:
            columns = [literal(1, Integer()).label("one")]
        return select(*columns).select_from(joined).where(*self.plan.where)


def _via_column(many: Any) -> str:
    return f"f_{many.entry.schema.field(many.join.via).id}"


@dataclass(frozen=True)
class Statement:
    """The compiled statement and what shaping its rows needs."""

    statement: Any
    columns: list[OutputColumn]
    layout: str  # grouped, top_n, pivot, records
    fetch_limit: int
    #: pivot: the dimension keys each level ``g`` groups by (cells first).
    levels: tuple[tuple[str, ...], ...] = ()


def _order(builder: _Builder, outputs: dict[str, Any]) -> list[Any]:
    """ORDER BY of the spec's sort, then every dimension (so the order is total)."""
    by_key = {c.key: c for c in builder.out if c.role != "previous"}
    order: list[Any] = []
    used: set[str] = set()
    for sort in builder.widget.sort:
        column = by_key[sort.key]
        expression = outputs[column.name]
        if column.type == "text":
            expression = BinaryText(expression)
        order.append((expression.desc() if sort.desc else expression.asc()).nulls_last())
        used.add(column.name)
    for name in builder.dims:
        if name not in used:
            expression = outputs[name]
            column = next(c for c in builder.out if c.name == name)
            if column.type == "text":
                expression = BinaryText(expression)
            order.append(expression.asc().nulls_last())
    return order


def _grouped(builder: _Builder, plan: Plan) -> Statement:
    sub = builder.rows_select().subquery("r")
    labelled = [sub.c[name].label(name) for name in builder.dims]
    labelled.extend(aggregate(sub).label(name) for name, aggregate in builder.aggregates)
    statement = select(*labelled).select_from(sub)
    fetch = plan.limit + 1
    if builder.dims:
        statement = statement.group_by(*[sub.c[name] for name in builder.dims])
        statement = _sorted_and_capped(builder, statement, fetch)
    return Statement(statement, builder.out, "grouped", fetch)


def _sorted_and_capped(
    builder: _Builder, grouped: Any, fetch: int, first: tuple[str, ...] = ()
) -> Any:
    """``grouped`` (its groups complete) sorted and cut to ``fetch`` rows from outside.

    Sorting and limiting in an outer query keeps the row cap from reaching the planning of
    the aggregate: PostgreSQL plans a subquery whose outer query sorts for all of its rows,
    whereas a LIMIT on the aggregate itself makes the planner bet on stopping early (and it
    misjudges how many groups a date bucket has), e.g. a parallel sorted aggregate that is
    slower than hashing every row. The sort then orders the groups, not the rows."""
    groups = grouped.subquery("g")
    order = [groups.c[name].asc() for name in first]
    order.extend(_order(builder, {c.name: c for c in groups.c}))
    return select(*groups.c).order_by(*order).limit(fetch)


def _records(builder: _Builder, plan: Plan) -> Statement:
    sub = builder.rows_select([("rid", plan.alias.c.id)]).subquery("r")
    labelled = [sub.c[name].label(name) for name in [*builder.dims, "rid"]]
    outputs = {name: sub.c[name] for name in builder.dims}
    order = [*_order(builder, outputs), sub.c.rid.asc()]
    fetch = plan.limit + 1
    statement = select(*labelled).select_from(sub).order_by(*order).limit(fetch)
    columns = [*builder.out, OutputColumn("rid", "record", "id", {}, "integer")]
    return Statement(statement, columns, "records", fetch)


def top_values(builder: _Builder) -> Any:
    """The top-N values of the first dimension: a subquery ``top(d0)`` ranking them by the
    ``top_n.by`` measure (largest first, then by value)."""
    top_n = builder.widget.top_n
    assert top_n is not None
    ranked = builder.rows_select().subquery("rt")
    by = next(i for i, m in enumerate(builder.widget.measures) if m.key == top_n.by)
    rank = builder.aggregates[by][1](ranked)
    first_value: Any = BinaryText(ranked.c.d0) if builder.out[0].type == "text" else ranked.c.d0
    return (
        select(ranked.c.d0)
        .group_by(ranked.c.d0)
        .order_by(rank.desc().nulls_last(), first_value.asc().nulls_last())
        .limit(top_n.n)
        .subquery("top")
    )


def in_top(value: Expr, top: Any) -> ColumnElement[bool]:
    """Two-valued: is ``value`` one of the top values (NULL included when NULL is one)?"""
    return or_(
        and_(value.is_not(None), value.in_(select(top.c.d0).where(top.c.d0.is_not(None)))),
        and_(value.is_(None), exists(select(top.c.d0).where(top.c.d0.is_(None)))),
    )


def _top_n(builder: _Builder, plan: Plan) -> Statement:
    top_n = builder.widget.top_n
    assert top_n is not None
    top = top_values(builder)
    base = builder.rows_select().subquery("r0")
    flagged = select(*base.c, in_top(base.c.d0, top).label("t"))
    if not top_n.others:
        flagged = flagged.where(in_top(base.c.d0, top))
    marked = flagged.subquery("r1")
    rest = [marked.c[column.name] for column in base.c if column.name != "d0"]
    folded = select(
        case((marked.c.t, marked.c.d0), else_=null()).label("d0"),
        not_(marked.c.t).label("o"),
        *rest,
    ).subquery("r")
    groups = [folded.c.o, *[folded.c[name] for name in builder.dims]]
    labelled: list[Any] = [folded.c[name].label(name) for name in builder.dims]
    labelled.append(folded.c.o.label("o"))
    for name, aggregate in builder.aggregates:
        labelled.append(aggregate(folded).label(name))
    fetch = plan.limit + 1
    grouped = select(*labelled).select_from(folded).group_by(*groups)
    statement = _sorted_and_capped(builder, grouped, fetch, first=("o",))
    return Statement(statement, builder.out, "top_n", fetch)


def _pivot_levels(builder: _Builder) -> tuple[dict[str, str], list[list[str]]]:
    """The dimension labels by key, and the groupings: cells first, then (with totals) row
    totals, column totals (when there are columns) and the grand total."""
    pivot = builder.widget.pivot
    assert pivot is not None
    names = {d.key: f"d{i}" for i, d in enumerate(builder.widget.dimensions)}
    rows = [names[k] for k in pivot.rows]
    columns = [names[k] for k in pivot.columns]
    levels: list[list[str]] = [[*rows, *columns]]
    if pivot.totals:
        if columns:
            levels.append(rows)
            levels.append(columns)
        levels.append([])
    return names, levels


def _union_levels(builder: _Builder, plan: Plan, levels: list[list[str]]) -> Any:
    """SQLite (no GROUPING SETS): one grouped select per level, ``UNION ALL``."""
    sub = builder.rows_select().subquery("r")
    branches = []
    for level, grouped in enumerate(levels):
        labelled: list[Any] = [
            (sub.c[name] if name in grouped else null()).label(name) for name in builder.dims
        ]
        labelled.append(literal(level, Integer()).label("g"))
        labelled.extend(aggregate(sub).label(name) for name, aggregate in builder.aggregates)
        branch = select(*labelled).select_from(sub)
        if grouped:
            branch = branch.group_by(*[sub.c[name] for name in grouped])
        if level == 0:
            branch = select(branch.limit(plan.limit + 1).subquery("cells"))
        branches.append(branch)
    return union_all(*branches) if len(branches) > 1 else branches[0]


def _grouping_sets(builder: _Builder, levels: list[list[str]]) -> Any:
    """PostgreSQL: one scan, ``GROUP BY GROUPING SETS`` of the levels; ``g`` is the level's
    index, from ``GROUPING(d0, d1, …)`` (a bit per dimension left out of the grouping)."""
    sub = builder.rows_select().subquery("r")
    dims = [sub.c[name] for name in builder.dims]
    mask_to_level: dict[int, int] = {}
    sets = []
    for level, grouped in enumerate(levels):
        mask = sum(
            1 << (len(builder.dims) - 1 - i)
            for i, name in enumerate(builder.dims)
            if name not in grouped
        )
        if mask in mask_to_level:  # the same grouping twice: computed once
            continue
        mask_to_level[mask] = level
        sets.append(tuple_(*[sub.c[name] for name in grouped]))
    grouping = func.grouping(*dims, type_=Integer())
    if all(mask == level for mask, level in mask_to_level.items()):
        level_column: Expr = grouping
    else:
        level_column = case(mask_to_level, value=grouping)
    labelled: list[Any] = [sub.c[name].label(name) for name in builder.dims]
    labelled.append(level_column.label("g"))
    labelled.extend(aggregate(sub).label(name) for name, aggregate in builder.aggregates)
    return select(*labelled).select_from(sub).group_by(func.grouping_sets(*sets))


def _pivot(builder: _Builder, plan: Plan) -> Statement:
    names, levels = _pivot_levels(builder)
    if plan.dialect == "postgresql" and len(levels) > 1:
        # The cells are not limited in SQL here: the shaper keeps the first ``limit``.
        statement = _grouping_sets(builder, levels)
    else:
        statement = _union_levels(builder, plan, levels)
    columns_out = [*builder.out, OutputColumn("g", "level", "", {}, "integer")]
    keys = {name: key for key, name in names.items()}
    grouped_keys = tuple(tuple(keys[n] for n in level) for level in levels)
    return Statement(statement, columns_out, "pivot", plan.limit + 1, grouped_keys)


def build_statement(plan: Plan) -> Statement:
    """The plan's one statement (see the module docstring for its shape)."""
    builder = _Builder(plan)
    builder.collect()
    if not plan.widget.measures:
        return _records(builder, plan)
    if plan.widget.pivot is not None:
        return _pivot(builder, plan)
    if plan.widget.top_n is not None:
        return _top_n(builder, plan)
    return _grouped(builder, plan)
