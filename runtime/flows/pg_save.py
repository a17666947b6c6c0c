"""On PostgreSQL a transition's whole write is one statement: data-modifying CTEs update the
instance under its optimistic lock (or insert a new one) and, only when that succeeded, delete
consumed tokens and upsert tokens, tasks (with their claim pools), timers and history rows,
all passed in one JSON document (serialised once per transition).

One round trip instead of six keeps the persisted engine's cost close to the interpreter's
(DESIGN §4). Identifiers are the platform's own table and column names; every value is a
bound parameter.
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
_ITEMS = """, gone AS (
    DELETE FROM flow_tokens
    WHERE instance_id IN (SELECT id FROM inst) AND seq = ANY(:gone)
), tok AS (
    INSERT INTO flow_tokens (instance_id, seq, node, status, via, data)
    SELECT inst.id, r.seq, r.node, r.status, r.via, r.data
    FROM inst, d, jsonb_to_recordset(d.doc -> 'tokens')
        AS r(seq INTEGER, node TEXT, status TEXT, via TEXT, data JSONB)
    ON CONFLICT (instance_id, seq) DO UPDATE
    SET node = EXCLUDED.node, status = EXCLUDED.status, via = EXCLUDED.via, data = EXCLUDED.data
), tim AS (
    INSERT INTO flow_timers (instance_id, seq, node, token, due_at, status, boundary_of)
    SELECT inst.id, r.seq, r.node, r.token, r.due_at, r.status, r.boundary_of
    FROM inst, d, jsonb_to_recordset(d.doc -> 'timers')
        AS r(seq INTEGER, node TEXT, token INTEGER, due_at TIMESTAMPTZ, status TEXT,
             boundary_of INTEGER)
    ON CONFLICT (instance_id, seq) DO UPDATE SET status = EXCLUDED.status
), hist AS (
    INSERT INTO flow_history (instance_id, at, action, actor_id, node, task_seq, data)
    SELECT inst.id, r.at, r.action, r.actor_id, r.node, r.task_seq, r.data
    FROM inst, d, jsonb_to_recordset(d.doc -> 'history')
        AS r(at TIMESTAMPTZ, action TEXT, actor_id BIGINT, node TEXT, task_seq INTEGER,
             data JSONB)
), tsk AS (
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
), pools AS (
    INSERT INTO flow_task_pools (task_id, kind, ref_id)
    SELECT tsk.id, p.kind, p.ref_id
    FROM tsk, d, jsonb_to_recordset(d.doc -> 'pools') AS p(seq INTEGER, kind TEXT, ref_id BIGINT)
    WHERE p.seq = tsk.seq
)
SELECT (SELECT id FROM inst) AS locked,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(tsk.seq, tsk.id)), '[]'::jsonb) FROM tsk)
           AS task_ids
"""
_ITEM_TYPES: dict[str, Any] = {
    "doc": Text,
    "updated_at": UTCDateTime(),
    "ended_at": UTCDateTime(),
    "gone": ARRAY(Integer),
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


#: A transition of a stored instance, under its optimistic lock.
_SAVE = _statement(_DOC + _UPDATE + _ITEMS, {**_ITEM_TYPES, "id": BigInteger, "seen": Integer})
#: A new instance's first transition (the instance row inserted by the same statement).
_START = _statement(_DOC + _INSERT + _ITEMS, {**_ITEM_TYPES, **_ROW_TYPES})


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


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
    doc = {
        "variables": instance["variables"],
        "visited": instance["visited"],
        "error": instance["error"],
        "tokens": changes.tokens,
        "timers": [_iso(t) for t in changes.timers],
        "history": [_iso(h) for h in changes.history],
        "tasks": [_iso(t) for t in changes.task_rows],
        "pools": pools,
    }
    params = {
        "doc": json.dumps(doc),
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
        new_id, task_ids = await pg_direct.fetchrow(db, _START, params)
        inst.id = new_id
        inst.row_version = 0  # the caller counts the write
    else:
        params.update(id=inst.id, seen=inst.row_version)
        locked, task_ids = await pg_direct.fetchrow(db, _SAVE, params)
        if not locked:
            return None
    return {seq: task_id for seq, task_id in task_ids}
