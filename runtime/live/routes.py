"""GET /api/v1/me/events: the signed-in user's live events (server-sent events).

Signed in by the session cookie (a page) or a bearer token (an integration). The stream sends
``retry:``, then each event as ``id:`` (for ``Last-Event-ID``), ``event:`` (its kind: ``call``)
and ``data:`` (JSON), a comment line every ``events_heartbeat_seconds`` when idle, and
``event: end`` when the session ends. It ends when the client goes away or the server begins
to shut down. A reconnecting browser sends ``Last-Event-ID`` and gets what it missed (events
are kept a few minutes); a new stream starts after the newest event.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from runtime.auth import service as auth
from runtime.deps import MAX_ID
from runtime.errors import problem_response
from runtime.live import bus
from runtime.web.notifications import frame

router = APIRouter(prefix="/api/v1/me", tags=["live events"])
#: How long a browser waits before reconnecting (milliseconds).
RETRY_MS = 3000
#: How often an open stream checks that its session is still valid.
CHECK_SECONDS = 10.0


async def _principal(request: Request, db) -> tuple[object | None, str | None]:
    settings = request.app.state.settings
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
        return await auth.token_principal(db, token), f"bearer:{token}"
    cookie = request.cookies.get(settings.session_cookie)
    if not cookie:
        return None, None
    return await auth.session_principal(db, cookie), f"cookie:{cookie}"


async def _still_signed_in(request: Request, credential: str, user_id: int) -> bool:
    async with request.app.state.read_sessions() as db:
        kind, _, value = credential.partition(":")
        if kind == "bearer":
            principal = await auth.token_principal(db, value)
        else:
            principal = await auth.session_principal(db, value)
        return principal is not None and principal.user_id == user_id


async def stream(
    request: Request, credential: str, user_id: int, last_id: int
) -> AsyncIterator[str]:
    app = request.app
    settings = app.state.settings
    engine = app.state.engine
    dialect = engine.dialect.name
    every = bus.POLL_SECONDS.get(dialect, 0.5)
    heartbeat = settings.events_heartbeat_seconds
    wake = bus.hub.subscribe(user_id)
    listening = bus.listener(engine) if dialect == "postgresql" else None
    if listening is not None:
        await listening.acquire()
    draining: asyncio.Event | None = getattr(app.state, "draining", None)
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        sent_at = checked_at = time.monotonic()
        while True:
            wake.clear()
            async with app.state.read_sessions() as db:
                rows = await bus.pending(db, user_id, last_id)
            if rows:
                last_id = rows[-1].id
                sent_at = time.monotonic()
                yield "".join(frame(r.kind, r.data, r.id) for r in rows)
                continue
            if time.monotonic() - sent_at >= heartbeat:
                sent_at = time.monotonic()
                yield ": heartbeat\n\n"
            if time.monotonic() - checked_at >= CHECK_SECONDS:
                checked_at = time.monotonic()
                if not await _still_signed_in(request, credential, user_id):
                    yield frame("end", {"reason": "signed_out"})
                    return
            if draining is not None and draining.is_set():
                return
            if await request.is_disconnected():
                return
            waits = [asyncio.ensure_future(wake.wait())]
            if draining is not None:
                waits.append(asyncio.ensure_future(draining.wait()))
            try:
                await asyncio.wait(waits, timeout=every, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in waits:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
    finally:
        bus.hub.unsubscribe(user_id, wake)
        if listening is not None:
            await listening.release()


@router.get("/events", include_in_schema=False)  # a stream that never ends: not fuzzable
async def events(request: Request) -> Response:
    """The signed-in user's live events (server-sent events; see the module docstring). A
    browser's EventSource that is not signed in gets 204 (it stops reconnecting), any other
    client 401."""
    async with request.app.state.read_sessions() as db:
        principal, credential = await _principal(request, db)
        if principal is None or credential is None:
            if "text/event-stream" in request.headers.get("accept", ""):
                return Response(status_code=204)
            return problem_response("not_authenticated", request=request)
        user_id = principal.user_id  # type: ignore[attr-defined]
        sent = request.headers.get("last-event-id", "").strip()
        last_id = int(sent) if sent.isdigit() and int(sent) <= MAX_ID else None
        if last_id is None:
            last_id = await bus.latest(db, user_id)
    return StreamingResponse(
        stream(request, credential, user_id, last_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
