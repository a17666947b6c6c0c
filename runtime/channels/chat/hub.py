"""Who is connected to the web chat in this process, and how events reach them.

Events are written in a transaction (a visitor's message, an agent's reply) and announced
after it commits:

* on PostgreSQL with ``pg_notify`` inside the transaction — PostgreSQL delivers it at commit to
  every process that ``LISTEN``\\ s (one asyncpg connection per process, opened with the first
  socket), so a reply written in one process reaches a visitor connected to another;
* on SQLite by a session ``after_commit`` hook, in this process only (a SQLite installation
  runs one process).

The announcement names the conversation and the event's number; each process loads the event
and sends it to the sockets it holds. Typing and presence are not stored: on PostgreSQL they
are notified straight away, on SQLite handed to this process's sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocket

from runtime.channels.chat.models import VISITOR, ChatConversation, ChatEvent

log = logging.getLogger("tangram.chat")
NOTIFY_CHANNEL = "tangram_chat"


def event_frame(row: ChatEvent) -> dict[str, Any]:
    return {
        "type": "message",
        "seq": row.seq,
        "author": row.author,
        "name": row.author_name,
        "body": row.body,
        "at": row.created_at.isoformat(),
    }


async def summary(db: AsyncSession, conversation: ChatConversation) -> dict[str, Any]:
    """A conversation as the agents' list shows it (with its unread visitor messages)."""
    unread = await db.scalar(
        select(func.count())
        .select_from(ChatEvent)
        .where(
            ChatEvent.conversation_id == conversation.id,
            ChatEvent.author == VISITOR,
            ChatEvent.seq > conversation.agent_seen_seq,
        )
    )
    last = await db.scalar(
        select(ChatEvent.body)
        .where(ChatEvent.conversation_id == conversation.id)
        .order_by(ChatEvent.seq.desc())
        .limit(1)
    )
    return {
        "type": "conversation",
        "id": conversation.id,
        "name": conversation.name,
        "email": conversation.email,
        "phone": conversation.phone,
        "customer_id": conversation.customer_id,
        "ticket_id": conversation.ticket_id,
        "last_seq": conversation.last_seq,
        "unread": int(unread or 0),
        "preview": (last or "")[:120],
        "updated_at": conversation.updated_at.isoformat(),
    }


class Hub:
    """The sockets of one database's chat in this process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgresql")
        self.process = uuid.uuid4().hex
        self.loop = asyncio.get_running_loop()
        self.sessions: Any = None
        #: conversation id → its visitor sockets, and the app of each conversation.
        self.visitors: dict[int, set[WebSocket]] = {}
        self.visitor_app: dict[int, int] = {}
        #: app id → its agents' sockets here; (app id, process) → agents elsewhere.
        self.agents: dict[int, set[WebSocket]] = {}
        self.remote: dict[tuple[int, str], int] = {}
        self.listener: Any = None
        self._starting = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- connections -------------------------------------------------------------------------

    async def attach(self, sessions: Any) -> None:
        """Use the app's session factory; on PostgreSQL listen (once per process)."""
        self.sessions = sessions
        if not self.postgres or self.listener is not None:
            return
        async with self._starting:
            if self.listener is not None:
                return
            import asyncpg

            dsn = make_url(self.url).set(drivername="postgresql")
            conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
            await conn.add_listener(NOTIFY_CHANNEL, self._notified)
            self.listener = conn
            await self.broadcast({"t": "who"})

    async def close(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(Exception):
                await self.listener.close()
            self.listener = None

    def agents_online(self, app_id: int) -> bool:
        if self.agents.get(app_id):
            return True
        return any(n > 0 for (a, _), n in self.remote.items() if a == app_id)

    async def join_visitor(self, conversation_id: int, app_id: int, ws: WebSocket) -> None:
        self.visitors.setdefault(conversation_id, set()).add(ws)
        self.visitor_app[conversation_id] = app_id

    def leave_visitor(self, conversation_id: int, ws: WebSocket) -> None:
        sockets = self.visitors.get(conversation_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                self.visitors.pop(conversation_id, None)
                self.visitor_app.pop(conversation_id, None)

    async def join_agent(self, app_id: int, ws: WebSocket) -> None:
        was = self.agents_online(app_id)
        self.agents.setdefault(app_id, set()).add(ws)
        await self._presence(app_id, was)

    async def leave_agent(self, app_id: int, ws: WebSocket) -> None:
        was = self.agents_online(app_id)
        sockets = self.agents.get(app_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                self.agents.pop(app_id, None)
        await self._presence(app_id, was)

    async def _presence(self, app_id: int, was: bool) -> None:
        if self.postgres and self.listener is not None:
            count = len(self.agents.get(app_id, ()))
            await self.broadcast({"t": "presence", "a": app_id, "p": self.process, "n": count})
        await self._tell_visitors(app_id, was)

    async def _tell_visitors(self, app_id: int, was: bool) -> None:
        now = self.agents_online(app_id)
        if now == was:
            return
        frame = {"type": "presence", "online": now}
        for conversation_id, app in list(self.visitor_app.items()):
            if app == app_id:
                await self._send(self.visitors.get(conversation_id, set()), frame)

    # --- announcing --------------------------------------------------------------------------

    async def broadcast(self, payload: dict[str, Any]) -> None:
        """Announce something not stored (typing, presence) to every process at once."""
        if self.postgres and self.listener is not None:
            await self.listener.execute(
                "SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, json.dumps(payload)
            )
        else:
            await self.dispatch(payload)

    def _notified(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            data = json.loads(payload)
        except ValueError:
            return
        self.spawn(self.dispatch(data))

    def spawn(self, work: Any) -> None:
        task = self.loop.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def dispatch(self, payload: dict[str, Any]) -> None:
        try:
            await self._dispatch(payload)
        except Exception:  # one bad socket or a closed database must not stop the others
            log.warning("chat: could not deliver %s", payload, exc_info=True)

    async def _dispatch(self, payload: dict[str, Any]) -> None:
        kind = payload.get("t")
        if kind == "who":
            for app_id, sockets in list(self.agents.items()):
                if sockets and self.listener is not None:
                    await self.broadcast(
                        {"t": "presence", "a": app_id, "p": self.process, "n": len(sockets)}
                    )
        elif kind == "presence":
            if payload.get("p") == self.process:
                return
            app_id = int(payload["a"])
            was = self.agents_online(app_id)
            self.remote[(app_id, str(payload["p"]))] = int(payload["n"])
            await self._tell_visitors(app_id, was)
        elif kind == "typing":
            conversation_id, app_id = int(payload["c"]), int(payload["a"])
            if payload.get("by") == VISITOR:
                frame = {"type": "typing", "conversation": conversation_id}
                await self._send(self.agents.get(app_id, set()), frame)
            else:
                frame = {"type": "typing", "author": "agent", "name": payload.get("name")}
                await self._send(self.visitors.get(conversation_id, set()), frame)
        elif kind in ("event", "conversation"):
            await self._changed(int(payload["c"]), payload.get("s"))

    async def _changed(self, conversation_id: int, seq: Any) -> None:
        if self.sessions is None:
            return
        visitors = self.visitors.get(conversation_id, set())
        async with self.sessions() as db:
            conversation = await db.get(ChatConversation, conversation_id)
            if conversation is None:
                return
            agents = self.agents.get(conversation.app_id, set())
            if not visitors and not agents:
                return
            if seq is not None:
                row = await db.scalar(
                    select(ChatEvent).where(
                        ChatEvent.conversation_id == conversation_id, ChatEvent.seq == int(seq)
                    )
                )
                if row is not None:
                    frame = event_frame(row)
                    await self._send(visitors, frame)
                    await self._send(agents, {**frame, "conversation": conversation_id})
            if agents:
                await self._send(agents, await summary(db, conversation))

    async def _send(self, sockets: set[WebSocket], frame: dict[str, Any]) -> None:
        text = json.dumps(frame, ensure_ascii=False)
        for ws in list(sockets):
            try:
                await ws.send_text(text)
            except Exception:  # gone: its own handler removes it
                sockets.discard(ws)


_hubs: dict[str, Hub] = {}


def hub_for(url: str) -> Hub:
    """This process's hub for the database at ``url`` (a new one on a new event loop)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(url)
    if hub is None or hub.loop is not loop:
        hub = _hubs[url] = Hub(url)
    return hub


def _url(db: AsyncSession) -> str:
    bind = db.bind
    return bind.url.render_as_string(hide_password=False)


async def announce(db: AsyncSession, payload: dict[str, Any]) -> None:
    """Announce a stored change when ``db``'s transaction commits (not at all on rollback)."""
    if db.bind.dialect.name == "postgresql":
        await db.execute(select(func.pg_notify(NOTIFY_CHANNEL, json.dumps(payload))))
        return
    info = db.sync_session.info
    pending = info.setdefault("chat_pending", [])
    pending.append((_url(db), payload))
    if not info.get("chat_hooked"):
        info["chat_hooked"] = True
        sa_event.listen(db.sync_session, "after_commit", _committed)
        sa_event.listen(db.sync_session, "after_rollback", _rolled_back)


def _committed(session: Any) -> None:
    pending = session.info.pop("chat_pending", [])
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    for url, payload in pending:
        hub = _hubs.get(url)
        if hub is not None and hub.loop is loop:  # else no socket of this loop to tell
            hub.spawn(hub.dispatch(payload))


def _rolled_back(session: Any) -> None:
    session.info.pop("chat_pending", None)
