"""Screen pops: a ringing call reaches the mapped agent's open event stream at once (in this
process, and from another process through PostgreSQL NOTIFY or the SQLite poll)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn

from runtime.live import bus
from tests.runtime.channels.cti.support import event, make_cti, post_event

pytestmark = pytest.mark.asyncio
WAIT = 10


@pytest.fixture
async def live_url(app: Any) -> AsyncIterator[str]:
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


async def next_event(lines: AsyncIterator[str]) -> dict[str, str]:
    """The next event (comments skipped)."""
    current: dict[str, str] = {}
    async for line in lines:
        if line == "":
            if current:
                return current
        elif not line.startswith(":") and not line.startswith("retry:"):
            name, _, value = line.partition(": ")
            current[name] = value
    raise AssertionError("the stream ended")


async def test_ringing_pops_the_agents_page_through_the_event_stream(
    center, live_url, sessions, backend
):
    await make_cti(center)
    sam, sue = center.people["sam"], center.people["sue"]
    async with httpx.AsyncClient(base_url=live_url, timeout=WAIT) as web:
        async with (
            web.stream("GET", "/api/v1/me/events", headers=sam.headers) as sams,
            web.stream("GET", "/api/v1/me/events", headers=sue.headers) as sues,
        ):
            assert sams.status_code == 200
            assert sams.headers["content-type"].startswith("text/event-stream")
            lines = sams.aiter_lines()
            assert await asyncio.wait_for(anext(lines), WAIT) == "retry: 3000"
            reading = asyncio.ensure_future(asyncio.wait_for(next_event(lines), WAIT))
            started = time.perf_counter()
            rang = await post_event(web, event("ringing", call_id="live-1"))
            answered = time.perf_counter()
            assert rang.status_code == 200, rang.text
            got = await reading
            popped = time.perf_counter()
            print(
                f"\nscreen pop ({backend}): webhook answered after "
                f"{(answered - started) * 1000:.1f} ms, the agent's stream had the event "
                f"{(popped - started) * 1000:.1f} ms after the webhook was sent"
            )
            assert got["event"] == "call"
            data = json.loads(got["data"])
            customer_id = rang.json()["customer_id"]
            assert data["url"] == f"/apps/customer_center/forms/customer/records/{customer_id}"
            assert data["from"] == "+86 138 0013 8000" and data["extension"] == "801"
            assert data["customer_name"] == "+8613800138000"
            assert data["ticket_id"] is None  # popped before the call was logged
            first_id = int(got["id"])
            # A known caller pops the same way.
            reading = asyncio.ensure_future(asyncio.wait_for(next_event(lines), WAIT))
            started = time.perf_counter()
            known = await post_event(web, event("ringing", call_id="live-2"))
            answered = time.perf_counter()
            assert known.json()["customer_id"] == customer_id
            assert known.json()["popped"] == [sam.id]
            got = await reading
            popped = time.perf_counter()
            print(
                f"screen pop of a known caller ({backend}): webhook answered after "
                f"{(answered - started) * 1000:.1f} ms, the agent's stream had the event "
                f"{(popped - started) * 1000:.1f} ms after the webhook was sent"
            )
            data = json.loads(got["data"])
            assert data["call_id"] == "live-2" and data["customer_id"] == customer_id
            assert data["ticket_id"] is None  # sent before the call was logged
            # sue's extension did not ring: her stream got nothing but its opening lines
            sue_lines = sues.aiter_lines()
            assert await asyncio.wait_for(anext(sue_lines), WAIT) == "retry: 3000"
        # Another process's publish (no in-process wake-up): PostgreSQL NOTIFY or the poll.
        async with web.stream("GET", "/api/v1/me/events", headers=sam.headers) as again:
            lines = again.aiter_lines()
            await asyncio.wait_for(anext(lines), WAIT)
            await asyncio.sleep(0.2)  # the stream is listening
            started = time.perf_counter()
            async with sessions() as db:
                waking, bus.hub.wake = bus.hub.wake, lambda users: None  # as if elsewhere
                try:
                    await bus.publish(db, [sam.id], "call", {"call_id": "elsewhere"})
                    await db.commit()
                finally:
                    bus.hub.wake = waking
            got = await asyncio.wait_for(next_event(lines), WAIT)
            latency = (time.perf_counter() - started) * 1000
            print(f"delivery latency without the in-process wake-up ({backend}): {latency:.1f} ms")
            assert json.loads(got["data"]) == {"call_id": "elsewhere"}
            assert int(got["id"]) > first_id
        # A reconnecting page gets what it missed after its Last-Event-ID.
        headers = {**sam.headers, "Last-Event-ID": str(first_id - 1)}
        async with web.stream("GET", "/api/v1/me/events", headers=headers) as missed:
            lines = missed.aiter_lines()
            got = await asyncio.wait_for(next_event(lines), WAIT)
            assert int(got["id"]) == first_id and json.loads(got["data"])["call_id"] == "live-1"
            got = await asyncio.wait_for(next_event(lines), WAIT)
            assert json.loads(got["data"])["call_id"] == "live-2"


async def test_the_event_stream_refuses_anyone_not_signed_in(client):
    refused = await client.get("/api/v1/me/events")
    assert refused.status_code == 401
    assert refused.json()["code"] == "not_authenticated"
    quiet = await client.get("/api/v1/me/events", headers={"Accept": "text/event-stream"})
    assert quiet.status_code == 204
    bad = await client.get("/api/v1/me/events", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
