"""Flow transitions against the database (DESIGN §4): start, act on tasks, fire timers, finish
service jobs, cancel — each in the caller's transaction, under the instance's optimistic lock.

A transition loads the instance, lets the engine step it, resolves new tasks' assignees,
saves what changed, and turns the engine's effects into rows: timer and service jobs (with
idempotency keys, so a retried transition never schedules twice), CC notices, child
instances of call activities. When a child ends, its parent moves on in the same transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.flow.engine import Calendars, Engine
from engines.flow.errors import FlowError, TaskNotOpen
from engines.flow.model import ServiceTask, UserTask
from engines.flow.state import COMPLETED, REJECTED, RUNNING, Effect, Task
from runtime.config import get_settings
from runtime.errors import FieldError, ProblemError
from runtime.flows import assign, definitions, loading, store
from runtime.flows.definitions import FlowRef
from runtime.flows.models import FlowCc, FlowInstance, FlowTask
from runtime.flows.records import form_handle, record_context
from runtime.flows.store import Conflict, Run
from runtime.jobs import queue

ENGINE = Engine()
TIMER_JOB = "flow.timer"
SERVICE_JOB = "flow.service"
#: Call activities nested deeper than this fail the instance (a flow calling itself).
MAX_CALL_DEPTH = 8
_ZH_STATUS = {"completed": "完成", "cancelled": "取消", "open": "打开"}


def problem_of(exc: FlowError | Conflict) -> ProblemError:
    """The API problem for an engine refusal."""
    if isinstance(exc, Conflict):
        return ProblemError("conflict", extra={"current_row_version": exc.current})
    if isinstance(exc, TaskNotOpen):
        status = exc.data.get("status") or "gone"
        return ProblemError(
            "task_not_open", params={"status": status, "status_zh": _ZH_STATUS.get(status, status)}
        )
    if exc.code == "instance_finished":
        return ProblemError("instance_finished", extra={"status": exc.data.get("status")})
    if exc.code == "task_taken":
        return ProblemError("task_taken")
    return ProblemError(
        "flow_action_invalid",
        params={"reason": exc.message},
        extra={"reason_code": exc.code, **{k: v for k, v in exc.data.items() if k != "status"}},
    )


# --- loading ------------------------------------------------------------------------------------


async def open_run(
    db: AsyncSession, instance_id: int | None = None, *, task_id: int | None = None
) -> Run:
    """The instance ``instance_id`` (or the one task ``task_id`` belongs to) with its flow and
    record, ready for a transition."""
    loaded = await loading.fetch(db, instance_id=instance_id, task_id=task_id)
    if loaded is None:
        raise ProblemError("not_found")
    row = loaded.row
    flow = await definitions.flow_of(db, row["version_id"], row["flow_key"])
    run = await store.load(db, loaded, flow)
    run.inst.calendars = await _calendars(db, row["version_id"])
    await _load_record(db, run)
    return run


async def _calendars(db: AsyncSession, version_id: int) -> Calendars:
    """Where the version's business-hours timers find their calendars."""
    document = await definitions.definition(db, version_id)
    return definitions.calendars(document, get_settings().time_zone)


async def _load_record(db: AsyncSession, run: Run) -> None:
    if run.form_id is None or run.record_id is None:
        return
    handle = await form_handle(db, run.form_id)
    run.inst.record = await record_context(db, handle, run.record_id) if handle else None


# --- starting -----------------------------------------------------------------------------------


async def start(
    db: AsyncSession,
    ref: FlowRef,
    *,
    actor_id: int | None,
    variables: dict[str, Any] | None = None,
    record_id: int | None = None,
    parent: Run | None = None,
    parent_token: int | None = None,
    parent_call: int | None = None,
    depth: int = 0,
    org_stamp: str | None = None,
) -> Run:
    """Start ``ref`` (on record ``record_id`` of its form, when it has one) and step it.

    ``org_stamp`` is the organisation version this transaction read (a request's principal
    has it): assignees are then resolved from the cache kept under it."""
    record = None
    if ref.flow.form is not None:
        if record_id is None:
            raise ProblemError(
                "validation_failed",
                errors=[FieldError("record_id", "missing", "this flow runs on a record")],
            )
        handle = await form_handle(db, ref.form_id)
        record = await record_context(db, handle, record_id) if handle else None
        if record is None:
            raise ProblemError("not_found", detail=f"record {record_id}")
    elif record_id is not None:
        record_id = None
    inst = ENGINE.start(
        ref.flow,
        variables=variables,
        record=record,
        started_by=actor_id,
        calendars=await _calendars(db, ref.version_id),
    )
    run = Run(
        inst,
        ref.app_id,
        ref.version_id,
        ref.flow.key,
        ref.form_id if record is not None else None,
        record_id,
        parent.id if parent is not None else None,
        parent_token,
        parent_call,
        org_stamp if parent is None else parent.org_stamp,
    )
    await settle(db, run, depth=depth, parent=parent)
    return run


# --- one transition -----------------------------------------------------------------------------


async def transition(db: AsyncSession, instance_id: int, step: Callable[[Run], Any]) -> Run:
    """Load the instance, apply ``step`` (engine calls), and persist the result."""
    run = await open_run(db, instance_id)
    try:
        step(run)
    except FlowError as exc:
        raise problem_of(exc) from exc
    await settle(db, run)
    return run


#: History actions handed to task listeners (automation rules' flow-event triggers).
TASK_EVENTS = ("task_created", "task_completed")
TaskListener = Callable[[AsyncSession, Run, list[dict[str, Any]]], Awaitable[None]]
_task_listeners: list[TaskListener] = []


def on_task_events(listener: TaskListener) -> TaskListener:
    """Register ``listener(db, run, entries)``: called in the transition's transaction with
    the tasks created and completed by it (their history entries), after they are saved."""
    _task_listeners.append(listener)
    return listener


async def settle(db: AsyncSession, run: Run, *, depth: int = 0, parent: Run | None = None) -> None:
    """Resolve assignments, save, and apply effects until the instance waits again."""
    inst = run.inst
    graph = ENGINE.graph(inst)
    for _ in range(1000):
        while inst.pending:
            pending = inst.pending.pop(0)
            node = graph.nodes[pending.node]
            resolution = await assign.resolve(db, run, node, ENGINE.context(inst))
            ENGINE.assign(inst, pending, resolution)
        effects, inst.effects = inst.effects, []
        written = await store.save(db, run)
        if _task_listeners:
            events = [e for e in written if e["action"] in TASK_EVENTS]
            for listener in list(_task_listeners) if events else ():
                await listener(db, run, events)
        moved = False
        for effect in effects:
            moved |= await _apply(db, run, effect, depth)
        if not moved and not inst.pending and not inst.effects:
            break
    if inst.finished and run.parent_id is not None and parent is None:
        await _resume_parent(db, run)


async def _apply(db: AsyncSession, run: Run, effect: Effect, depth: int) -> bool:
    """Turn one effect into rows; True when the instance itself moved on."""
    inst = run.inst
    kind = effect.kind
    if kind == "timer":
        await queue.enqueue(
            db,
            TIMER_JOB,
            {"instance": run.id, "timer": effect.data["timer"]},
            run_at=effect.data["due_at"],
            idempotency_key=f"flow-timer:{run.id}:{effect.data['timer']}",
        )
    elif kind == "service":
        node = ENGINE.graph(inst).nodes[effect.node or ""]
        assert isinstance(node, ServiceTask)
        await queue.enqueue(
            db,
            SERVICE_JOB,
            {"instance": run.id, "token": effect.token, "job": effect.data["job"]},
            idempotency_key=f"flow-service:{run.id}:{effect.data['job']}",
            # One more than the node allows: see runtime.flows.jobs.run_service.
            max_attempts=node.max_attempts + 1,
        )
    elif kind == "notify" and effect.data.get("why") == "cc":
        await _cc(db, run, effect)
    elif kind == "call":
        return await _call(db, run, effect, depth)
    elif kind == "cancel_call":
        await _cancel_child(db, run, effect.token)
    return False


async def _cc(db: AsyncSession, run: Run, effect: Effect) -> None:
    node = ENGINE.graph(run.inst).nodes[effect.node or ""]
    assert isinstance(node, UserTask)
    context = ENGINE.context(run.inst)
    users: list[int] = []
    for cc in node.cc:
        users.extend(await assign.users_of(db, run, cc, context))
    task_seq = effect.data.get("task")
    task = run.inst.tasks.get(task_seq) if task_seq is not None else None
    task_id = task.id if task is not None else None
    rows = [{"instance_id": run.id, "task_id": task_id, "user_id": u} for u in dict.fromkeys(users)]
    if rows:
        await db.execute(insert(FlowCc.__table__), rows)


async def _call(db: AsyncSession, run: Run, effect: Effect, depth: int) -> bool:
    inst = run.inst
    token = effect.token
    assert token is not None
    if depth >= MAX_CALL_DEPTH:
        ENGINE.fail(
            inst, "call_depth", f"call activities nested deeper than {MAX_CALL_DEPTH}", effect.node
        )
        return True
    try:
        child_ref = await definitions.flow_at(db, run.app_id, run.version_id, effect.data["flow"])
    except ProblemError:
        ENGINE.fail(inst, "unknown_flow", f"no flow {effect.data['flow']!r}", effect.node)
        return True
    same_record = child_ref.flow.form is not None and child_ref.form_id == run.form_id
    if child_ref.flow.form is not None and not same_record:
        ENGINE.fail(
            inst, "call_record", "the called flow runs on another form's records", effect.node
        )
        return True
    child = await start(
        db,
        child_ref,
        actor_id=inst.started_by,
        variables=effect.data["variables"],
        record_id=run.record_id if same_record else None,
        parent=run,
        parent_token=token,
        parent_call=effect.data.get("call"),
        depth=depth + 1,
    )
    if child.inst.finished:
        return _child_ended(run, token, child)
    return False


def _child_ended(parent: Run, token: int, child: Run) -> bool:
    """Tell the parent its child ended; False when the parent moved on meanwhile."""
    holder = parent.inst.tokens.get(token)
    call = child.parent_call
    if holder is None or parent.inst.status != RUNNING or (holder.data or {}).get("call") != call:
        return False
    status = child.inst.status
    if status in (COMPLETED, REJECTED):
        variables = {**child.inst.variables, "status": status}
        return ENGINE.child_done(parent.inst, token, variables, call=call)
    ENGINE.fail(parent.inst, "call_failed", f"the called flow ended {status}", holder.node)
    return True


async def _resume_parent(db: AsyncSession, child: Run) -> None:
    """A child started by a call activity has ended: its parent moves on."""
    if child.parent_id is None or child.parent_token is None:
        return
    parent = await open_run(db, child.parent_id)
    if parent.inst.status != RUNNING:
        return
    if _child_ended(parent, child.parent_token, child):
        await settle(db, parent)


async def _cancel_child(db: AsyncSession, run: Run, token: int | None) -> None:
    rows = await db.execute(
        select(FlowInstance.id).where(
            FlowInstance.parent_id == run.id,
            FlowInstance.parent_token == token,
            FlowInstance.status == RUNNING,
        )
    )
    for child_id in rows.scalars():
        child = await open_run(db, child_id)
        ENGINE.cancel(child.inst, user=None, reason="the calling flow moved on")
        await settle(db, child, parent=run)


# --- reading tasks ------------------------------------------------------------------------------


async def open_task(db: AsyncSession, task_id: int) -> tuple[Run, Task]:
    """The instance of task ``task_id`` and the task in it; 404 if there is no such task,
    409 if it is no longer open."""
    try:
        run = await open_run(db, task_id=task_id)
    except ProblemError:
        raise ProblemError("not_found") from None
    for task in run.inst.tasks.values():
        if task.id == task_id:
            return run, task
    status = (await db.execute(select(FlowTask.status).where(FlowTask.id == task_id))).scalar_one()
    raise problem_of(TaskNotOpen(task_id, status))
