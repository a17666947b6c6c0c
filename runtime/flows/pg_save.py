"""On PostgreSQL a transition's whole write is one statement: data-modifying CTEs update the
instance under its optimistic lock and, only when that succeeded, delete consumed tokens and
upsert tokens, tasks (with their claim pools), timers and history rows passed as JSON arrays.

One round trip instead of six keeps the persisted engine's cost close to the interpreter's
(DESIGN §4). Identifiers are the platform's own table and column names; every value is a
bound parameter.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, Integer, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.db import JsonType, UTCDateTime

if TYPE_CHECKING:
    from runtime.flows.store import Changes, Run

_SAVE = (
    text(
        """
WITH inst AS (
    UPDATE flow_instances
    SET status = :status, variables = :variables, seq = :seq, visited = :visited,
        error = :error, updated_at = :updated_at, ended_at = :ended_at,
        row_version = row_version + 1
    WHERE id = :id AND row_version = :seen
    RETURNING id
), gone AS (
    DELETE FROM flow_tokens
    WHERE instance_id IN (SELECT id FROM inst) AND seq = ANY(:gone)
), tok AS (
    INSERT INTO flow_tokens (instance_id, seq, node, status, via, data)
    SELECT inst.id, r.seq, r.node, r.status, r.via, r.data
    FROM inst, jsonb_to_recordset(:tokens)
        AS r(seq INTEGER, node TEXT, status TEXT, via TEXT, data JSONB)
    ON CONFLICT (instance_id, seq) DO UPDATE
    SET node = EXCLUDED.node, status = EXCLUDED.status, via = EXCLUDED.via, data = EXCLUDED.data
), tim AS (
    INSERT INTO flow_timers (instance_id, seq, node, token, due_at, status, boundary_of)
    SELECT inst.id, r.seq, r.node, r.token, r.due_at, r.status, r.boundary_of
    FROM inst, jsonb_to_recordset(:timers)
        AS r(seq INTEGER, node TEXT, token INTEGER, due_at TIMESTAMPTZ, status TEXT,
             boundary_of INTEGER)
    ON CONFLICT (instance_id, seq) DO UPDATE SET status = EXCLUDED.status
), hist AS (
    INSERT INTO flow_history (instance_id, at, action, actor_id, node, task_seq, data)
    SELECT inst.id, r.at, r.action, r.actor_id, r.node, r.task_seq, r.data
    FROM inst, jsonb_to_recordset(:history)
        AS r(at TIMESTAMPTZ, action TEXT, actor_id BIGINT, node TEXT, task_seq INTEGER,
             data JSONB)
), tsk AS (
    INSERT INTO flow_tasks (instance_id, seq, token, app_id, node, name, status, assignee_id,
        candidates, signer, outcome, comment, data, created_at, due_at, completed_at,
        completed_by)
    SELECT inst.id, r.seq, r.token, r.app_id, r.node, r.name, r.status, r.assignee_id,
        r.candidates, r.signer, r.outcome, r.comment, r.data, r.created_at, r.due_at,
        r.completed_at, r.completed_by
    FROM inst, jsonb_to_recordset(:tasks)
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
    FROM tsk JOIN jsonb_to_recordset(:pools) AS p(seq INTEGER, kind TEXT, ref_id BIGINT)
        ON p.seq = tsk.seq
)
SELECT (SELECT count(*) FROM inst) AS locked,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(tsk.seq, tsk.id)), '[]'::jsonb) FROM tsk)
           AS task_ids
"""
    )
    .bindparams(
        bindparam("variables", type_=JsonType),
        bindparam("visited", type_=JsonType),
        bindparam("error", type_=JsonType),
        bindparam("updated_at", type_=UTCDateTime()),
        bindparam("ended_at", type_=UTCDateTime()),
        bindparam("gone", type_=ARRAY(Integer)),
        bindparam("tokens", type_=JSONB),
        bindparam("timers", type_=JSONB),
        bindparam("history", type_=JSONB),
        bindparam("tasks", type_=JSONB),
        bindparam("pools", type_=JSONB),
        bindparam("id", type_=BigInteger),
        bindparam("seen", type_=Integer),
        bindparam("seq", type_=Integer),
    )
    .columns(locked=Integer, task_ids=JSONB)
)


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


async def pg_save(
    db: AsyncSession, run: Run, changes: Changes, instance: dict[str, Any]
) -> dict[int, int] | None:
    """Write the transition; task row ids by seq, or None when the lock was lost."""
    inst = run.inst
    pools = [
        {"seq": task.seq, "kind": kind, "ref_id": int(ref or 0)}
        for task in changes.tasks
        if task.seq in changes.fresh
        for kind, ref in task.candidates
    ]
    params = {
        **instance,
        "id": inst.id,
        "seen": inst.row_version,
        "gone": changes.gone,
        "tokens": changes.tokens,
        "timers": [_iso(t) for t in changes.timers],
        "history": [_iso(h) for h in changes.history],
        "tasks": [_iso(t) for t in changes.task_rows],
        "pools": pools,
    }
    locked, task_ids = (await db.execute(_SAVE, params)).one()
    if not locked:
        return None
    return {seq: task_id for seq, task_id in task_ids}
