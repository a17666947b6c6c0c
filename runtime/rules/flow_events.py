"""Rules fired by flows: a task created or completed (in the transition's transaction, right
after the flow saved it) or overdue (found by the rules scan: open tasks past their due time,
once per task and due time)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from builder.apps.definition import AppDefinition
from engines.rules.match import event_data
from engines.rules.spec import FlowEvent, Rule
from runtime.flows import definitions
from runtime.flows.models import FlowInstance, FlowTask
from runtime.flows.records import form_handle, record_context
from runtime.flows.service import on_task_events
from runtime.flows.store import Run
from runtime.records.forms import FormHandle
from runtime.records.writer import RecordEvent, commit_and_dispatch
from runtime.rules.models import RuleMark
from runtime.rules.service import mark, published_versions, rule_set, run_rule, switches

_marks = RuleMark.__table__


def _flow(key: str, event: str, node: str | None, task_id: int | None, assignee: Any) -> Any:
    return {"key": key, "event": event, "node": node, "task_id": task_id, "assignee": assignee}


async def _fire(
    db: AsyncSession,
    app_id: int,
    version_id: int,
    definition: AppDefinition,
    handle: FormHandle,
    record_id: int,
    flow: dict[str, Any],
    actor: int | None,
    only: Rule | None = None,
    claim: Callable[[], Awaitable[bool]] | None = None,
) -> int:
    """Fire the flow-event rules the event matches (``only`` that one); ``claim`` is asked
    once they are known to fire (the overdue scan marks the task there, so a task whose rule
    does not hold yet stays unmarked and fires once it does)."""
    record = await record_context(db, handle, record_id)
    if record is None:
        return 0
    data = event_data(record, {}, "flow_event", actor)
    data["event"]["flow"] = flow
    event = RecordEvent("flow_event", app_id, handle.form_id, record_id, actor, {}, version_id)
    enabled = await switches(db, app_id)
    rules = rule_set(version_id, definition)
    firing = rules.firing(handle.form.key, "flow_event", {}, data, enabled)
    if only is not None:
        firing = [r for r in firing if r.key == only.key]
    if firing and claim is not None and not await claim():
        return 0
    for rule in firing:
        await run_rule(db, event, handle, definition, rule, data, 0, occasion=flow["task_id"])
    return len(firing)


@on_task_events
async def fire_task_events(db: AsyncSession, run: Run, entries: list[dict[str, Any]]) -> None:
    if run.form_id is None or run.record_id is None:
        return
    definition = await definitions.definition(db, run.version_id)
    if not definition.rules or not rule_set(run.version_id, definition).flow_rules():
        return
    handle = await form_handle(db, run.form_id)
    if handle is None:
        return
    for entry in entries:
        task = run.inst.tasks.get(entry["task_seq"]) if entry.get("task_seq") is not None else None
        flow = _flow(
            run.flow_key,
            entry["action"],
            entry.get("node"),
            task.id if task is not None else None,
            task.assignee if task is not None else None,
        )
        await _fire(
            db,
            run.app_id,
            run.version_id,
            definition,
            handle,
            run.record_id,
            flow,
            entry.get("actor_id"),
        )


def overdue_statement(app_id: int, rule: Rule, now: datetime) -> Any:
    """Open tasks past their due time that ``rule`` has not fired for (task, due time)."""
    trigger = rule.trigger
    assert isinstance(trigger, FlowEvent)
    where = [
        FlowTask.app_id == app_id,
        FlowTask.status == "open",
        FlowTask.due_at <= now,
        FlowInstance.record_id.is_not(None),
        ~exists().where(
            _marks.c.app_id == app_id,
            _marks.c.rule_key == rule.key,
            _marks.c.record_id == FlowTask.id,
            _marks.c.anchor_at == FlowTask.due_at,
        ),
    ]
    if trigger.flow is not None:
        where.append(FlowInstance.flow_key == trigger.flow)
    if trigger.node is not None:
        where.append(FlowTask.node == trigger.node)
    return (
        select(
            FlowTask.id,
            FlowTask.due_at,
            FlowTask.node,
            FlowTask.assignee_id,
            FlowInstance.flow_key,
            FlowInstance.form_id,
            FlowInstance.record_id,
        )
        .join(FlowInstance, FlowInstance.id == FlowTask.instance_id)
        .where(*where)
        .order_by(FlowTask.id)
        .limit(50_000)
    )


async def scan_overdue(sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[str, int]:
    """Fire every ``task_overdue`` rule once per overdue task (and due time)."""
    async with sessions() as db:
        work = []
        for app_id, version_id, definition in await published_versions(db):
            for rule in rule_set(version_id, definition).flow_rules():
                trigger = rule.trigger
                if isinstance(trigger, FlowEvent) and trigger.event == "task_overdue":
                    rows = (await db.execute(overdue_statement(app_id, rule, now))).all()
                    if rows:
                        work.append((app_id, version_id, rule, rows))
    out: dict[str, int] = {}
    for app_id, version_id, rule, rows in work:
        fired = 0
        async with sessions() as db:
            definition = await definitions.definition(db, version_id)
            for task_id, due_at, node, assignee, flow_key, form_id, record_id in rows:
                handle = await form_handle(db, form_id)
                if handle is None:
                    continue
                flow = _flow(flow_key, "task_overdue", node, task_id, assignee)

                async def claim(task: int = task_id, due: datetime = due_at) -> bool:
                    return await mark(db, app_id, rule, task, due)  # noqa: B023

                fired += await _fire(
                    db, app_id, version_id, definition, handle, record_id, flow, None, rule, claim
                )
            await commit_and_dispatch(db)
        out[f"{app_id}:{rule.key}"] = fired
    return out
