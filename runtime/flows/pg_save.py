"""On PostgreSQL a transition's whole write is one statement: data-modifying CTEs update the
instance under its optimistic lock (or insert a new one) and, only when that succeeded, delete
consumed tokens and upsert tokens, tasks (with their claim pools), timers and history rows,
all passed in one JSON document (serialised once per transition).

One round trip instead of six keeps the persisted engine's cost close to the interpreter's
(DESIGN §4). The statement holds only the parts a transition has rows for (a task completion
usually moves a token, closes a task, opens the next and writes history; timers, claim pools
and consumed tokens are rarer): each part PostgreSQL plans and opens costs time on every run,
even with nothing to write, so there is one statement per shape, built the first time it is
needed. Identifiers are the platform's own table and column names; every value is a bound
parameter.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Integer, Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from runtime import pg_direct
from runtime.db import UTCDateTime

if TYPE_CHECKING:
    from runtime.flows.store import Changes, Run

#: The transition's JSON: the instance's documents and the item rows, one parameter
#: (serialised once; read with ``->`` and ``jsonb_to_recordset``).
_DOC = """
WITH d AS (SELECT CAST(:doc AS JSONB) AS doc)"""
_UPDATE = """, inst AS (
    UPDATE flow_instances
    SET status = :status, variables = d.doc -> 'variables', seq = :seq,
        visited = d.doc -> 'visited', error = d.doc -> 'error', updated_at = :updated_at,
        ended_at = :ended_at, row_version = row_version + 1
    FROM d
    WHERE id = :id AND row_version = :seen
    RETURNING id
)"""
_INSERT = """, inst AS (
    INSERT INTO flow_instances (app_id, version_id, flow_key, form_id, record_id, status,
        variables, seq, visited, error, started_by, started_at, updated_at, ended_at,
        parent_id, parent_token, parent_call, row_version)
    SELECT :app_id, :version_id, :flow_key, :form_id, :record_id, :status,
        d.doc -> 'variables', :seq, d.doc -> 'visited', d.doc -> 'error', :started_by,
        :updated_at, :updated_at, :ended_at, :parent_id, :parent_token, :parent_call, 1
    FROM d
    RETURNING id
)"""
#: The item parts, in order; each is written only when the transition has rows for it.
_GONE = """, gone AS (
    DELETE FROM flow_tokens
    WHERE instance_id IN (SELECT id FROM inst) AND seq = ANY(:gone)
)"""
_TOKENS = """, tok AS (
    INSERT INTO flow_tokens (instance_id, seq, node, status, via, data)
    SELECT inst.id, r.seq, r.node, r.status, r.via, r.data
    FROM inst, d, jsonb_to_recordset(d.doc -> 'tokens')
        AS r(seq INTEGER, node TEXT, status TEXT, via TEXT, data JSONB)
    ON CONFLICT (instance_id, seq) DO UPDATE
    SET node = EXCLUDED.node, status = EXCLUDED.status, via = EXCLUDED.via, data = EXCLUDED.data
)"""
_TIMERS = """, tim AS (
    INSERT INTO flow_timers (instance_id, seq, node, token, due_at, status, boundary_of)
    SELECT inst.id, r.seq, r.node, r.token, r.due_at, r.status, r.boundary_of
    FROM inst, d, jsonb_to_recordset(d.doc -> 'timers')
        AS r(seq INTEGER, node TEXT, token INTEGER, due_at TIMESTAMPTZ, status TEXT,
             boundary_of INTEGER)
    ON CONFLICT (instance_id, seq) DO UPDATE SET status = EXCLUDED.status
)"""
_HISTORY = """, hist AS (
    INSERT INTO flow_history (instance_id, at, action, actor_id, node, task_seq, data)
    SELECT inst.id, r.at, r.action, r.actor_id, r.node, r.task_seq, r.data
    FROM inst, d, jsonb_to_recordset(d.doc -> 'history')
        AS r(at TIMESTAMPTZ, action TEXT, actor_id BIGINT, node TEXT, task_seq INTEGER,
             data JSONB)
)"""
_TASKS = """, tsk AS (
    INSERT INTO flow_tasks (instance_id, seq, token, app_id, node, name, status, assignee_id,
        candidates, signer, outcome, comment, data, created_at, due_at, completed_at,
        completed_by)
    SELECT inst.id, r.seq, r.token, r.app_id, r.node, r.name, r.status, r.assignee_id,
        r.candidates, r.signer, r.outcome, r.comment, r.data, r.created_at, r.due_at,
        r.completed_at, r.completed_by
    FROM inst, d, jsonb_to_recordset(d.doc -> 'tasks')
        AS r(seq INTEGER, token INTEGER, app_id BIGINT, node TEXT, name JSONB, status TEXT,
             assignee_id BIGINT, candidates JSONB, signer INTEGER, outcome TEXT, comment TEXT,
             data JSONB, created_at TIMESTAMPTZ, due_at TIMESTAMPTZ,
             completed_at TIMESTAMPTZ, completed_by BIGINT)
    ON CONFLICT (instance_id, seq) DO UPDATE
    SET status = EXCLUDED.status, assignee_id = EXCLUDED.assignee_id,
        candidates = EXCLUDED.candidates, outcome = EXCLUDED.outcome,
        comment = EXCLUDED.comment, data = EXCLUDED.data, due_at = EXCLUDED.due_at,
        completed_at = EXCLUDED.completed_at, completed_by = EXCLUDED.completed_by
    RETURNING id, seq
)"""
_POOLS = """, pools AS (
    INSERT INTO flow_task_pools (task_id, kind, ref_id)
    SELECT tsk.id, p.kind, p.ref_id
    FROM tsk, d, jsonb_to_recordset(d.doc -> 'pools') AS p(seq INTEGER, kind TEXT, ref_id BIGINT)
    WHERE p.seq = tsk.seq
)"""
_RESULT = """
SELECT (SELECT id FROM inst) AS locked, {task_ids} AS task_ids
"""
_TASK_IDS = "(SELECT coalesce(jsonb_agg(jsonb_build_array(tsk.seq, tsk.id)), '[]'::jsonb) FROM tsk)"
_NO_TASK_IDS = "'[]'::jsonb"
#: The parts by the key of the transition's document they write (and the parameter they add).
_PARTS = (("gone", _GONE), ("tokens", _TOKENS), ("timers", _TIMERS), ("history", _HISTORY),
          ("tasks", _TASKS), ("pools", _POOLS))  # fmt: skip
_ITEM_TYPES: dict[str, Any] = {
    "doc": Text,
    "updated_at": UTCDateTime(),
    "ended_at": UTCDateTime(),
    "seq": Integer,
}
_ROW_TYPES: dict[str, Any] = {
    **dict.fromkeys(
        ("app_id", "version_id", "form_id", "record_id", "started_by", "parent_id"), BigInteger
    ),
    "parent_token": Integer,
    "parent_call": Integer,
}


def _statement(sql: str, types: dict[str, Any]) -> Any:
    params = [bindparam(name, type_=type_) for name, type_ in types.items()]
    return text(sql).bindparams(*params).columns(locked=BigInteger, task_ids=JSONB)


_SHAPES: dict[tuple[bool, tuple[bool, ...]], Any] = {}


def statement_for(new: bool, present: tuple[bool, ...]) -> Any:
    """The statement of one shape: a new instance (inserted) or a stored one (updated under
    its lock), and which of :data:`_PARTS` have rows (``present``, in that order)."""
    key = (new, present)
    found = _SHAPES.get(key)
    if found is None:
        sql = _DOC + (_INSERT if new else _UPDATE)
        types = dict(_ITEM_TYPES)
        types.update(_ROW_TYPES if new else {"id": BigInteger, "seen": Integer})
        for (_key, part), wanted in zip(_PARTS, present, strict=True):
            if wanted:
                sql += part
        if present[0]:
            types["gone"] = ARRAY(Integer)
        sql += _RESULT.format(task_ids=_TASK_IDS if present[4] else _NO_TASK_IDS)
        found = _SHAPES[key] = _statement(sql, types)
    return found


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_dumps = json.JSONEncoder(
    default=_json_default, ensure_ascii=False, separators=(",", ":"), check_circular=False
).encode


async def pg_save(
    db: AsyncSession, run: Run, changes: Changes, instance: dict[str, Any]
) -> dict[int, int] | None:
    """Write the transition; task row ids by seq, or None when the lock was lost.

    A new instance (no id yet) is inserted by the same statement and gets its id."""
    inst = run.inst
    pools = [
        {"seq": task.seq, "kind": kind, "ref_id": int(ref or 0)}
        for task in changes.tasks
        if task.seq in changes.fresh
        for kind, ref in task.candidates
    ]
    doc: dict[str, Any] = {
        "variables": instance["variables"],
        "visited": instance["visited"],
        "error": instance["error"],
    }
    items = (changes.tokens, changes.timers, changes.history, changes.task_rows, pools)
    for key, rows in zip(("tokens", "timers", "history", "tasks", "pools"), items, strict=True):
        if rows:
            doc[key] = rows
    present = (bool(changes.gone), *(bool(rows) for rows in items))
    params = {
        "doc": _dumps(doc),
        "status": instance["status"],
        "seq": instance["seq"],
        "updated_at": instance["updated_at"],
        "ended_at": instance["ended_at"],
        "gone": changes.gone,
    }
    if inst.id is None:
        params.update(
            app_id=run.app_id,
            version_id=run.version_id,
            flow_key=run.flow_key,
            form_id=run.form_id,
            record_id=run.record_id,
            started_by=inst.started_by,
            parent_id=run.parent_id,
            parent_token=run.parent_token,
            parent_call=run.parent_call,
        )
        new_id, task_ids = await pg_direct.fetchrow(db, statement_for(True, present), params)
        inst.id = new_id
        inst.row_version = 0  # the caller counts the write
    else:
        params.update(id=inst.id, seen=inst.row_version)
        locked, task_ids = await pg_direct.fetchrow(db, statement_for(False, present), params)
        if not locked:
            return None
    return {seq: task_id for seq, task_id in task_ids}
