"""Two ``tangram run`` web processes on one PostgreSQL database: a visitor's socket is held by
one, the agent's by the other; LISTEN/NOTIFY carries presence, messages and replies across."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from builder.apps.models import App
from runtime.channels.models import Channel
from runtime.db import utcnow
from runtime.users import service as users
from tests.conftest import Account, create_database
from tests.runtime.channels.chat.conftest import ORIGIN, Peer
from tests.runtime.rules.conftest import make_group
from tests.support.db import run_with_session
from tests.support.processes import processes
from tests.templates.customer_center import install as template

pytestmark = [pytest.mark.postgres_only, pytest.mark.slow]

USERNAME, PASSWORD = "chatadmin", "Chat-admin-pass-2026"


@pytest.fixture(params=["postgresql"])
def pg_url(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    url, drop = create_database(request.param, tmp_path)
    try:
        yield url
    finally:
        drop()


def arrange(url: str) -> int:
    async def work(db: Any) -> int:
        user, _ = await users.create_user(
            db, None, username=USERNAME, password=PASSWORD, is_admin=True
        )
        await db.commit()
        return int(user.id)

    return run_with_session(url, work)


async def install(base: str, user_id: int) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"username": USERNAME, "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        cookie = str(client.cookies.get("tangram_session"))
        csrf = login.json()["csrf_token"]
        made = await client.post(
            "/api/v1/auth/tokens", json={"name": "chat"}, headers={"X-CSRF-Token": csrf}
        )
        assert made.status_code == 201, made.text
        client.cookies.clear()
        admin = Account(user_id, USERNAME, PASSWORD, made.json()["token"])
        for key in template.GROUPS:
            await make_group(client, admin, key, [])
        await template.install(client, admin)
        return cookie


def add_channel(url: str) -> None:
    async def work(db: Any) -> None:
        app_id = (await db.execute(select(App.id).where(App.key == "customer_center"))).scalar_one()
        now = utcnow()
        db.add(
            Channel(
                app_id=app_id,
                kind="chat",
                key="web",
                name="web",
                enabled=True,
                settings={"allowed_origins": [ORIGIN]},
                state={},
                row_version=1,
                created_at=now,
                updated_at=now,
            )
        )
        await db.commit()

    run_with_session(url, work)


def test_presence_messages_and_replies_cross_processes(pg_url, tmp_path):
    user_id = arrange(pg_url)
    with processes(pg_url, tmp_path) as group:
        (_, one), (_, two) = group.webs(2)

        cookie = asyncio.run(install(one, user_id))
        add_channel(pg_url)

        async def scenario() -> None:
            ws_one, ws_two = one.replace("http", "ws"), two.replace("http", "ws")
            guest = Peer(await connect(f"{ws_one}/chat/ws/customer_center/web", origin=ORIGIN))
            await guest.send(type="hello", lang="en")
            assert (await guest.next("welcome", timeout=30))["online"] is False

            agent = Peer(
                await connect(
                    f"{ws_two}/chat/agent/ws/customer_center",
                    origin=two,
                    additional_headers={"Cookie": f"tangram_session={cookie}"},
                )
            )
            await agent.next("conversations", timeout=30)
            # The agent on process two is online for the visitor on process one.
            assert (await guest.next("presence", timeout=30))["online"] is True

            await guest.send(type="message", body="Is my order shipped?")
            told = await agent.next("message", timeout=30)
            assert told["body"] == "Is my order shipped?" and told["author"] == "visitor"
            await agent.send(type="reply", conversation=told["conversation"], body="Yes, today.")
            answer = await guest.next("message", timeout=30, author="agent")
            assert answer["body"] == "Yes, today." and answer["name"] == USERNAME

            await agent.conn.close()
            assert (await guest.next("presence", timeout=30))["online"] is False
            await guest.conn.close()

        asyncio.run(scenario())
        group.check_alive()
