"""A real uvicorn server on the test's event loop serving the test's app, and a chat channel
of the Customer Center."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from runtime.channels import secrets
from runtime.channels.models import Channel
from runtime.db import utcnow
from tests.support.servers import free_port

ORIGIN = "https://shop.example.cn"


@dataclass
class Served:
    port: int

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self, path: str) -> str:
        return f"ws://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def served(app: Any) -> AsyncIterator[Served]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield Served(port)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def make_chat(
    sessions: Any, center: Any, key: str = "web", secret: str | None = None, **settings: Any
) -> int:
    values = {"allowed_origins": [ORIGIN], "ask_email": True, "ask_phone": False, **settings}
    async with sessions() as db:
        now = utcnow()
        channel = Channel(
            app_id=center.app["id"],
            kind="chat",
            key=key,
            name=key,
            enabled=True,
            intake=None,
            settings=values,
            secrets=secrets.seal({"secret": secret}) if secret else None,
            state={},
            row_version=1,
            created_at=now,
            updated_at=now,
        )
        db.add(channel)
        await db.commit()
        return channel.id


class Peer:
    """One end of a chat socket, reading frames with a bound."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.seen: list[dict[str, Any]] = []

    async def send(self, **frame: Any) -> None:
        await self.conn.send(json.dumps(frame))

    async def next(self, type_: str, timeout: float = 10, **match: Any) -> dict[str, Any]:
        """The next frame of ``type_`` (with the ``match`` values), skipping others."""

        async def find() -> dict[str, Any]:
            while True:
                frame = json.loads(await self.conn.recv())
                self.seen.append(frame)
                if frame.get("type") == type_ and all(frame.get(k) == v for k, v in match.items()):
                    return dict(frame)

        return await asyncio.wait_for(find(), timeout)


async def visitor(
    served: Served, path: str = "/chat/ws/customer_center/web", origin: str = ORIGIN, **hello: Any
) -> tuple[Peer, dict[str, Any]]:
    conn = await connect(served.ws(path), origin=origin)  # type: ignore[arg-type]
    peer = Peer(conn)
    await peer.send(type="hello", lang=hello.pop("lang", "zh-CN"), **hello)
    return peer, await peer.next("welcome")


async def agent(served: Served, cookie: str, app_key: str = "customer_center") -> Peer:
    conn = await connect(
        served.ws(f"/chat/agent/ws/{app_key}"),
        origin=served.origin,  # type: ignore[arg-type]
        additional_headers={"Cookie": f"tangram_session={cookie}"},
    )
    return Peer(conn)
