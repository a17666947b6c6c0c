"""The web chat's endpoints: the widget script, the visitors' socket, the agents' socket and
the agents' live page (``README.md`` in this package describes the protocol)."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
from collections import deque
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.websockets import WebSocketDisconnect

from runtime.auth import service as auth
from runtime.auth.principal import Principal
from runtime.channels import intake
from runtime.channels import secrets as sealed
from runtime.channels.chat import service
from runtime.channels.chat.hub import Hub, _url, event_frame, hub_for, summary
from runtime.channels.chat.kind import ChatSettings
from runtime.channels.chat.models import VISITOR, ChatConversation
from runtime.channels.models import Channel
from runtime.errors import ProblemError
from runtime.permissions import load_membership
from runtime.records.writer import commit_and_dispatch
from runtime.web.deps import PageUser
from runtime.web.nav import _allowed, nav_for
from runtime.web.templating import render

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent / "static"
#: Messages a socket may send in ``RATE_WINDOW`` seconds.
RATE_COUNT, RATE_WINDOW = 10, 10.0
#: How long a visitor's socket may take to say hello.
HELLO_SECONDS = 15.0
POLICY_VIOLATION, TOO_BIG = 1008, 1009


@router.get("/chat/widget.js")
async def widget() -> Response:
    return _asset("widget.js", "application/javascript; charset=utf-8")


@router.get("/chat/widget.css")
async def widget_css() -> Response:
    return _asset("widget.css", "text/css; charset=utf-8")


def _asset(name: str, media_type: str) -> Response:
    """A file of the widget, for any site to load (it embeds the widget)."""
    return Response(
        (STATIC / name).read_bytes(),
        media_type=media_type,
        headers={
            "Cache-Control": "public, max-age=300",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


# --- helpers ------------------------------------------------------------------------------------


def own_origin(ws: WebSocket) -> str:
    scheme = "https" if ws.url.scheme in ("wss", "https") else "http"
    return f"{scheme}://{ws.headers.get('host', '')}".lower()


def origin_allowed(ws: WebSocket, allowed: list[str]) -> bool:
    origin = (ws.headers.get("origin") or "").strip().rstrip("/").lower()
    if not origin:
        return False
    return origin == own_origin(ws) or origin in allowed


class Rate:
    def __init__(self) -> None:
        self.times: deque[float] = deque()

    def allow(self) -> bool:
        now = time.monotonic()
        while self.times and now - self.times[0] > RATE_WINDOW:
            self.times.popleft()
        if len(self.times) >= RATE_COUNT:
            return False
        self.times.append(now)
        return True


def zh(lang: Any) -> bool:
    return isinstance(lang, str) and lang.lower().startswith("zh")


ERRORS = {
    "chat.too_large": ("消息太长。", "The message is too long."),
    "chat.rate_limited": ("发送太频繁，请稍后再试。", "Too many messages; wait a moment."),
    "chat.bad_frame": ("无法识别的消息。", "Not a message this chat understands."),
    "chat.empty": ("消息不能为空。", "The message is empty."),
    "chat.invalid_profile": ("请检查您填写的信息。", "Check what you entered."),
    "chat.email_required": ("请填写邮箱。", "Enter your e-mail."),
    "chat.no_conversation": ("没有这个会话。", "No such conversation."),
    "chat.failed": ("消息未能送达，请稍后再试。", "The message could not be delivered; try again."),
}


def error(code: str, lang: Any, **extra: Any) -> dict[str, Any]:
    texts = ERRORS.get(code, ERRORS["chat.failed"])
    return {"type": "error", "code": code, "message": texts[0 if zh(lang) else 1], **extra}


async def send(ws: WebSocket, frame: dict[str, Any]) -> None:
    await ws.send_text(json.dumps(frame, ensure_ascii=False))


async def receive(ws: WebSocket) -> tuple[str, Any]:
    """The next frame: ("frame", parsed), ("big", raw), ("bad", raw) or ("gone", None)."""
    message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        return "gone", None
    raw = message.get("text")
    data = raw.encode() if raw is not None else (message.get("bytes") or b"")
    if len(data) > service.MAX_FRAME:
        return "big", data
    if raw is None:
        return "bad", data
    try:
        parsed = json.loads(raw)
    except ValueError:
        return "bad", data
    return ("frame", parsed) if isinstance(parsed, dict) else ("bad", data)


def _settings(channel: Channel | None) -> dict[str, Any]:
    """The channel's settings with the defaults of those it does not set."""
    if channel is None:
        return {}
    try:
        return ChatSettings.model_validate(channel.settings or {}).model_dump()
    except ValidationError:  # saved by an older version: what still reads
        return {**ChatSettings().model_dump(), **(channel.settings or {})}


def _body(frame: dict[str, Any]) -> str | None:
    body = frame.get("body")
    return body.strip() if isinstance(body, str) else None


# --- visitors -----------------------------------------------------------------------------------


@router.websocket("/chat/ws/{app_key}/{channel_key}")
async def visitor_socket(ws: WebSocket, app_key: str, channel_key: str) -> None:
    sessions = ws.app.state.sessions
    async with sessions() as db:
        channel = await service.find_channel(db, app_key[:64], channel_key[:64])
        url = _url(db)
    settings = _settings(channel)
    if channel is None or not origin_allowed(ws, list(settings.get("allowed_origins") or [])):
        await ws.close(code=POLICY_VIOLATION)  # before accepting: the handshake gets 403
        return
    hub = hub_for(url)
    await hub.attach(sessions)
    await ws.accept()
    conversation_id: int | None = None
    try:
        conversation_id = await _visitor(ws, hub, channel, settings)
    except WebSocketDisconnect:
        pass
    finally:
        if conversation_id is not None:
            hub.leave_visitor(conversation_id, ws)


async def _hello(ws: WebSocket) -> dict[str, Any] | None:
    try:
        kind, frame = await asyncio.wait_for(receive(ws), HELLO_SECONDS)
    except TimeoutError:
        await ws.close(code=POLICY_VIOLATION)
        return None
    if kind != "frame" or frame.get("type") != "hello":
        await ws.close(code=POLICY_VIOLATION)
        return None
    return dict(frame)


async def _visitor(
    ws: WebSocket, hub: Hub, channel: Channel, settings: dict[str, Any]
) -> int | None:
    hello = await _hello(ws)
    if hello is None:
        return None
    lang = hello.get("lang")
    sessions = hub.sessions
    async with sessions() as db:
        channel = await db.get(Channel, channel.id)
        token = hello.get("token") if isinstance(hello.get("token"), str) else None
        conversation = await service.conversation_of(db, channel, token)
        if conversation is None:
            conversation, token = await service.start(db, channel)
        _verified(channel, conversation, hello)
        since = hello.get("since") if isinstance(hello.get("since"), int) else 0
        events = await service.events_since(db, conversation.id, max(since, 0))
        await db.commit()
        conversation_id = conversation.id
        welcome = {
            "type": "welcome",
            "token": token,
            "conversation": conversation_id,
            "seq": conversation.last_seq,
            "online": hub.agents_online(channel.app_id),
            "greeting": settings.get("greeting_zh" if zh(lang) else "greeting_en") or "",
            "offline": settings.get("offline_zh" if zh(lang) else "offline_en") or "",
            "ask": {
                "email": bool(settings.get("ask_email", True)),
                "phone": bool(settings.get("ask_phone", False)),
            },
            "profile": {
                "name": conversation.name,
                "email": conversation.email,
                "phone": conversation.phone,
            },
        }
    await hub.join_visitor(conversation_id, channel.app_id, ws)
    await send(ws, welcome)
    for row in events:
        await send(ws, event_frame(row))
    rate, typing_rate = Rate(), Rate()
    while True:
        kind, frame = await receive(ws)
        if kind == "gone":
            return conversation_id
        if kind == "big":
            await _refuse(hub, channel.id, "chat.too_large", frame)
            await send(ws, error("chat.too_large", lang))
            await ws.close(code=TOO_BIG)
            return conversation_id
        if kind == "bad":
            await send(ws, error("chat.bad_frame", lang))
            continue
        what = frame.get("type")
        if what == "ping":
            await send(ws, {"type": "pong"})
            continue
        if what == "typing":
            if not typing_rate.allow():
                continue
            await hub.broadcast(
                {"t": "typing", "c": conversation_id, "a": channel.app_id, "by": VISITOR}
            )
            continue
        if what not in ("profile", "message", "offline"):
            await send(ws, error("chat.bad_frame", lang))
            continue
        if not rate.allow():
            await send(ws, error("chat.rate_limited", lang))
            continue
        reply = await _visitor_frame(hub, channel.id, conversation_id, frame, lang)
        if reply is not None:
            await send(ws, reply)


def _verified(channel: Channel, conversation: ChatConversation, hello: dict[str, Any]) -> None:
    """A signed-in visitor the site vouches for (its e-mail signed with the channel's secret)."""
    email, signed = hello.get("email"), hello.get("signature")
    if not isinstance(email, str) or not isinstance(signed, str):
        return
    try:
        secret = sealed.unseal(channel.secrets).get("secret")
    except sealed.SecretsUnreadable:
        return
    if not secret or not hmac.compare_digest(service.signature(secret, email), signed):
        return
    service.profile(conversation, name=hello.get("name"), email=email)


async def _refuse(hub: Hub, channel_id: int, code: str, raw: bytes) -> None:
    async with hub.sessions() as db:
        channel = await db.get(Channel, channel_id)
        if channel is not None:
            await intake.quarantine(
                db,
                channel,
                code=code,
                detail=f"a chat frame of {len(raw)} bytes (at most {service.MAX_FRAME})",
                raw=raw[: 64 * 1024],
            )
            await db.commit()


async def _visitor_frame(
    hub: Hub, channel_id: int, conversation_id: int, frame: dict[str, Any], lang: Any
) -> dict[str, Any] | None:
    what = frame["type"]
    body = _body(frame)
    if what in ("message", "offline"):
        if not body:
            return error("chat.empty", lang)
        if len(body) > service.MAX_BODY:
            return error("chat.too_large", lang)
    async with hub.sessions() as db:
        channel = await db.get(Channel, channel_id)
        conversation = await db.get(ChatConversation, conversation_id)
        if channel is None or conversation is None or not channel.enabled:
            return error("chat.no_conversation", lang)
        fields = service.profile(
            conversation, frame.get("name"), frame.get("email"), frame.get("phone")
        )
        if fields:
            return error("chat.invalid_profile", lang, fields=fields)
        if what == "offline" and conversation.email is None:
            return error("chat.email_required", lang, fields={"email": "required"})
        if what == "profile":
            await db.commit()
            return {
                "type": "profile",
                "name": conversation.name,
                "email": conversation.email,
                "phone": conversation.phone,
            }
        assert body is not None
        try:
            row = await service.visitor_message(db, channel, conversation, body)
            await commit_and_dispatch(db)
        except ProblemError as exc:
            await db.rollback()
            return error("chat.failed", lang, reason=exc.code)
        if what == "offline":
            return {"type": "offline_ok", "seq": row.seq}
        return None  # the message itself comes back through the hub, to every tab


# --- agents -------------------------------------------------------------------------------------


async def _agent(ws: WebSocket, app_key: str) -> tuple[Principal, Any] | None:
    settings = ws.app.state.settings
    cookie = ws.cookies.get(settings.session_cookie)
    if not cookie:
        return None
    async with ws.app.state.sessions() as db:
        principal = await auth.session_principal(db, cookie)
        if principal is None:
            return None
        await load_membership(db, principal)
        try:
            to = await intake.target_of(db, app_key)
        except ProblemError:
            return None
        if not _allowed(to.tickets, principal, "read"):
            return None
        return principal, to


@router.websocket("/chat/agent/ws/{app_key}")
async def agent_socket(ws: WebSocket, app_key: str) -> None:
    sessions = ws.app.state.sessions
    if (ws.headers.get("origin") or "").rstrip("/").lower() != own_origin(ws):
        await ws.close(code=POLICY_VIOLATION)
        return
    found = await _agent(ws, app_key[:64])
    if found is None:
        await ws.close(code=POLICY_VIOLATION)
        return
    principal, to = found
    app_id = to.app.app_id
    async with sessions() as db:
        url = _url(db)
        items = [await summary(db, c) for c in await service.open_conversations(db, to)]
    hub = hub_for(url)
    await hub.attach(sessions)
    await ws.accept()
    await hub.join_agent(app_id, ws)
    lang = principal.user.locale
    try:
        await send(ws, {"type": "conversations", "items": items})
        rate = Rate()
        while True:
            kind, frame = await receive(ws)
            if kind == "gone":
                return
            if kind == "big":
                await send(ws, error("chat.too_large", lang))
                continue
            if kind == "bad":
                await send(ws, error("chat.bad_frame", lang))
                continue
            if frame.get("type") == "reply" and not rate.allow():
                await send(ws, error("chat.rate_limited", lang))
                continue
            reply = await _agent_frame(hub, principal, app_id, frame, lang)
            if reply is not None:
                await send(ws, reply)
    except WebSocketDisconnect:
        pass
    finally:
        await hub.leave_agent(app_id, ws)


async def _agent_frame(
    hub: Hub, principal: Principal, app_id: int, frame: dict[str, Any], lang: Any
) -> dict[str, Any] | None:
    what = frame.get("type")
    if what == "ping":
        return {"type": "pong"}
    conversation_id = frame.get("conversation")
    if not isinstance(conversation_id, int) or what not in ("open", "reply", "typing", "seen"):
        return error("chat.bad_frame", lang)
    async with hub.sessions() as db:
        conversation = await db.get(ChatConversation, conversation_id)
        if conversation is None or conversation.app_id != app_id:
            return error("chat.no_conversation", lang)
        if what == "typing":
            name = principal.user.display_name or principal.user.username
            await hub.broadcast(
                {"t": "typing", "c": conversation.id, "a": app_id, "by": "agent", "name": name}
            )
            return None
        if what == "open":
            events = await service.events_since(db, conversation.id, 0, limit=1000)
            await service.seen(db, conversation, conversation.last_seq)
            await db.commit()
            return {
                "type": "transcript",
                "conversation": conversation.id,
                "ticket_id": conversation.ticket_id,
                "items": [event_frame(e) for e in events],
            }
        if what == "seen":
            seq = frame.get("seq")
            if isinstance(seq, int):
                await service.seen(db, conversation, seq)
                await db.commit()
            return None
        body = _body(frame)
        if not body:
            return error("chat.empty", lang)
        if len(body) > service.MAX_BODY:
            return error("chat.too_large", lang)
        channel = await db.get(Channel, conversation.channel_id)
        if channel is None or conversation.ticket_id is None:
            return error("chat.no_conversation", lang)
        try:
            await service.agent_reply(db, principal, channel, conversation, body)
            await commit_and_dispatch(db)
        except ProblemError as exc:
            await db.rollback()
            return error("chat.failed", lang, reason=exc.code)
        return None


# --- the agents' page ---------------------------------------------------------------------------


@router.get("/apps/{app_key}/chat", name="chat")
async def chat_page(request: Request, app_key: str, principal: PageUser) -> Response:
    async with request.app.state.read_sessions() as db:
        nav = await nav_for(db, principal, app_key[:64])
        try:
            to = await intake.target_of(db, app_key[:64])
        except ProblemError:  # the app takes no messages in (no intake mapping)
            raise ProblemError("not_found") from None
        if not _allowed(to.tickets, principal, "read"):
            raise ProblemError("not_found")
        ticket_form = to.spec.ticket.form
    return render(request, "pages/chat.html", nav=nav, app_key=app_key, ticket_form=ticket_form)
