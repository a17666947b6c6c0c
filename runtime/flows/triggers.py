"""Flows that start by themselves: a record of their form was created, updated, or one of its
fields changed (to a value). Runs inside the writing transaction (records'
``in_transaction`` hook), so the record and the instance it starts commit together.

A flow does not start a second instance on a record while one is still running there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.flow.model import Trigger
from engines.logic import evaluate, truthy
from runtime.flows import definitions, service
from runtime.flows.models import FlowInstance
from runtime.flows.records import form_handle, record_context
from runtime.records.writer import RecordEvent, in_transaction


def matches(trigger: Trigger, event: RecordEvent) -> bool:
    """Whether the event is the kind of change the trigger waits for (before its condition)."""
    if trigger.on == "created":
        return event.kind == "created"
    if event.kind not in ("updated", "created"):
        return False
    if trigger.on == "updated":
        return event.kind == "updated"
    change = event.changes.get(trigger.field or "")
    if change is None:
        return False
    return trigger.to is None or change[1] == trigger.to


@in_transaction
async def start_triggered(db: AsyncSession, events: list[RecordEvent]) -> None:
    for event in events:
        if event.version_id is None or event.kind not in ("created", "updated"):
            continue
        refs = await definitions.triggered_by(db, event.version_id, event.form_id)
        for ref in refs:
            wanted = [t for t in ref.flow.triggers if matches(t, event)]
            if not wanted:
                continue
            record: dict[str, Any] | None = None
            handle = await form_handle(db, event.form_id)
            if handle is not None:
                record = await record_context(db, handle, event.record_id)
            if record is None:
                continue
            context = {"record": record, "changes": event.changes}
            if not any(
                t.condition is None or truthy(evaluate(t.condition, context)) for t in wanted
            ):
                continue
            if await _running(db, ref.app_id, ref.flow.key, event.form_id, event.record_id):
                continue
            await service.start(
                db,
                ref,
                actor_id=event.actor_id,
                variables={"trigger": {"kind": event.kind, "record_id": event.record_id}},
                record_id=event.record_id,
            )


async def _running(
    db: AsyncSession, app_id: int, flow_key: str, form_id: int, record_id: int
) -> bool:
    row = await db.execute(
        select(FlowInstance.id)
        .where(
            FlowInstance.form_id == form_id,
            FlowInstance.record_id == record_id,
            FlowInstance.app_id == app_id,
            FlowInstance.flow_key == flow_key,
            FlowInstance.status == "running",
        )
        .limit(1)
    )
    return row.first() is not None
