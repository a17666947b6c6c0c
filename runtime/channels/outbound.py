"""Agents' replies go back the way the ticket came.

An in-transaction hook (``runtime.records.writer.in_transaction``): when a message record with
the intake's outbound direction is created on a ticket, the channel of the ticket's latest
inbound message gets it (``ChannelKind.deliver``: the kind enqueues its send job in the same
transaction — the reply and its delivery commit together, and a retry sends it once). Replies
on tickets that came by no channel (entered by an agent) go nowhere.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from runtime.channels.intake import Outbound
from runtime.channels.models import ACCEPTED, IN, SENT, Channel, ChannelMessage
from runtime.channels.registry import channel_kinds
from runtime.flows import definitions
from runtime.records.writer import RecordEvent, in_transaction


def _created(event: RecordEvent, key: str | None) -> Any:
    if key is None:
        return None
    change = event.changes.get(key)
    return change[1] if isinstance(change, list) and len(change) == 2 else None


async def thread_of(db: AsyncSession, ticket_id: int) -> list[ChannelMessage]:
    """The ticket's logged messages in and out, oldest first."""
    rows = await db.execute(
        select(ChannelMessage)
        .where(
            ChannelMessage.ticket_id == ticket_id,
            ChannelMessage.status.in_((ACCEPTED, SENT)),
        )
        .order_by(ChannelMessage.id)
    )
    return list(rows.scalars())


@in_transaction
async def route_replies(db: AsyncSession, events: list[RecordEvent]) -> None:
    for event in events:
        if event.kind != "created" or event.version_id is None:
            continue
        definition = await definitions.definition(db, event.version_id)
        if not definition.intake:
            continue
        form = definition.form_by_id(event.form_id)
        if form is None:
            continue
        for spec in definition.intake:
            mapping = spec.message
            if mapping.form != form.key or _created(event, mapping.direction) != mapping.outbound:
                continue
            ticket_id = _created(event, mapping.ticket)
            if not isinstance(ticket_id, int):
                continue
            await _deliver(db, definition, spec, event, ticket_id)


async def _deliver(
    db: AsyncSession, definition: Any, spec: Any, event: RecordEvent, ticket_id: int
) -> None:
    thread = await thread_of(db, ticket_id)
    inbound = [m for m in thread if m.direction == IN]
    if not inbound:
        return
    channel = await db.get(Channel, inbound[-1].channel_id)
    if channel is None or not channel.enabled:
        return
    kind = channel_kinds.find(channel.kind)
    if kind is None or not kind.delivers:
        return
    mapping = spec.message
    files = _created(event, mapping.attachments) or []
    file_ids = tuple(
        f["id"] if isinstance(f, dict) else f for f in files if isinstance(f, (dict, int))
    )
    values = {k: v[1] for k, v in event.changes.items() if isinstance(v, list) and len(v) == 2}
    keys = [m.thread_key or m.external_id for m in thread]
    app_key = (await db.execute(select(App.key).where(App.id == event.app_id))).scalar_one()
    outbound = Outbound(
        app_key=app_key,
        communication_id=event.record_id,
        ticket_id=ticket_id,
        customer_id=inbound[-1].customer_id,
        author_id=event.actor_id,
        body=str(_created(event, mapping.body) or ""),
        files=file_ids,
        thread=tuple(k for k in keys if k),
        address=None,
        values=values,
    )
    await kind.deliver(db, channel, outbound)
