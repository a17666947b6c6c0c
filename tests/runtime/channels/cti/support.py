"""Helpers of the telephony tests: a CTI channel on the Customer Center, signed events."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import func, select

from runtime.channels import intake
from runtime.channels.models import ChannelMessage
from runtime.net.webhooks import signature

SECRET = "cti-inbound-secret-0123456789"
CALL_SECRET = "cti-outbound-secret-0123456789"
EXTENSIONS = {"801": "sam", "802": "sue"}


async def make_cti(center: Any, call_url: str | None = None, **settings: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"secret": SECRET, "extensions": EXTENSIONS, **settings}
    if call_url:
        values.update(call_url=call_url, call_secret=CALL_SECRET)
    made = await center.client.post(
        f"/api/v1/apps/{center.app['id']}/channels",
        json={"kind": "cti", "key": "phone", "name": "呼叫中心", "settings": values},
        headers=center.admin.headers,
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


def event(kind: str, call_id: str = "c-1", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": kind,
        "call_id": call_id,
        "from": "+86 138 0013 8000",
        "to": "4008001234",
        "extension": "801",
        "at": "2026-12-04T10:00:00+08:00",
    }
    body.update(extra)
    return body


def signed(
    body: Any, secret: str = SECRET, stamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=False).encode()
    at = int(time.time()) if stamp is None else stamp
    headers = {
        "Content-Type": "application/json",
        "X-Tangram-Timestamp": str(at),
        "X-Tangram-Signature": signature(secret, at, raw),
    }
    return raw, headers


URL = "/api/v1/public/cti/customer_center/phone"


async def post_event(client: Any, body: Any, **options: Any) -> Any:
    raw, headers = signed(body, **options)
    return await client.post(URL, content=raw, headers=headers)


async def logged(sessions: Any, channel_id: int) -> list[ChannelMessage]:
    async with sessions() as db:
        rows = await db.execute(
            select(ChannelMessage)
            .where(ChannelMessage.channel_id == channel_id)
            .order_by(ChannelMessage.id)
        )
        return list(rows.scalars())


async def messages_on(sessions: Any, ticket_id: int) -> int:
    async with sessions() as db:
        to = await intake.target_of(db, "customer_center")
        column = to.messages.column(to.spec.message.ticket)
        query = select(func.count()).where(
            column == ticket_id, to.messages.table.c.deleted_at.is_(None)
        )
        return int((await db.execute(query)).scalar_one())
