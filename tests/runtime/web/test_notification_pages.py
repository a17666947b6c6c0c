"""Notifications on the pages, on both databases: the list and marking read, the bell, and the
live event stream (read from a real server, since it never ends by itself)."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from runtime.config import Settings
from runtime.rules.models import Notification
from tests.conftest import USER_PASSWORD, make_settings
from tests.runtime.web.pages import csrf_token, sign_in

#: A bound on waiting for an event (not a timing assertion).
WAIT = 20


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path, events_poll_seconds=0.05, events_heartbeat_seconds=0.2)


async def notify(sessions: Any, user_id: int, title: str, **subject: Any) -> int:
    async with sessions() as db:
        item = Notification(user_id=user_id, title=title, body=f"About {title}", subject=subject)
        db.add(item)
        await db.commit()
        return int(item.id)


def listed(html: str) -> list[tuple[int, bool]]:
    """(id, unread) of each notification on the page, in order."""
    return [
        (int(m[2]), "notification--unread" in m[1])
        for m in re.finditer(r'<li class="notification([^"]*)" data-notification="(\d+)">', html)
    ]


async def test_the_page_lists_newest_first_and_marks_read(client, user, sessions):
    first = await notify(sessions, user.id, "First", app="desk", form="ticket", record_id=7)
    second = await notify(sessions, user.id, "Second")
    await sign_in(client, "alice", USER_PASSWORD)
    page = await client.get("/notifications")
    assert page.status_code == 200, page.text
    assert listed(page.text) == [(second, True), (first, True)]
    assert 'href="/apps/desk/forms/ticket/records/7">First</a>' in page.text
    assert "2 unread notifications" in page.text
    assert '<span class="bell__count" aria-hidden="true" data-bell-count>2</span>' in page.text
    token = csrf_token(page.text)
    refused = await client.post(f"/notifications/{first}/read", data={"back": "/notifications"})
    assert refused.status_code == 403
    done = await client.post(
        f"/notifications/{first}/read", data={"csrf_token": token, "back": "/notifications"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    page = await client.get("/notifications")
    assert listed(page.text) == [(second, True), (first, False)]
    unread = await client.get("/notifications", params={"unread": 1})
    assert listed(unread.text) == [(second, True)]
    await client.post("/notifications/read-all", data={"csrf_token": token})
    page = await client.get("/notifications")
    assert listed(page.text) == [(second, False), (first, False)]
    assert "Mark all as read" not in page.text


async def test_nobody_reads_or_marks_someone_elses(client, user, admin, sessions):
    theirs = await notify(sessions, admin.id, "Not yours")
    await sign_in(client, "alice", USER_PASSWORD)
    page = await client.get("/notifications")
    assert listed(page.text) == [] and "No notifications yet." in page.text
    answer = await client.post(
        f"/notifications/{theirs}/read", data={"csrf_token": csrf_token(page.text)}
    )
    assert answer.status_code == 404
    assert "<html" in answer.text


async def test_the_event_stream_refuses_anonymous_callers(client):
    answer = await client.get("/events")
    assert answer.status_code == 401
    client.cookies.set("tangram_session", "nope")
    forged = await client.get("/events")
    assert forged.status_code == 401
    # A browser's EventSource gets 204: per the SSE spec it then stops reconnecting.
    quiet = await client.get("/events", headers={"Accept": "text/event-stream"})
    assert quiet.status_code == 204 and quiet.content == b""


@pytest.fixture
async def live_url(app: Any) -> AsyncIterator[str]:
    """The test's app served by uvicorn on a free loopback port, in this event loop."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


async def read_events(lines: AsyncIterator[str], wanted: str) -> list[dict[str, Any]]:
    """Events up to and including the first of kind ``wanted``."""
    events, current = [], {}
    async for line in lines:
        if line == "":
            if current:
                events.append(current)
                if current.get("event") == wanted:
                    return events
            current = {}
        elif line.startswith(":"):
            events.append({"comment": line[1:].strip()})
        else:
            name, _, value = line.partition(": ")
            current[name] = value
    raise AssertionError(f"the stream ended before a {wanted!r} event: {events}")


async def test_the_event_stream_delivers_new_notifications(live_url, user, sessions):
    old = await notify(sessions, user.id, "Old")
    async with httpx.AsyncClient(base_url=live_url) as browser:
        await sign_in(browser, "alice", USER_PASSWORD)
        async with browser.stream("GET", "/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            first = await asyncio.wait_for(read_events(lines, "unread"), WAIT)
            assert json.loads(first[-1]["data"]) == {"unread": 1}
            # nothing new: a heartbeat comment keeps the connection alive
            assert await asyncio.wait_for(anext(lines), WAIT) == ": heartbeat"
            new = await notify(sessions, user.id, "Fresh", app="desk", form="t", record_id=3)
            events = await asyncio.wait_for(read_events(lines, "unread"), WAIT)
            sent = [e for e in events if e.get("event") == "notification"]
            assert len(sent) == 1 and sent[0]["id"] == str(new)
            assert json.loads(sent[0]["data"])["url"] == "/apps/desk/forms/t/records/3"
            assert json.loads(events[-1]["data"]) == {"unread": 2}
        # A reconnecting browser gets what it missed after its Last-Event-ID.
        async with browser.stream("GET", "/events", headers={"Last-Event-ID": str(old)}) as again:
            events = await asyncio.wait_for(read_events(again.aiter_lines(), "notification"), WAIT)
            assert events[-1]["id"] == str(new)
        # Signing out ends the stream.
        async with browser.stream("GET", "/events") as stream:
            lines = stream.aiter_lines()
            await asyncio.wait_for(read_events(lines, "unread"), WAIT)
            home = await browser.get("/notifications")
            await browser.post("/sign-out", data={"csrf_token": csrf_token(home.text)})
            events = await asyncio.wait_for(read_events(lines, "end"), WAIT)
            assert events[-1]["event"] == "end"
