"""In-app notifications for the pages: where each one leads, how it reads in a list, and the
live stream (server-sent events) that tells an open page about new ones.

``GET /events`` is cookie-authenticated and per user. Every ``events_poll_seconds`` it opens a
short read session, checks that the session cookie is still valid, reads the user's
notifications newer than the last id sent and the unread count, and closes the session again,
so no database connection (nor, on SQLite, a read transaction) is held between polls. A
comment line keeps the connection alive every ``events_heartbeat_seconds``. A reconnecting
browser sends ``Last-Event-ID`` and gets what it missed. The stream ends when the client goes
away, the session ends (``event: end``) or the server begins to shut down (runtime.draining:
at once, so a graceful shutdown does not wait for open pages).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from runtime import draining
from runtime.auth import service as auth
from runtime.rules.models import Notification

#: New notifications sent per poll at most (the rest follow on the next polls).
BATCH = 50
#: How long a browser waits before reconnecting (milliseconds).
RETRY_MS = 5000
#: Characters of a notification's body in a toast.
TOAST_BODY = 300


def link_of(subject: dict[str, Any] | None) -> str | None:
    """The page a notification is about: its record, or its task."""
    subject = subject or {}
    if subject.get("task_id"):
        return f"/inbox/tasks/{int(subject['task_id'])}"
    app, form, record = subject.get("app"), subject.get("form"), subject.get("record_id")
    if isinstance(app, str) and isinstance(form, str) and record:
        return f"/apps/{app}/forms/{form}/records/{int(record)}"
    return None


@dataclass
class NotificationView:
    id: int
    title: str
    body: str
    url: str | None
    read: bool
    created_at: datetime


def view_of(item: Any) -> NotificationView:
    return NotificationView(
        item.id, item.title, item.body or "", link_of(item.subject), item.read, item.created_at
    )


def frame(event: str | None, data: Any, event_id: int | None = None) -> str:
    """One server-sent event."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    if event:
        lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


async def unread_count(db: AsyncSession, user_id: int) -> int:
    query = select(func.count()).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return int((await db.execute(query)).scalar_one())


async def latest_id(db: AsyncSession, user_id: int) -> int:
    query = select(func.max(Notification.id)).where(Notification.user_id == user_id)
    return int((await db.execute(query)).scalar_one() or 0)


@dataclass
class Poll:
    signed_in: bool
    items: list[dict[str, Any]]
    unread: int


async def poll(
    sessions: async_sessionmaker[AsyncSession], cookie: str, user_id: int, after: int
) -> Poll:
    """One look at the database, in a session of its own (closed before returning)."""
    async with sessions() as db:
        principal = await auth.session_principal(db, cookie)
        if principal is None or principal.user_id != user_id:
            return Poll(False, [], 0)
        rows = (
            await db.execute(
                select(
                    Notification.id,
                    Notification.title,
                    Notification.body,
                    Notification.subject,
                    Notification.created_at,
                )
                .where(Notification.user_id == user_id, Notification.id > after)
                .order_by(Notification.id)
                .limit(BATCH)
            )
        ).all()
        unread = await unread_count(db, user_id)
    items = [
        {
            "id": row.id,
            "title": row.title,
            "body": (row.body or "")[:TOAST_BODY],
            "url": link_of(row.subject),
            "created_at": row.created_at.isoformat(),
        }
        for row in rows
    ]
    return Poll(True, items, unread)


async def stream(
    request: Request, cookie: str, user_id: int, last_id: int, unread: int
) -> AsyncIterator[str]:
    """The event stream of one signed-in user (see the module docstring)."""
    settings = request.app.state.settings
    sessions = request.app.state.read_sessions
    every, heartbeat = settings.events_poll_seconds, settings.events_heartbeat_seconds
    yield f"retry: {RETRY_MS}\n" + frame("unread", {"unread": unread})
    sent_at = time.monotonic()
    while True:
        if await draining.pause(request.app, every):
            return  # the server is shutting down: end now, the browser reconnects later
        if await request.is_disconnected():
            return
        found = await poll(sessions, cookie, user_id, last_id)
        if not found.signed_in:
            yield frame("end", {"reason": "signed_out"})
            return
        chunk = "".join(frame("notification", item, item["id"]) for item in found.items)
        if found.items:
            last_id = found.items[-1]["id"]
        if found.unread != unread or found.items:
            unread = found.unread
            chunk += frame("unread", {"unread": unread})
        if not chunk and time.monotonic() - sent_at >= heartbeat:
            chunk = ": heartbeat\n\n"
        if chunk:
            sent_at = time.monotonic()
            yield chunk
