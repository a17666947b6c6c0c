"""The task inbox: my tasks, my pools' tasks to claim, tasks I completed, CC'd to me, the
instances I started — each one indexed query, newest first, paged by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from runtime.auth.principal import Principal
from runtime.db import utcnow
from runtime.flows.models import FlowCc, FlowInstance, FlowTask, FlowTaskPool

Box = Literal["mine", "group", "done", "cc"]


def pool_condition(principal: Principal) -> Any:
    """SQL: the task is offered to a pool the principal belongs to."""
    m = principal.membership
    P = FlowTaskPool
    options = [and_(P.kind == "user", P.ref_id == principal.user_id)]
    if principal.is_admin:
        options.append(P.kind == "admins")
    if m is not None:
        roles = set(m.global_role_ids) | {r for ids in m.app_role_ids.values() for r in ids}
        if roles:
            options.append(and_(P.kind == "role", P.ref_id.in_(sorted(roles))))
        if m.group_ids:
            options.append(and_(P.kind == "group", P.ref_id.in_(sorted(m.group_ids))))
        if m.department_paths:
            options.append(and_(P.kind == "department", P.ref_id.in_(sorted(m.department_paths))))
            above = {
                int(p)
                for path in m.department_paths.values()
                for p in path.strip("/").split("/")
                if p
            }
            options.append(and_(P.kind == "department_tree", P.ref_id.in_(sorted(above))))
    return exists().where(P.task_id == FlowTask.id, or_(*options))


def _box(principal: Principal, box: Box) -> Any:
    me = principal.user_id
    if box == "mine":
        return and_(FlowTask.status == "open", FlowTask.assignee_id == me)
    if box == "group":
        return and_(
            FlowTask.status == "open", FlowTask.assignee_id.is_(None), pool_condition(principal)
        )
    if box == "done":
        return and_(FlowTask.completed_by == me, FlowTask.status == "completed")
    if box == "cc":
        return exists().where(FlowCc.task_id == FlowTask.id, FlowCc.user_id == me)
    return false()


def _task_query() -> Any:
    return (
        select(
            FlowTask,
            FlowInstance.flow_key,
            FlowInstance.status,
            FlowInstance.form_id,
            FlowInstance.record_id,
            App.key,
        )
        .join(FlowInstance, FlowInstance.id == FlowTask.instance_id)
        .join(App, App.id == FlowTask.app_id)
    )


def task_out(
    task: FlowTask,
    flow_key: str,
    instance_status: str,
    form_id: int | None,
    record_id: int | None,
    app_key: str,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": task.id,
        "instance_id": task.instance_id,
        "app": app_key,
        "flow": flow_key,
        "instance_status": instance_status,
        "node": task.node,
        "name": task.name,
        "status": task.status,
        "assignee_id": task.assignee_id,
        "candidates": task.candidates,
        "signer": task.signer,
        "outcome": task.outcome,
        "comment": task.comment,
        "form_id": form_id,
        "record_id": record_id,
        "created_at": task.created_at,
        "due_at": task.due_at,
        "overdue": bool(task.status == "open" and task.due_at is not None and task.due_at < now),
        "completed_at": task.completed_at,
        "completed_by": task.completed_by,
    }


async def list_tasks(
    db: AsyncSession,
    principal: Principal,
    box: Box,
    *,
    app: str | None = None,
    overdue: bool | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    now = utcnow()
    query = _task_query().where(_box(principal, box))
    if app is not None:
        query = query.where(App.key == app)
    if overdue is True:
        query = query.where(FlowTask.status == "open", FlowTask.due_at < now)
    elif overdue is False:  # what task_out flags not overdue: closed, no due date, or not yet
        query = query.where(
            or_(FlowTask.status != "open", FlowTask.due_at.is_(None), FlowTask.due_at >= now)
        )
    if before_id is not None:
        query = query.where(FlowTask.id < before_id)
    rows = (await db.execute(query.order_by(FlowTask.id.desc()).limit(limit))).all()
    return [task_out(*row, now) for row in rows]


async def counts(db: AsyncSession, principal: Principal) -> dict[str, int]:
    """How many tasks each box holds (the inbox badges); overdue among mine."""
    now = utcnow()
    result: dict[str, int] = {}
    for box in ("mine", "group", "cc"):
        query = select(func.count()).select_from(FlowTask).where(_box(principal, box))
        if box == "cc":
            query = query.where(FlowTask.status == "open")
        result[box] = int((await db.execute(query)).scalar_one())
    overdue = (
        select(func.count())
        .select_from(FlowTask)
        .where(_box(principal, "mine"), FlowTask.due_at < now)
    )
    result["overdue"] = int((await db.execute(overdue)).scalar_one())
    return result


async def started(
    db: AsyncSession,
    principal: Principal,
    *,
    status: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    query = (
        select(FlowInstance, App.key)
        .join(App, App.id == FlowInstance.app_id)
        .where(FlowInstance.started_by == principal.user_id)
    )
    if status is not None:
        query = query.where(FlowInstance.status == status)
    if before_id is not None:
        query = query.where(FlowInstance.id < before_id)
    rows = (await db.execute(query.order_by(FlowInstance.id.desc()).limit(limit))).all()
    return [instance_summary(row, key) for row, key in rows]


def instance_summary(row: FlowInstance, app_key: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "app": app_key,
        "flow": row.flow_key,
        "status": row.status,
        "form_id": row.form_id,
        "record_id": row.record_id,
        "started_by": row.started_by,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "error": row.error,
        "row_version": row.row_version,
    }


async def may_read_instance(db: AsyncSession, principal: Principal, row: FlowInstance) -> bool:
    """Administrators, the starter, and whoever has or had a task on it, or a CC of it."""
    if principal.is_admin or row.started_by == principal.user_id:
        return True
    me = principal.user_id
    involved = select(FlowTask.id).where(
        FlowTask.instance_id == row.id,
        or_(
            FlowTask.assignee_id == me,
            FlowTask.completed_by == me,
            and_(
                FlowTask.assignee_id.is_(None), FlowTask.status == "open", pool_condition(principal)
            ),
        ),
    )
    if (await db.execute(involved.limit(1))).first() is not None:
        return True
    cc = select(FlowCc.id).where(FlowCc.instance_id == row.id, FlowCc.user_id == me).limit(1)
    return (await db.execute(cc)).first() is not None
