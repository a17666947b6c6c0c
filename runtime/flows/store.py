"""Load an instance's live state from its rows and write back what a transition changed.

Every save takes the optimistic lock: ``UPDATE flow_instances … WHERE row_version = :seen``;
a transition that lost the race (another request or worker moved the instance first) raises
:class:`Conflict` and its transaction rolls back. Only the items a transition touched are
written (their ``state`` mark), with one statement per table and kind of change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engines.flow.model import Flow
from engines.flow.state import CLEAN, FINISHED, NEW, OPEN, PENDING, Instance, Task, Timer, Token
from runtime.db import utcnow
from runtime.flows.models import (
    FlowHistory,
    FlowInstance,
    FlowTask,
    FlowTaskPool,
    FlowTimer,
    FlowToken,
)


class Conflict(Exception):
    """Another transition changed the instance since it was loaded."""

    def __init__(self, instance_id: int, current: int | None) -> None:
        super().__init__(f"instance {instance_id} changed meanwhile")
        self.instance_id = instance_id
        self.current = current


@dataclass
class Run:
    """An instance with the row facts the engine does not need (where its flow and record are)."""

    inst: Instance
    app_id: int
    version_id: int
    flow_key: str
    form_id: int | None = None
    record_id: int | None = None
    parent_id: int | None = None
    parent_token: int | None = None

    @property
    def id(self) -> int:
        assert self.inst.id is not None
        return self.inst.id


# --- statements, built once ---------------------------------------------------------------------

_T = FlowToken.__table__
_K = FlowTask.__table__
_M = FlowTimer.__table__

_UPDATE_INSTANCE = (
    update(FlowInstance)
    .where(FlowInstance.id == bindparam("b_id"), FlowInstance.row_version == bindparam("b_seen"))
    .values(
        status=bindparam("b_status"),
        variables=bindparam("b_variables"),
        seq=bindparam("b_seq"),
        visited=bindparam("b_visited"),
        error=bindparam("b_error"),
        updated_at=bindparam("b_now"),
        ended_at=bindparam("b_ended"),
        row_version=bindparam("b_seen") + 1,
    )
)
_UPDATE_TOKEN = (
    update(_T)
    .where(_T.c.instance_id == bindparam("b_instance"), _T.c.seq == bindparam("b_seq"))
    .values(
        node=bindparam("b_node"),
        status=bindparam("b_status"),
        via=bindparam("b_via"),
        data=bindparam("b_data"),
    )
)
_UPDATE_TASK = (
    update(_K)
    .where(_K.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        assignee_id=bindparam("b_assignee"),
        outcome=bindparam("b_outcome"),
        comment=bindparam("b_comment"),
        data=bindparam("b_data"),
        due_at=bindparam("b_due"),
        completed_at=bindparam("b_completed_at"),
        completed_by=bindparam("b_completed_by"),
    )
)
_UPDATE_TIMER = (
    update(_M)
    .where(_M.c.instance_id == bindparam("b_instance"), _M.c.seq == bindparam("b_seq"))
    .values(status=bindparam("b_status"))
)
_POOL_KINDS = {"user", "role", "group", "department", "department_tree", "admins"}


# --- load ---------------------------------------------------------------------------------------


async def load_row(db: AsyncSession, instance_id: int) -> FlowInstance | None:
    return await db.get(FlowInstance, instance_id, populate_existing=True)


async def load(db: AsyncSession, row: FlowInstance, flow: Flow) -> Run:
    """The live state of ``row``: its tokens, open tasks and pending timers."""
    inst = Instance(
        flow,
        id=row.id,
        variables=dict(row.variables or {}),
        started_by=row.started_by,
    )
    inst.status = row.status
    inst.seq = row.seq
    inst.visited = list(row.visited or [])
    inst.error = row.error
    inst.row_version = row.row_version
    instance_id = row.id
    if row.status not in FINISHED:
        for t in (await db.execute(select(_T).where(_T.c.instance_id == instance_id))).all():
            inst.tokens[t.seq] = Token(t.seq, t.node, t.status, t.via, t.data, CLEAN)
        tasks = select(_K).where(_K.c.instance_id == instance_id, _K.c.status == OPEN)
        for k in (await db.execute(tasks)).all():
            inst.tasks[k.seq] = Task(
                k.seq,
                k.node,
                k.token,
                k.created_at,
                assignee=k.assignee_id,
                candidates=list(k.candidates or []),
                status=k.status,
                due_at=k.due_at,
                signer=k.signer,
                outcome=k.outcome,
                comment=k.comment,
                data=k.data,
                id=k.id,
                state=CLEAN,
            )
        timers = select(_M).where(_M.c.instance_id == instance_id, _M.c.status == PENDING)
        for m in (await db.execute(timers)).all():
            inst.timers[m.seq] = Timer(
                m.seq, m.node, m.token, m.due_at, m.status, m.boundary_of, CLEAN
            )
    return Run(
        inst,
        row.app_id,
        row.version_id,
        row.flow_key,
        row.form_id,
        row.record_id,
        row.parent_id,
        row.parent_token,
    )


# --- save ---------------------------------------------------------------------------------------


async def save(db: AsyncSession, run: Run, now: datetime | None = None) -> None:
    """Write what changed since the last load or save (one transition), under the lock."""
    now = now or utcnow()
    inst = run.inst
    ended = now if inst.finished else None
    if inst.id is None:
        inst.id = (
            await db.execute(
                insert(FlowInstance)
                .values(
                    app_id=run.app_id,
                    version_id=run.version_id,
                    flow_key=run.flow_key,
                    form_id=run.form_id,
                    record_id=run.record_id,
                    status=inst.status,
                    variables=inst.variables,
                    seq=inst.seq,
                    visited=inst.visited,
                    error=inst.error,
                    started_by=inst.started_by,
                    started_at=now,
                    updated_at=now,
                    ended_at=ended,
                    parent_id=run.parent_id,
                    parent_token=run.parent_token,
                    row_version=1,
                )
                .returning(FlowInstance.id)
            )
        ).scalar_one()
        inst.row_version = 1
    else:
        result = await db.execute(
            _UPDATE_INSTANCE,
            {
                "b_id": inst.id,
                "b_seen": inst.row_version,
                "b_status": inst.status,
                "b_variables": inst.variables,
                "b_seq": inst.seq,
                "b_visited": inst.visited,
                "b_error": inst.error,
                "b_now": now,
                "b_ended": ended,
            },
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            current = (
                await db.execute(select(FlowInstance.row_version).where(FlowInstance.id == inst.id))
            ).scalar_one_or_none()
            raise Conflict(inst.id, current)
        inst.row_version += 1
    inst.dirty = False
    await _save_tokens(db, inst)
    await _save_tasks(db, run, now)
    await _save_timers(db, inst)
    await _save_history(db, inst)


async def _save_tokens(db: AsyncSession, inst: Instance) -> None:
    instance_id = inst.id
    if inst.gone_tokens:
        await db.execute(
            delete(_T).where(_T.c.instance_id == instance_id, _T.c.seq.in_(inst.gone_tokens))
        )
        inst.gone_tokens = []
    new: list[dict[str, Any]] = []
    dirty: list[dict[str, Any]] = []
    for token in inst.tokens.values():
        if token.state == CLEAN:
            continue
        if token.state == NEW:
            new.append(
                {
                    "instance_id": instance_id,
                    "seq": token.seq,
                    "node": token.node,
                    "status": token.status,
                    "via": token.via,
                    "data": token.data,
                }
            )
        else:
            dirty.append(
                {
                    "b_instance": instance_id,
                    "b_seq": token.seq,
                    "b_node": token.node,
                    "b_status": token.status,
                    "b_via": token.via,
                    "b_data": token.data,
                }
            )
        token.state = CLEAN
    if new:
        await db.execute(insert(_T), new)
    if dirty:
        await db.execute(_UPDATE_TOKEN, dirty)


async def _save_tasks(db: AsyncSession, run: Run, now: datetime) -> None:
    inst = run.inst
    graph_nodes = {n.id: n for n in inst.flow.nodes}
    new: list[Task] = []
    dirty: list[dict[str, Any]] = []
    for task in list(inst.tasks.values()):
        if task.state == CLEAN:
            continue
        if task.state == NEW:
            new.append(task)
        else:
            dirty.append(
                {
                    "b_id": task.id,
                    "b_status": task.status,
                    "b_assignee": task.assignee,
                    "b_outcome": task.outcome,
                    "b_comment": task.comment,
                    "b_data": task.data,
                    "b_due": task.due_at,
                    "b_completed_at": task.completed_at,
                    "b_completed_by": task.completed_by,
                }
            )
        task.state = CLEAN
        if task.status != OPEN:
            # Closed tasks no longer take part in transitions (the inbox reads their rows).
            del inst.tasks[task.seq]
    if new:
        rows = [
            {
                "instance_id": inst.id,
                "seq": t.seq,
                "token": t.token,
                "app_id": run.app_id,
                "node": t.node,
                "name": dict(getattr(graph_nodes.get(t.node), "name", None) or {}),
                "status": t.status,
                "assignee_id": t.assignee,
                "candidates": t.candidates,
                "signer": t.signer,
                "outcome": t.outcome,
                "comment": t.comment,
                "data": t.data,
                "created_at": t.created_at,
                "due_at": t.due_at,
                "completed_at": t.completed_at,
                "completed_by": t.completed_by,
            }
            for t in new
        ]
        ids = (
            await db.execute(
                insert(_K).returning(_K.c.id, _K.c.seq, sort_by_parameter_order=True), rows
            )
        ).all()
        by_seq = {seq: task_id for task_id, seq in ids}
        pools: list[dict[str, Any]] = []
        for task in new:
            task.id = by_seq[task.seq]
            for kind, ref in task.candidates:
                if kind in _POOL_KINDS:
                    pools.append({"task_id": task.id, "kind": kind, "ref_id": int(ref or 0)})
        if pools:
            await db.execute(insert(FlowTaskPool.__table__), pools)
    if dirty:
        await db.execute(_UPDATE_TASK, dirty)


async def _save_timers(db: AsyncSession, inst: Instance) -> None:
    new: list[dict[str, Any]] = []
    dirty: list[dict[str, Any]] = []
    for timer in list(inst.timers.values()):
        if timer.state == CLEAN:
            continue
        if timer.state == NEW:
            new.append(
                {
                    "instance_id": inst.id,
                    "seq": timer.seq,
                    "node": timer.node,
                    "token": timer.token,
                    "due_at": timer.due_at,
                    "status": timer.status,
                    "boundary_of": timer.boundary_of,
                }
            )
        else:
            dirty.append({"b_instance": inst.id, "b_seq": timer.seq, "b_status": timer.status})
        timer.state = CLEAN
        if timer.status != PENDING:
            del inst.timers[timer.seq]
    if new:
        await db.execute(insert(_M), new)
    if dirty:
        await db.execute(_UPDATE_TIMER, dirty)


async def _save_history(db: AsyncSession, inst: Instance) -> None:
    if not inst.history:
        return
    rows = [
        {
            "instance_id": inst.id,
            "at": e.at,
            "action": e.action,
            "actor_id": e.actor,
            "node": e.node,
            "task_seq": e.task,
            "data": _jsonable(e.data),
        }
        for e in inst.history
    ]
    inst.history = []
    await db.execute(insert(FlowHistory.__table__), rows)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
