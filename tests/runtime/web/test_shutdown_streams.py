"""``tangram run`` stops promptly with a page open: SIGTERM ends the open notification stream
(runtime.draining) instead of uvicorn waiting out its 30-second graceful shutdown for it."""

from __future__ import annotations

import signal
from typing import Any

import httpx
import pytest

from runtime.users import service as users
from tests.conftest import create_database
from tests.support.db import run_with_session
from tests.support.processes import free_port, processes

USERNAME, PASSWORD = "streamer", "Stream-pass-2026x"
#: Far less than the 30 s ``tangram run`` grants open requests, and generous on a busy machine.
EXIT_WITHIN = 20


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    url, drop = create_database(request.param, tmp_path)
    try:
        yield url
    finally:
        drop()


def test_sigterm_ends_open_event_streams_at_once(fresh_url, tmp_path):
    async def create(db: Any) -> None:
        await users.create_user(db, None, username=USERNAME, password=PASSWORD)
        await db.commit()

    run_with_session(fresh_url, create)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with processes(fresh_url, tmp_path) as group:
        web = group.web("web", port, events_poll_seconds=0.5, events_heartbeat_seconds=60)
        group.wait_healthy(web, base)
        with httpx.Client(base_url=base, timeout=EXIT_WITHIN) as client:
            login = client.post(
                "/api/v1/auth/login", json={"username": USERNAME, "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            with client.stream("GET", "/events") as events:
                assert events.status_code == 200
                assert events.headers["content-type"].startswith("text/event-stream")
                chunks = events.iter_text()
                first = next(chunks)
                assert first.startswith("retry:") and "event: unread" in first
                web.signal(signal.SIGTERM)
                rest = "".join(chunks)  # the server ends the stream (no read timeout)
            assert "event: end" not in rest  # not signed out: the browser will reconnect
        # uvicorn re-raises the SIGTERM it caught once it has shut down gracefully.
        assert web.wait(timeout=EXIT_WITHIN) in (0, -signal.SIGTERM)
        assert "timeout graceful shutdown exceeded" not in web.output()
