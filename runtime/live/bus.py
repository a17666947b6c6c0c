"""Live events to a user's open pages, across server processes.

:func:`publish` writes one ``user_events`` row per user in the caller's transaction. Open
event streams (``GET /api/v1/me/events``) read their user's rows newer than the last id they
sent, and wait to be woken between reads:

* in the same process, by the commit that wrote the rows (an in-process hub);
* on PostgreSQL from any process, by ``NOTIFY tangram_user_events`` sent in the writing
  transaction (delivered on commit): one ``LISTEN`` connection per process, open while it has
  streams;
* otherwise (SQLite with several processes) by a short poll (``POLL_SECONDS``).

Rows live ``KEEP`` (a reconnecting page gets what it missed through ``Last-Event-ID``) and each
publish removes expired ones, so the table stays small.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from runtime.db import utcnow
from runtime.live.models import UserEvent

log = logging.getLogger(__name__)

CHANNEL = "tangram_user_events"
#: How long an event waits for a page that reconnects.
KEEP = timedelta(minutes=5)
#: Between two reads of a stream when nothing woke it: SQLite (other processes' events) and
#: PostgreSQL (a safety net should a notification be lost).
POLL_SECONDS = {"sqlite": 0.5, "postgresql": 5.0}


class Hub:
    """The streams of this process, by user: woken when their user has news."""

    def __init__(self) -> None:
        self.waiting: dict[int, set[asyncio.Event]] = {}

    def subscribe(self, user_id: int) -> asyncio.Event:
        wake = asyncio.Event()
        self.waiting.setdefault(user_id, set()).add(wake)
        return wake

    def unsubscribe(self, user_id: int, wake: asyncio.Event) -> None:
        found = self.waiting.get(user_id)
        if found is not None:
            found.discard(wake)
            if not found:
                del self.waiting[user_id]

    def wake(self, user_ids: Iterable[int]) -> None:
        for user_id in user_ids:
            for wake in self.waiting.get(user_id, ()):
                wake.set()

    def online(self) -> set[int]:
        return set(self.waiting)


hub = Hub()


async def publish(db: AsyncSession, user_ids: Iterable[int], kind: str, data: Any) -> list[int]:
    """Queue ``data`` as event ``kind`` for each user, in the caller's transaction (sent when
    it commits); the new rows' ids."""
    users = sorted(set(user_ids))
    if not users:
        return []
    now = utcnow()
    rows = [UserEvent(user_id=u, kind=kind, data=data, created_at=now) for u in users]
    db.add_all(rows)
    await db.flush()
    await db.execute(delete(UserEvent).where(UserEvent.created_at < now - KEEP))
    if db.bind.dialect.name == "postgresql":
        payload = ",".join(str(u) for u in users)
        await db.execute(select(func.pg_notify(CHANNEL, payload)))

    def committed(_session: Any) -> None:
        hub.wake(users)

    event.listen(db.sync_session, "after_commit", committed, once=True)
    return [r.id for r in rows]


async def pending(db: AsyncSession, user_id: int, after: int, limit: int = 50) -> list[UserEvent]:
    rows = await db.execute(
        select(UserEvent)
        .where(UserEvent.user_id == user_id, UserEvent.id > after)
        .order_by(UserEvent.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def latest(db: AsyncSession, user_id: int) -> int:
    query = select(func.max(UserEvent.id)).where(UserEvent.user_id == user_id)
    return int((await db.execute(query)).scalar_one() or 0)


class Listener:
    """This process's ``LISTEN`` on PostgreSQL, open while streams use it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.users = 0
        self.connection: Any = None
        self.lock = asyncio.Lock()

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        hub.wake(int(p) for p in payload.split(",") if p.isdigit())

    async def acquire(self) -> bool:
        """Start listening (on the first stream); whether notifications will come."""
        async with self.lock:
            self.users += 1
            if self.connection is None:
                try:
                    import asyncpg

                    url = self.engine.url.set(drivername="postgresql")
                    self.connection = await asyncpg.connect(
                        url.render_as_string(hide_password=False)
                    )
                    await self.connection.add_listener(CHANNEL, self._notified)
                except Exception:  # fall back to polling
                    log.warning("cannot LISTEN for user events", exc_info=True)
                    await self._close()
            return self.connection is not None

    async def release(self) -> None:
        async with self.lock:
            self.users -= 1
            if self.users <= 0:
                self.users = 0
                await self._close()

    async def _close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 5)


_listeners: dict[int, Listener] = {}


def listener(engine: AsyncEngine) -> Listener:
    found = _listeners.get(id(engine))
    if found is None or found.engine is not engine:
        found = _listeners[id(engine)] = Listener(engine)
    return found
