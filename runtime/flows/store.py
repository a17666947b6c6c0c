"""Load an instance's live state from its rows and write back what a transition changed.

Every save takes the optimistic lock: ``UPDATE flow_instances … WHERE row_version = :seen``;
a transition that lost the race (another request or worker moved the instance first) raises
:class:`Conflict` and its transaction rolls back. Only the items a transition touched are
written (their ``state`` mark): one statement on PostgreSQL, one trip to the connection's
thread on SQLite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.flow.graph import graph_of
from engines.flow.model import Flow
from engines.flow.state import CLEAN, NEW, OPEN, PENDING, Instance, Task, Timer, Token
from runtime.db import utcnow
from runtime.flows.loading import Loaded, as_datetime
from runtime.flows.models import (
    FlowInstance,
)
from runtime.flows.pg_save import pg_save
from runtime.flows.sqlite_save import sqlite_save


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
    parent_call: int | None = None
    #: The organisation version read with the instance (None for a new one).
    org_stamp: str | None = None

    @property
    def id(self) -> int:
        assert self.inst.id is not None
        return self.inst.id


_I = FlowInstance.__table__


# --- load ---------------------------------------------------------------------------------------


async def load(db: AsyncSession, loaded: Loaded, flow: Flow) -> Run:
    """The live state of an instance read by :func:`runtime.flows.loading.fetch`."""
    row = loaded.row
    inst = Instance(
        flow, id=row["id"], variables=dict(row["variables"] or {}), started_by=row["started_by"]
    )
    inst.status = row["status"]
    inst.seq = row["seq"]
    inst.visited = list(row["visited"] or [])
    inst.error = row["error"]
    inst.row_version = row["row_version"]
    for seq, node, status, via, data in loaded.tokens:
        inst.tokens[seq] = Token(seq, node, status, via, data, CLEAN)
    for (
        task_id, seq, node, token, created_at, assignee, candidates, status,
        due_at, signer, outcome, comment, data,
    ) in loaded.tasks:  # fmt: skip
        inst.tasks[seq] = Task(
            seq,
            node,
            token,
            as_datetime(created_at) or utcnow(),
            assignee=assignee,
            candidates=list(candidates or []),
            status=status,
            due_at=as_datetime(due_at),
            signer=signer,
            outcome=outcome,
            comment=comment,
            data=data,
            id=task_id,
            state=CLEAN,
        )
    for seq, node, token, due_at, status, boundary_of in loaded.timers:
        inst.timers[seq] = Timer(
            seq, node, token, as_datetime(due_at) or utcnow(), status, boundary_of, CLEAN
        )
    return Run(
        inst,
        row["app_id"],
        row["version_id"],
        row["flow_key"],
        row["form_id"],
        row["record_id"],
        row["parent_id"],
        row["parent_token"],
        row["parent_call"],
        row.get("org_stamp"),
    )


# --- save ---------------------------------------------------------------------------------------


@dataclass
class Changes:
    """What one transition changed, as rows (collected once, written by either path)."""

    gone: list[int]
    tokens: list[dict[str, Any]]
    tasks: list[Task]
    task_rows: list[dict[str, Any]]
    fresh: set[int]
    timers: list[dict[str, Any]]
    history: list[dict[str, Any]]


def _collect(run: Run) -> Changes:
    inst = run.inst
    gone, inst.gone_tokens = inst.gone_tokens, []
    tokens = []
    for token in inst.tokens.values():
        if token.state != CLEAN:
            tokens.append(
                {
                    "seq": token.seq,
                    "node": token.node,
                    "status": token.status,
                    "via": token.via,
                    "data": token.data,
                }
            )
            token.state = CLEAN
    nodes = graph_of(inst.flow).nodes
    changed: list[Task] = []
    fresh: set[int] = set()
    for task in list(inst.tasks.values()):
        if task.state == CLEAN:
            continue
        changed.append(task)
        if task.state == NEW:
            fresh.add(task.seq)
        task.state = CLEAN
        if task.status != OPEN:
            # Closed tasks no longer take part in transitions (the inbox reads their rows).
            del inst.tasks[task.seq]
    task_rows = [
        {
            "seq": t.seq,
            "token": t.token,
            "app_id": run.app_id,
            "node": t.node,
            "name": dict(getattr(nodes.get(t.node), "name", None) or {}),
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
        for t in changed
    ]
    timers = []
    for timer in list(inst.timers.values()):
        if timer.state == CLEAN:
            continue
        timers.append(
            {
                "seq": timer.seq,
                "node": timer.node,
                "token": timer.token,
                "due_at": timer.due_at,
                "status": timer.status,
                "boundary_of": timer.boundary_of,
            }
        )
        timer.state = CLEAN
        if timer.status != PENDING:
            del inst.timers[timer.seq]
    history = [
        {
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
    return Changes(gone, tokens, changed, task_rows, fresh, timers, history)


def _instance_values(run: Run, now: datetime) -> dict[str, Any]:
    inst = run.inst
    return {
        "status": inst.status,
        "variables": inst.variables,
        "seq": inst.seq,
        "visited": inst.visited,
        "error": inst.error,
        "updated_at": now,
        "ended_at": now if inst.finished else None,
    }


async def save(db: AsyncSession, run: Run, now: datetime | None = None) -> list[dict[str, Any]]:
    """Write what changed since the last load or save (one transition), under the lock;
    returns the history entries written (what happened in the transition).

    One statement on PostgreSQL (:mod:`runtime.flows.pg_save`), one trip to the connection's
    thread on SQLite (:mod:`runtime.flows.sqlite_save`)."""
    now = now or utcnow()
    inst = run.inst
    changes = _collect(run)
    inst.dirty = False
    values = _instance_values(run, now)
    if db.get_bind().dialect.name == "postgresql":
        ids = await pg_save(db, run, changes, values)
    else:
        written = await sqlite_save(db, run, changes, values, now)
        if written is not None and inst.id is None:
            inst.id, inst.row_version = written.instance_id, 0
        ids = written.task_ids if written is not None else None
    if ids is None:
        await _conflict(db, inst)
    inst.row_version += 1
    _assign_ids(changes, ids or {})
    return changes.history


def _assign_ids(changes: Changes, ids: dict[int, int]) -> None:
    """Give new tasks their row ids."""
    for task in changes.tasks:
        task.id = ids.get(task.seq, task.id)


async def _conflict(db: AsyncSession, inst: Instance) -> None:
    current = (
        await db.execute(select(_I.c.row_version).where(_I.c.id == inst.id))
    ).scalar_one_or_none()
    assert inst.id is not None
    raise Conflict(inst.id, current)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
