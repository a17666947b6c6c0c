"""The flows API: start instances, the task inbox, working tasks, an instance's position and
history. Thin: the work is in :mod:`runtime.flows.service` and :mod:`runtime.flows.tasks`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from engines.flow.graph import graph_of
from engines.flow.model import UserTask
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.deps import MAX_ID, CurrentUser, IdPath, SessionDep
from runtime.errors import FieldError, ProblemError
from runtime.flows import definitions, inbox, service, tasks
from runtime.flows.models import FlowHistory, FlowInstance, FlowTask, FlowToken
from runtime.flows.records import form_handle, record_context
from runtime.flows.schemas import (
    CancelIn,
    CompleteIn,
    CountsOut,
    FlowOut,
    HistoryOut,
    HistoryPage,
    InstanceDetailOut,
    InstanceOut,
    InstancePage,
    PositionOut,
    ReturnIn,
    SignerIn,
    StartIn,
    TaskDetailOut,
    TaskOut,
    TaskPage,
    TransferIn,
)
from runtime.flows.store import Conflict
from runtime.permissions.access import grantee_matches
from runtime.records.forms import published_form
from runtime.records.scope import read_scope
from runtime.records.writer import commit_and_dispatch

flows_router = APIRouter(tags=["flows"])
Limit = Annotated[int, Query(ge=1, le=200)]
BeforeId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Key = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


@asynccontextmanager
async def transition(db: AsyncSession) -> AsyncIterator[None]:
    """Commit the block's transition; losing the optimistic lock is a 409."""
    try:
        yield
        await commit_and_dispatch(db)
    except Conflict as exc:
        await db.rollback()
        raise service.problem_of(exc) from exc
    except BaseException:
        await db.rollback()
        raise


# --- flows and instances ------------------------------------------------------------------------


@flows_router.get("/api/v1/apps/{app_key}/flows", response_model=list[FlowOut])
async def list_flows(app_key: Key, user: CurrentUser, db: SessionDep) -> list[FlowOut]:
    refs = await definitions.published_flows(db, app_key)
    return [
        FlowOut(
            key=r.flow.key,
            name=r.flow.name,
            form=r.flow.form,
            triggers=[t.model_dump(mode="json") for t in r.flow.triggers],
        )
        for r in refs
        if await _may_start(db, user, r, None, check_record=False)
    ]


async def _may_start(
    db: AsyncSession,
    user: Principal,
    ref: definitions.FlowRef,
    record_id: int | None,
    *,
    check_record: bool = True,
) -> bool:
    """Administrators; on a record, whoever may read it; without one, anyone the app grants."""
    if user.is_admin:
        return True
    if ref.flow.form is None or not check_record:
        document = await definitions.definition(db, ref.version_id)
        return any(grantee_matches(g.grantee, user, ref.app_id) for g in document.permissions)
    handle = await published_form(db, ref.form_id or 0)
    if handle is None or record_id is None:
        return False
    found = await db.execute(
        select(handle.table.c.id).where(handle.table.c.id == record_id, read_scope(handle, user))
    )
    return found.first() is not None


@flows_router.post(
    "/api/v1/apps/{app_key}/flows/{flow_key}/instances",
    response_model=InstanceDetailOut,
    status_code=status.HTTP_201_CREATED,
)
async def start_instance(
    app_key: Key, flow_key: Key, body: StartIn, user: CurrentUser, db: SessionDep
) -> InstanceDetailOut:
    """Start a flow (on a record of its form, when it has one)."""
    ref = await definitions.published_flow(db, app_key, flow_key)
    if not await _may_start(db, user, ref, body.record_id):
        raise ProblemError("not_found" if ref.flow.form else "forbidden")
    async with transition(db):
        run = await service.start(
            db,
            ref,
            actor_id=user.user_id,
            variables=body.variables,
            record_id=body.record_id,
            org_stamp=user.org_stamp,
        )
        instance_id = run.id
    return await instance_detail(db, instance_id)


@flows_router.get("/api/v1/flow-instances", response_model=InstancePage)
async def list_instances(
    user: CurrentUser,
    db: SessionDep,
    box: Literal["started", "all"] = "started",
    status_: Annotated[
        Literal["running", "completed", "rejected", "cancelled", "failed"] | None,
        Query(alias="status"),
    ] = None,
    before_id: BeforeId = None,
    limit: Limit = 50,
) -> InstancePage:
    """Instances I started (``all``: every instance, for administrators)."""
    if box == "all":
        if not user.is_admin:
            raise ProblemError("admin_required")
        query = select(FlowInstance, App.key).join(App, App.id == FlowInstance.app_id)
        if status_:
            query = query.where(FlowInstance.status == status_)
        if before_id:
            query = query.where(FlowInstance.id < before_id)
        rows = (await db.execute(query.order_by(FlowInstance.id.desc()).limit(limit))).all()
        items = [inbox.instance_summary(r, k) for r, k in rows]
    else:
        items = await inbox.started(db, user, status=status_, before_id=before_id, limit=limit)
    return InstancePage(
        items=[InstanceOut(**i) for i in items],
        next_before_id=items[-1]["id"] if len(items) == limit else None,
    )


async def readable_instance(db: AsyncSession, user: Principal, instance_id: int) -> FlowInstance:
    row = await db.get(FlowInstance, instance_id)
    if row is None or not await inbox.may_read_instance(db, user, row):
        raise ProblemError("not_found")
    return row


async def instance_detail(db: AsyncSession, instance_id: int) -> InstanceDetailOut:
    # One consistent picture: the instance row is read FOR SHARE, so no transition (each one
    # updates that row) commits between it and the reads of its tokens and tasks below
    # (PostgreSQL reads each statement at its own moment; SQLite's transaction is a snapshot).
    row = (
        await db.execute(
            select(FlowInstance)
            .where(FlowInstance.id == instance_id)
            .with_for_update(read=True)
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    assert row is not None
    app_key = (await db.execute(select(App.key).where(App.id == row.app_id))).scalar_one()
    ref = await definitions.flow_at(db, row.app_id, row.version_id, row.flow_key)
    graph = graph_of(ref.flow)
    children = (
        (await db.execute(select(FlowInstance.id).where(FlowInstance.parent_id == row.id)))
        .scalars()
        .all()
    )
    counts: dict[str, int] = {}
    for node in (
        await db.execute(select(FlowToken.node).where(FlowToken.instance_id == row.id))
    ).scalars():
        counts[node] = counts.get(node, 0) + 1
    position = [
        PositionOut(node=n, type=graph.nodes[n].type, name=graph.nodes[n].name, tokens=c)
        for n, c in sorted(counts.items())
        if n in graph.nodes
    ]
    now = service.ENGINE.clock()
    open_tasks = (
        await db.execute(
            select(FlowTask)
            .where(FlowTask.instance_id == row.id, FlowTask.status == "open")
            .order_by(FlowTask.id)
        )
    ).scalars()
    task_items = [
        TaskOut(
            **inbox.task_out(t, row.flow_key, row.status, row.form_id, row.record_id, app_key, now)
        )
        for t in open_tasks
    ]
    return InstanceDetailOut(
        **inbox.instance_summary(row, app_key),
        variables=row.variables or {},
        position=position,
        tasks=task_items,
        children=list(children),
        parent_id=row.parent_id,
    )


@flows_router.get("/api/v1/flow-instances/{instance_id}", response_model=InstanceDetailOut)
async def get_instance(instance_id: IdPath, user: CurrentUser, db: SessionDep) -> InstanceDetailOut:
    """Where the instance stands: status, position, open tasks, variables."""
    await readable_instance(db, user, instance_id)
    return await instance_detail(db, instance_id)


@flows_router.get("/api/v1/flow-instances/{instance_id}/history", response_model=HistoryPage)
async def get_history(
    instance_id: IdPath,
    user: CurrentUser,
    db: SessionDep,
    after_id: BeforeId = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> HistoryPage:
    """Everything the instance did, oldest first: who, what, when, which data changed."""
    await readable_instance(db, user, instance_id)
    query = select(FlowHistory).where(FlowHistory.instance_id == instance_id)
    if after_id:
        query = query.where(FlowHistory.id > after_id)
    rows = (await db.execute(query.order_by(FlowHistory.id).limit(limit))).scalars().all()
    return HistoryPage(
        items=[HistoryOut.model_validate(r, from_attributes=True) for r in rows],
        next_after_id=rows[-1].id if len(rows) == limit else None,
    )


@flows_router.post("/api/v1/flow-instances/{instance_id}/cancel", response_model=InstanceDetailOut)
async def cancel_instance(
    instance_id: IdPath, body: CancelIn, user: CurrentUser, db: SessionDep
) -> InstanceDetailOut:
    """Cancel a running instance (its starter or an administrator)."""
    row = await readable_instance(db, user, instance_id)
    if not (user.is_admin or row.started_by == user.user_id):
        raise ProblemError("forbidden")
    async with transition(db):
        await service.transition(
            db,
            instance_id,
            lambda run: service.ENGINE.cancel(run.inst, user=user.user_id, reason=body.reason),
        )
    return await instance_detail(db, instance_id)


# --- the inbox ----------------------------------------------------------------------------------


@flows_router.get("/api/v1/tasks", response_model=TaskPage)
async def list_tasks(
    user: CurrentUser,
    db: SessionDep,
    box: inbox.Box = "mine",
    app: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    before_id: BeforeId = None,
    limit: Limit = 50,
) -> TaskPage:
    """``mine``: assigned to me; ``group``: offered to my roles, groups or departments to
    claim; ``done``: completed by me; ``cc``: copied to me."""
    items = await inbox.list_tasks(
        db, user, box, app=app, overdue=overdue, before_id=before_id, limit=limit
    )
    return TaskPage(
        items=[TaskOut(**i) for i in items],
        next_before_id=items[-1]["id"] if len(items) == limit else None,
    )


@flows_router.get("/api/v1/tasks/counts", response_model=CountsOut)
async def task_counts(user: CurrentUser, db: SessionDep) -> CountsOut:
    return CountsOut(**await inbox.counts(db, user))


async def task_detail(db: AsyncSession, user: Principal, task_id: int) -> TaskDetailOut:
    row = (await db.execute(inbox._task_query().where(FlowTask.id == task_id))).one_or_none()
    if row is None:
        raise ProblemError("not_found")
    task: FlowTask = row[0]
    instance = await db.get(FlowInstance, task.instance_id)
    assert instance is not None
    if not await inbox.may_read_instance(db, user, instance):
        raise ProblemError("not_found")
    now = service.ENGINE.clock()
    out = inbox.task_out(*row, now)
    ref = await definitions.flow_at(db, instance.app_id, instance.version_id, instance.flow_key)
    node = graph_of(ref.flow).nodes.get(task.node)
    rights: dict[str, str] = dict(node.fields) if isinstance(node, UserTask) else {}
    record = None
    run = None
    if task.status == "open" and instance.status == "running":
        run = await service.open_run(db, instance.id)
        record = run.inst.record
    elif instance.form_id and instance.record_id:
        handle = await form_handle(db, instance.form_id)
        record = await record_context(db, handle, instance.record_id) if handle else None
    if record is not None:
        record = {k: v for k, v in record.items() if rights.get(k) != "hidden"}
    actions: list[str] = []
    countersign = None
    targets: list[str] = []
    if run is not None and isinstance(node, UserTask):
        engine_task = run.inst.tasks.get(task.seq)
        if engine_task is not None and tasks.may_work(user, engine_task):
            actions = (
                ["approve", "reject"] if node.countersign else ["complete", "approve", "reject"]
            )
            actions += ["transfer", "return"]
            if node.countersign and node.countersign.allow_add_signer:
                actions.append("add_signer")
            if engine_task.candidates:
                actions.append("release" if engine_task.assignee else "claim")
        if engine_task is not None:
            targets = service.ENGINE.return_targets(run.inst, engine_task.seq)
        token = run.inst.tokens.get(task.token)
        if node.countersign and token is not None and token.data:
            countersign = {
                "mode": node.countersign.mode,
                "n": node.countersign.n,
                "sequential": node.countersign.sequential,
                "signers": [s for s in token.data.get("signers", []) if isinstance(s, int)],
                "approvals": token.data.get("approve", 0),
                "rejections": token.data.get("reject", 0),
            }
    return TaskDetailOut(
        **out,
        actions=actions,
        fields=rights,
        record=record,
        countersign=countersign,
        return_targets=targets,
    )


@flows_router.get("/api/v1/tasks/{task_id}", response_model=TaskDetailOut)
async def get_task(task_id: IdPath, user: CurrentUser, db: SessionDep) -> TaskDetailOut:
    """A task with its step's field rights, the record as the step shows it, and what you
    may do now."""
    return await task_detail(db, user, task_id)


@flows_router.post("/api/v1/tasks/{task_id}/complete", response_model=TaskDetailOut)
async def complete_task(
    task_id: IdPath, body: CompleteIn, user: CurrentUser, db: SessionDep
) -> TaskDetailOut:
    """Complete, approve or reject the task with the data the step asks for."""
    async with transition(db):
        await tasks.complete(
            db,
            user,
            task_id,
            action=body.action,
            fields=body.fields,
            variables=body.variables,
            comment=body.comment,
        )
    return await task_detail(db, user, task_id)


async def _act(
    db: AsyncSession, user: Principal, task_id: int, op: str, **kw: Any
) -> TaskDetailOut:
    async with transition(db):
        await tasks.act(db, user, task_id, op, **kw)
    return await task_detail(db, user, task_id)


@flows_router.post("/api/v1/tasks/{task_id}/claim", response_model=TaskDetailOut)
async def claim_task(task_id: IdPath, user: CurrentUser, db: SessionDep) -> TaskDetailOut:
    """Take a task offered to one of your pools."""
    return await _act(db, user, task_id, "claim")


@flows_router.post("/api/v1/tasks/{task_id}/release", response_model=TaskDetailOut)
async def release_task(task_id: IdPath, user: CurrentUser, db: SessionDep) -> TaskDetailOut:
    """Give a claimed task back to its pools."""
    return await _act(db, user, task_id, "release")


@flows_router.post("/api/v1/tasks/{task_id}/transfer", response_model=TaskDetailOut)
async def transfer_task(
    task_id: IdPath, body: TransferIn, user: CurrentUser, db: SessionDep
) -> TaskDetailOut:
    """Hand the task to someone else 转交."""
    await _active_user(db, body.to, "to")
    return await _act(db, user, task_id, "transfer", to=body.to, comment=body.comment)


@flows_router.post("/api/v1/tasks/{task_id}/signers", response_model=TaskDetailOut)
async def add_signer(
    task_id: IdPath, body: SignerIn, user: CurrentUser, db: SessionDep
) -> TaskDetailOut:
    """Add a signer to the countersign this task belongs to 加签."""
    await _active_user(db, body.user, "user")
    return await _act(db, user, task_id, "add_signer", signer=body.user)


@flows_router.post("/api/v1/tasks/{task_id}/return", response_model=TaskDetailOut)
async def return_task(
    task_id: IdPath, body: ReturnIn, user: CurrentUser, db: SessionDep
) -> TaskDetailOut:
    """Send the instance back to an earlier step 退回."""
    return await _act(db, user, task_id, "return_to", target=body.target, comment=body.comment)


async def _active_user(db: AsyncSession, user_id: int, field: str) -> None:
    found = await db.execute(select(User.id).where(User.id == user_id, User.is_active.is_(True)))
    if found.first() is None:
        raise ProblemError(
            "validation_failed",
            errors=[FieldError(field, "unknown_user", f"no active user {user_id}")],
        )
