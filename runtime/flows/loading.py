"""Read an instance and its live items (tokens, open tasks, pending timers) in one statement.

A transition reads its instance on every request and job, so the read is one round trip:
the instance row, with its JSON columns and its items (aggregated by correlated subqueries:
``json_agg`` on PostgreSQL, ``json_group_array`` on SQLite) in one JSON array, decoded
once, and the organisation's version
(``org_stamp``: assignee resolutions are cached under it, :mod:`runtime.flows.assign`). The
statements are built once per dialect.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime import direct
from runtime.flows.models import FlowInstance, FlowTask, FlowTimer, FlowToken
from runtime.org.models import org_stamp_column

INST, T, K, M = FlowInstance.__table__, FlowToken.__table__, FlowTask.__table__, FlowTimer.__table__
TOKEN_COLUMNS = ("seq", "node", "status", "via", "data")
TASK_COLUMNS = (
    "id", "seq", "node", "token", "created_at", "assignee_id", "candidates", "status",
    "due_at", "signer", "outcome", "comment", "data",
)  # fmt: skip
TIMER_COLUMNS = ("seq", "node", "token", "due_at", "status", "boundary_of")
_JSON_COLUMNS = {"data", "candidates"}
INSTANCE_COLUMNS = (
    "id", "app_id", "version_id", "flow_key", "form_id", "record_id", "status", "variables",
    "seq", "visited", "error", "started_by", "parent_id", "parent_token", "parent_call",
    "row_version",
)  # fmt: skip
#: Instance columns read inside the one JSON document (with the items).
DOC_COLUMNS = ("variables", "visited", "error")


@dataclass
class Loaded:
    """One instance row and its live items as plain tuples (in ``*_COLUMNS`` order)."""

    row: dict[str, Any]
    tokens: list[list[Any]]
    tasks: list[list[Any]]
    timers: list[list[Any]]


def _statement(dialect: str, by_task: bool) -> Any:
    instance_id = INST.c.id
    tokens = select(_agg(dialect, T, TOKEN_COLUMNS)).where(T.c.instance_id == instance_id)
    tasks = select(_agg(dialect, K, TASK_COLUMNS)).where(
        K.c.instance_id == instance_id, K.c.status == "open"
    )
    timers = select(_agg(dialect, M, TIMER_COLUMNS)).where(
        M.c.instance_id == instance_id, M.c.status == "pending"
    )
    docs = [INST.c[n] for n in DOC_COLUMNS] + [q.scalar_subquery() for q in (tokens, tasks, timers)]
    if dialect == "postgresql":
        doc = func.json_build_array(*docs, type_=JSON)
    else:  # a subquery's JSON comes back as text: json() reads it again
        doc = func.json_array(*(func.json(d) for d in docs), type_=JSON)
    query = select(
        *(INST.c[n] for n in INSTANCE_COLUMNS if n not in DOC_COLUMNS),
        doc.label("l_doc"),
        org_stamp_column(),
    )
    if by_task:
        wanted = select(K.c.instance_id).where(K.c.id == bindparam("b_task")).scalar_subquery()
        return query.where(INST.c.id == wanted)
    return query.where(INST.c.id == bindparam("b_id"))


def _agg(dialect: str, table: Any, names: tuple[str, ...]) -> Any:
    if dialect == "postgresql":
        row = func.json_build_array(*(table.c[n] for n in names))
        return func.coalesce(func.json_agg(row), func.json_build_array(), type_=JSON)
    cols = [func.json(table.c[n]) if n in _JSON_COLUMNS else table.c[n] for n in names]
    return func.json_group_array(func.json_array(*cols), type_=JSON)


_STATEMENTS: dict[tuple[str, bool], Any] = {}


def _cached(dialect: str, by_task: bool) -> Any:
    key = (dialect, by_task)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = _statement(dialect, by_task)
    return statement


async def fetch(
    db: AsyncSession, *, instance_id: int | None = None, task_id: int | None = None
) -> Loaded | None:
    """The instance ``instance_id`` (or the one task ``task_id`` belongs to) and its items."""
    dialect = db.get_bind().dialect.name
    by_task = task_id is not None
    params = {"b_task": task_id} if by_task else {"b_id": instance_id}
    statement = _cached(dialect, by_task)
    row = await direct.fetchrow(db, statement, params)
    if row is None:
        return None
    data = {n: row[n] for n in INSTANCE_COLUMNS if n not in DOC_COLUMNS}
    doc = row["l_doc"]
    if isinstance(doc, str):  # a driver that left the JSON as text
        doc = json.loads(doc)
    variables, visited, error, tokens, tasks, timers = doc
    data.update(variables=variables, visited=visited, error=error, org_stamp=row["org_stamp"])
    return Loaded(data, tokens or [], tasks or [], timers or [])


def as_datetime(value: Any) -> datetime | None:
    """A timestamp from inside a JSON array (ISO text; SQLite's has no zone: it is UTC)."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
