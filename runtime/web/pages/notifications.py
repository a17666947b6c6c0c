"""The user's notifications (``/notifications``: newest first, mark one or all read) and the
live event stream (``/events``) behind the top bar's bell."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from runtime.auth import service as auth
from runtime.deps import MAX_ID, IdPath, SessionDep
from runtime.errors import problem_response
from runtime.rules import routes as rules
from runtime.web.deps import PageUser, safe_next
from runtime.web.notifications import latest_id, stream, unread_count, view_of
from runtime.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 30


@router.get("/notifications", name="notifications")
async def notifications_page(
    request: Request,
    principal: PageUser,
    db: SessionDep,
    unread: bool = False,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    page = await rules.my_notifications(
        principal, db, unread=unread, limit=PAGE_SIZE, before=before
    )
    next_url = None
    if page.next_before:
        next_url = f"/notifications?before={page.next_before}" + ("&unread=1" if unread else "")
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        "pages/notifications.html",
        items=[view_of(n) for n in page.items],
        unread_count=page.unread,
        unread_only=unread,
        next_url=next_url,
        here=here,
    )


@router.post("/notifications/read-all")
async def read_all(
    principal: PageUser,
    db: SessionDep,
    back: Annotated[str, Form(max_length=2000)] = "/notifications",
) -> Response:
    await rules.mark_all_read(principal, db)
    return RedirectResponse(safe_next(back, "/notifications"), status_code=303)


@router.post("/notifications/{notification_id}/read")
async def read_one(
    notification_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    back: Annotated[str, Form(max_length=2000)] = "/notifications",
) -> Response:
    await rules.mark_read(notification_id, principal, db)
    return RedirectResponse(safe_next(back, "/notifications"), status_code=303)


@router.get("/events", name="events")
async def events(request: Request) -> Response:
    """Server-sent events for the signed-in user (cookie only); 401 for anyone else — but 204
    to a browser's EventSource (it asks for ``text/event-stream``): the SSE spec's way to make
    it stop reconnecting, so a tab whose session ended goes quiet instead of retrying."""
    settings = request.app.state.settings
    cookie = request.cookies.get(settings.session_cookie)
    async with request.app.state.read_sessions() as db:
        principal = await auth.session_principal(db, cookie) if cookie else None
        if principal is None or cookie is None:
            if "text/event-stream" in request.headers.get("accept", ""):
                return Response(status_code=204)
            return problem_response("not_authenticated", request=request)
        user_id = principal.user_id
        sent = request.headers.get("last-event-id", "").strip()
        last_id = int(sent) if sent.isdigit() and int(sent) <= MAX_ID else None
        if last_id is None:
            last_id = await latest_id(db, user_id)
        unread = await unread_count(db, user_id)
    return StreamingResponse(
        stream(request, cookie, user_id, last_id, unread),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
