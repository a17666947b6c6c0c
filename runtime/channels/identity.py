"""What a merge of two customers or two tickets moves in the channels.

A merge of two customers or two tickets (``runtime.records.merge``) also moves the channels'
message log, so that a reply to an old mail or a WeChat message of the merged customer lands on
the survivor; the undo moves those entries back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.channels.models import ChannelMessage
from runtime.records.forms import FormHandle, PublishedApp
from runtime.records.merge import on_merge

#: The channel log's columns a merge of a customer or a ticket moves.
_LOG_COLUMNS = (("customer", ChannelMessage.customer_id), ("ticket", ChannelMessage.ticket_id))


async def _move_log(
    db: AsyncSession, app: PublishedApp, handle: FormHandle, survivor: int, merged: int
) -> Any:
    """Point the channel log's entries of the merged customer or ticket at the survivor."""
    moved: dict[str, list[int]] = {}
    for role, column in _LOG_COLUMNS:
        if not _is_intake_form(app, handle, role):
            continue
        ids = [
            int(i)
            for i in (
                await db.execute(
                    select(ChannelMessage.id).where(
                        ChannelMessage.app_id == handle.app_id, column == merged
                    )
                )
            ).scalars()
        ]
        if ids:
            await db.execute(
                update(ChannelMessage).where(ChannelMessage.id.in_(ids)).values({column: survivor})
            )
            moved[role] = ids
    return moved


async def _move_log_back(
    db: AsyncSession, app: PublishedApp, handle: FormHandle, survivor: int, merged: int, moved: Any
) -> None:
    for role, column in _LOG_COLUMNS:
        ids = (moved or {}).get(role) or []
        if ids:
            await db.execute(
                update(ChannelMessage)
                .where(ChannelMessage.id.in_(ids), column == survivor)
                .values({column: merged})
            )


def _is_intake_form(app: PublishedApp, handle: FormHandle, role: str) -> bool:
    """Whether ``handle``'s form is the customer (or ticket) form of an intake mapping."""
    return any(
        (spec.customer.form if role == "customer" else spec.ticket.form) == handle.form.key
        for spec in app.definition.intake
    )


on_merge("channel_messages", _move_log, _move_log_back)
