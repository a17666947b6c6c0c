"""SQL expressions of resolved fields over the plan's aliases, and filters through the one
JsonLogic compiler (``engines.logic.sql``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.sql.elements import ColumnElement

from engines.form.check import rule_var_paths
from engines.logic import LogicError
from engines.logic.sql import SqlField, SqlLinks, compile_condition
from engines.report.errors import ReportError
from engines.report.fields import FieldRef
from engines.report.plan import Plan


def holder(plan: Plan, ref: FieldRef) -> Any:
    """The alias whose columns hold ``ref`` (the source, a many-to-one join or a many side)."""
    if ref.many is not None:
        return plan.manys[ref.many.key].alias
    if ref.chain:
        return plan.ones[ref.chain[-1]].alias
    return plan.alias


def field_expression(plan: Plan, ref: FieldRef) -> ColumnElement[Any]:
    """The column of ``ref`` (its key column for a many-relation)."""
    alias = holder(plan, ref)
    column: ColumnElement[Any] = alias.c.id if ref.column is None else alias.c[ref.column]
    return column


def _sql_field(plan: Plan, ref: FieldRef) -> SqlField:
    if ref.kind == "links":
        entry = plan.ones[ref.chain[-1]].entry if ref.chain else plan.source
        link = entry.links[ref.key]
        alias = holder(plan, ref)
        return SqlField(alias.c.id, "links", SqlLinks(link.c.record_id, link.c.target_id))
    return SqlField(field_expression(plan, ref), ref.kind)  # type: ignore[arg-type]


def sql_fields(plan: Plan, names: Iterable[str]) -> dict[str, SqlField]:
    """JsonLogic ``var`` names -> columns, for the names given (all resolved already)."""
    return {name: _sql_field(plan, plan.refs[name]) for name in names}


def compile_rule(plan: Plan, rule: Any, where: str, stage: str) -> ColumnElement[bool]:
    """A widget or measure filter as a condition; ``report.bad_filter`` if it has no SQL form.

    The condition is only used where NULL acts as false (the rows' ``WHERE``, a filtered
    measure's ``CASE WHEN``, a drill-down's ``WHERE``) and never negated: it is compiled with
    ``null_is_false`` (no ``x IS NOT NULL`` guard before ``x IN (...)``)."""
    try:
        fields = sql_fields(plan, set(rule_var_paths(rule)))
        context = {**plan.context, "now": plan.now}
        return compile_condition(rule, fields, context=context, null_is_false=True)
    except LogicError as exc:
        raise ReportError(
            "report.bad_filter",
            widget=plan.widget.key,
            stage=stage,
            path=f"widgets[{plan.widget.key}].{where}{exc.path[1:]}",
            detail=exc.message,
        ) from None
