"""Pass 5, permission scope: the viewer's row scope on every form the statement touches.

The source, each many-to-one join (in its ON clause, so a row the viewer cannot see is never
looked up: its fields read as NULL) and each one-to-many subquery get ``deleted_at IS NULL``
and ``viewer.scope(form, alias)``. A scope written against the form's own table is adapted to
the alias (``ClauseAdapter``), so the runtime may pass its usual condition.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.util import ClauseAdapter

from engines.report.catalog import FormEntry, Viewer
from engines.report.plan import Plan

STAGE = "scope"


def row_conditions(viewer: Viewer, entry: FormEntry, alias: Any) -> tuple[ColumnElement[bool], ...]:
    """Live rows of ``entry`` the viewer may read, as conditions over ``alias``."""
    scope = viewer.scope(entry.key, alias)
    adapted = ClauseAdapter(alias).traverse(scope)
    return (alias.c.deleted_at.is_(None), adapted)


def apply_scope(plan: Plan, viewer: Viewer) -> Plan:
    """The plan with the scope in ``where`` (source) and in every join's conditions."""
    ones = {
        path: join.__class__(
            **{**join.__dict__, "conditions": row_conditions(viewer, join.entry, join.alias)}
        )
        for path, join in plan.ones.items()
    }
    manys = {
        key: many.__class__(
            **{**many.__dict__, "conditions": row_conditions(viewer, many.entry, many.alias)}
        )
        for key, many in plan.manys.items()
    }
    where = (*plan.where, *row_conditions(viewer, plan.source, plan.alias))
    return plan.but(ones=ones, manys=manys, where=where)
