"""The web chat over real WebSockets (uvicorn on localhost): visitor messages become a ticket
and its transcript, agents answer live, offline messages, refused origins and oversize frames."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed, InvalidStatus

from runtime.channels.chat import service
from runtime.channels.chat.models import ChatConversation
from runtime.channels.models import QUARANTINED, SENT, ChannelMessage
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD
from tests.runtime.channels.chat.conftest import ORIGIN, Peer, agent, make_chat, visitor
from tests.runtime.web.pages import sign_in as web_sign_in

pytestmark = pytest.mark.asyncio


async def sign_in(center: Any, who: str) -> str:
    client = center.client
    login = await client.post(
        "/api/v1/auth/login", json={"username": who, "password": USER_PASSWORD}
    )
    assert login.status_code == 200, login.text
    cookie = client.cookies.get("tangram_session")
    client.cookies.clear()
    assert cookie
    return str(cookie)


async def every(center: Any, form: str) -> list[dict[str, Any]]:
    got = await center.client.get(
        center.url(form), params={"limit": 500}, headers=center.admin.headers
    )
    assert got.status_code == 200, got.text
    return list(got.json()["items"])


async def messages(center: Any, ticket_id: int) -> list[dict[str, Any]]:
    rows = await every(center, "communication")
    return [r["values"] for r in rows if r["values"]["ticket"] == ticket_id]


async def conversation(sessions: Any, conversation_id: int) -> ChatConversation:
    async with sessions() as db:
        found = await db.get(ChatConversation, conversation_id)
        assert found is not None
        return found


async def test_a_visitor_chat_becomes_a_ticket_and_the_agent_answers_live(center, sessions, served):
    await make_chat(sessions, center)
    sam = await agent(served, await sign_in(center, "sam"))
    listed = await sam.next("conversations")
    assert listed["items"] == []

    guest, welcome = await visitor(served)
    assert welcome["online"] is True and welcome["greeting"] == "您好，有什么可以帮您？"
    assert welcome["ask"] == {"email": True, "phone": False}
    token = welcome["token"]

    await guest.send(type="message", body="你好，我的订单还没发货")
    first = await guest.next("message")
    assert first["seq"] == 1 and first["author"] == "visitor"
    row = await conversation(sessions, welcome["conversation"])
    assert row.ticket_id is not None and row.customer_id is not None
    ticket = await center.values(row.ticket_id)
    assert ticket["channel"] == "chat" and ticket["subject"] == "你好，我的订单还没发货"
    customer = await center.values(row.customer_id, "customer")
    assert customer["name"] == f"访客 {row.id}" and customer["email"] is None

    # The agent's list learns of it, with one unread message.
    seen = await sam.next("conversation", id=row.id)
    assert seen["unread"] == 1 and seen["ticket_id"] == row.ticket_id

    # The second message (after the visitor gave an e-mail) joins the same ticket and
    # completes the anonymous customer.
    await guest.send(type="profile", name="李雷", email="Li.Lei@Example.cn")
    told = await guest.next("profile")
    assert told["email"] == "li.lei@example.cn"
    await guest.send(type="message", body="订单号 A-1001")
    assert (await guest.next("message"))["seq"] == 2
    assert (await conversation(sessions, row.id)).ticket_id == row.ticket_id
    customer = await center.values(row.customer_id, "customer")
    assert customer["email"] == "li.lei@example.cn"
    bodies = [m["body"] for m in await messages(center, row.ticket_id)]
    assert sorted(bodies) == sorted(["你好，我的订单还没发货", "订单号 A-1001"])

    # The agent opens it and answers: the visitor gets it, the ticket gets an outbound message.
    await sam.send(type="open", conversation=row.id)
    transcript = await sam.next("transcript")
    assert [e["body"] for e in transcript["items"]] == ["你好，我的订单还没发货", "订单号 A-1001"]
    await sam.send(type="typing", conversation=row.id)
    assert (await guest.next("typing"))["author"] == "agent"
    await sam.send(type="reply", conversation=row.id, body="您好，我们马上查一下")
    answer = await guest.next("message", author="agent")
    assert answer["body"] == "您好，我们马上查一下" and answer["seq"] == 3
    assert answer["name"] == "sam"
    echoed = await sam.next("message", author="agent")
    assert echoed["conversation"] == row.id
    outbound = [m for m in await messages(center, row.ticket_id) if m["direction"] == "outbound"]
    assert [m["body"] for m in outbound] == ["您好，我们马上查一下"]
    async with sessions() as db:
        sent = (await db.scalars(select(ChannelMessage).where(ChannelMessage.status == SENT))).all()
        assert [m.ticket_id for m in sent] == [row.ticket_id]

    # A reply written on the ticket (not in the chat page) reaches the visitor too.
    await center.create(
        "sam",
        "communication",
        ticket=row.ticket_id,
        customer=row.customer_id,
        direction="outbound",
        channel="chat",
        body="已发货，单号 SF123",
    )
    later = await guest.next("message", author="agent")
    assert later["body"] == "已发货，单号 SF123" and later["seq"] == 4

    # Reconnecting with the token resumes from a sequence number.
    await guest.conn.close()
    again, resumed = await visitor(served, token=token, since=2)
    assert resumed["token"] == token and resumed["conversation"] == row.id
    assert resumed["profile"]["email"] == "li.lei@example.cn"
    replay = [await again.next("message"), await again.next("message")]
    assert [m["seq"] for m in replay] == [3, 4]
    await again.conn.close()
    await sam.conn.close()


async def test_an_email_joins_the_customers_open_ticket(center, sessions, served):
    await make_chat(sessions, center)
    known = await center.create("sam", "customer", name="韩梅梅", email="han@example.cn")
    open_ticket = await center.create(
        "sam", "ticket", customer=known["id"], subject="退货", channel="phone"
    )
    guest, _ = await visitor(served)
    await guest.send(
        type="message", body="我上次的退货怎么样了", name="梅梅", email="HAN@example.cn"
    )
    await guest.next("message")
    rows = await every(center, "customer")
    assert len(rows) == 1
    async with sessions() as db:
        row = await db.scalar(select(ChatConversation))
        assert row.customer_id == known["id"] and row.ticket_id == open_ticket["id"]
    await guest.conn.close()


async def test_a_signed_in_visitor_vouched_for_by_the_site(center, sessions, served):
    await make_chat(sessions, center, secret="s3cret")
    known = await center.create("sam", "customer", name="王芳", email="wang@example.cn")
    forged, hello = await visitor(served, email="wang@example.cn", signature="0" * 64)
    assert hello["profile"]["email"] is None
    await forged.conn.close()
    signed = service.signature("s3cret", "wang@example.cn")
    guest, hello = await visitor(served, email="wang@example.cn", signature=signed, name="王芳")
    assert hello["profile"]["email"] == "wang@example.cn"
    await guest.send(type="message", body="发票开错了")
    await guest.next("message")
    async with sessions() as db:
        row = await db.get(ChatConversation, hello["conversation"])
        assert row.customer_id == known["id"]
    await guest.conn.close()


async def test_offline_messages_need_an_email_and_become_a_ticket(center, sessions, served):
    await make_chat(sessions, center)
    guest, welcome = await visitor(served, lang="en")
    assert welcome["online"] is False
    assert welcome["offline"].startswith("No one is online")
    await guest.send(type="offline", body="Please call me back")
    refused = await guest.next("error")
    assert refused["code"] == "chat.email_required" and refused["fields"] == {"email": "required"}
    await guest.send(type="offline", body="Please call me back", email="not-an-email")
    assert (await guest.next("error"))["fields"] == {"email": "invalid"}
    await guest.send(
        type="offline", body="Please call me back", name="Ann", email="ann@example.com"
    )
    await guest.next("offline_ok")
    tickets = await every(center, "ticket")
    assert [t["values"]["subject"] for t in tickets] == ["Please call me back"]
    customer = await center.values(tickets[0]["values"]["customer"], "customer")
    assert customer["email"] == "ann@example.com" and customer["name"] == "Ann"

    # An agent comes online: the visitor is told.
    sam = await agent(served, await sign_in(center, "sam"))
    assert (await guest.next("presence"))["online"] is True
    listed = await sam.next("conversations")
    assert [c["email"] for c in listed["items"]] == ["ann@example.com"]
    await sam.conn.close()
    assert (await guest.next("presence"))["online"] is False
    await guest.conn.close()


async def test_origins_other_than_the_allowed_ones_are_refused(center, sessions, served):
    await make_chat(sessions, center)
    with pytest.raises(InvalidStatus) as refused:
        await visitor(served, origin="https://evil.example.com")
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        await visitor(served, path="/chat/ws/customer_center/nope")
    # The server's own origin may always embed it (the widget on the app's own pages).
    guest, _ = await visitor(served, origin=served.origin)
    await guest.conn.close()
    # An agent socket needs a signed-in user who may read tickets, from this origin.
    with pytest.raises(InvalidStatus):
        peer = await agent(served, "not-a-session")
        await peer.next("conversations")
    cookie = await sign_in(center, "sam")
    from websockets.asyncio.client import connect

    with pytest.raises(InvalidStatus):
        await connect(
            served.ws("/chat/agent/ws/customer_center"),
            origin=ORIGIN,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"tangram_session={cookie}"},
        )


async def test_oversize_frames_close_the_socket_and_are_quarantined(center, sessions, served):
    channel_id = await make_chat(sessions, center)
    guest, _ = await visitor(served)
    await guest.send(type="message", body="x" * (service.MAX_BODY + 1))
    assert (await guest.next("error"))["code"] == "chat.too_large"  # too long: refused, kept open
    await guest.conn.send(json.dumps({"type": "message", "body": "大" * service.MAX_FRAME}))
    assert (await guest.next("error"))["code"] == "chat.too_large"
    with pytest.raises(ConnectionClosed):
        await guest.next("message", timeout=5)
    assert guest.conn.close_code == 1009
    async with sessions() as db:
        logged = (
            await db.scalars(select(ChannelMessage).where(ChannelMessage.channel_id == channel_id))
        ).all()
        assert [(m.status, m.code) for m in logged] == [(QUARANTINED, "chat.too_large")]
    assert await every(center, "ticket") == []


async def test_a_flood_is_rate_limited(center, sessions, served):
    await make_chat(sessions, center)
    guest, _ = await visitor(served)
    for n in range(11):
        await guest.send(type="profile", name=f"n{n}")
    codes = []
    for _ in range(11):
        frame = json.loads(await asyncio.wait_for(guest.conn.recv(), 10))
        codes.append(frame.get("code") or frame["type"])
    assert codes.count("profile") == 10 and codes[-1] == "chat.rate_limited"
    await guest.conn.close()


async def test_garbage_frames_are_answered_not_fatal(center, sessions, served):
    await make_chat(sessions, center)
    guest, _ = await visitor(served)
    await guest.conn.send("not json")
    assert (await guest.next("error"))["code"] == "chat.bad_frame"
    await guest.send(type="message", body="   ")
    assert (await guest.next("error"))["code"] == "chat.empty"
    await guest.send(type="ping")
    await guest.next("pong")
    await guest.conn.close()


async def test_a_socket_must_say_hello_first(center, sessions, served):
    await make_chat(sessions, center)
    from websockets.asyncio.client import connect

    conn = await connect(served.ws("/chat/ws/customer_center/web"), origin=ORIGIN)  # type: ignore[arg-type]
    peer = Peer(conn)
    await peer.send(type="message", body="hi")
    with pytest.raises(ConnectionClosed):
        await peer.next("welcome", timeout=5)
    assert conn.close_code == 1008


async def test_the_agents_page_and_the_widget_files(center, sessions):
    client = center.client
    anonymous = await client.get("/apps/customer_center/chat")
    assert anonymous.status_code in (302, 303, 307) and "/sign-in" in anonymous.headers["location"]
    await sign_in(center, "sam")
    login = await client.post(
        "/api/v1/auth/login", json={"username": "sam", "password": USER_PASSWORD}
    )
    assert login.status_code == 200
    page = await client.get("/apps/customer_center/chat")
    assert page.status_code == 200, page.text
    assert 'data-socket="/chat/agent/ws/customer_center"' in page.text
    assert 'href="/apps/customer_center/chat"' in page.text  # linked from the app's navigation
    home = await client.get("/apps/customer_center")
    assert 'href="/apps/customer_center/chat"' in home.text
    assert (await client.get("/apps/no_such_app/chat")).status_code == 404
    client.cookies.clear()
    script = await client.get("/chat/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("application/javascript")
    assert "data-channel" in script.text
    css = await client.get("/chat/widget.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    # Designers add a chat channel from the builder's channel pages (a form from its settings).
    await web_sign_in(client, "admin", ADMIN_PASSWORD, "/build")
    new = await client.get("/build/apps/customer_center/channels/new", params={"kind": "chat"})
    assert new.status_code == 200, new.text
    assert 'name="s_allowed_origins"' in new.text and 'name="s_secret" type="password"' in new.text
    assert "Greeting (中文)" in new.text


async def test_a_chat_channel_configured_through_the_api(center, sessions, served):
    client, admin = center.client, center.admin
    base = f"/api/v1/apps/{center.app['id']}/channels"
    bad = await client.post(
        base,
        json={
            "kind": "chat",
            "key": "web",
            "name": "官网",
            "settings": {"allowed_origins": ["ftp://shop.example.cn", "https://ok.example.cn/x"]},
        },
        headers=admin.headers,
    )
    assert bad.status_code == 422, bad.text
    assert {e["field"] for e in bad.json()["errors"]} == {"settings.allowed_origins"}
    made = await client.post(
        base,
        json={
            "kind": "chat",
            "key": "web",
            "name": "官网",
            "settings": {
                "allowed_origins": ["HTTPS://Shop.Example.cn/"],
                "greeting_en": "Hi there",
                "ask_phone": True,
                "secret": "k3y",
            },
        },
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    out = made.json()
    assert out["settings"]["allowed_origins"] == [ORIGIN] and "secret" not in out["settings"]
    assert out["secrets_set"] == ["secret"]
    guest, welcome = await visitor(served, lang="en")
    assert welcome["greeting"] == "Hi there" and welcome["ask"] == {"email": True, "phone": True}
    await guest.conn.close()
    signed = service.signature("k3y", "a@example.cn")
    vouched, welcome = await visitor(served, email="a@example.cn", signature=signed)
    assert welcome["profile"]["email"] == "a@example.cn"
    await vouched.conn.close()
    # Switched off: the widget's socket is refused.
    off = await client.patch(
        f"{base}/web",
        json={"row_version": out["row_version"], "enabled": False},
        headers=admin.headers,
    )
    assert off.status_code == 200, off.text
    with pytest.raises(InvalidStatus):
        await visitor(served)


async def test_a_message_after_the_ticket_closed_opens_a_new_one(center, sessions, served):
    await make_chat(sessions, center)
    guest, welcome = await visitor(served)
    await guest.send(type="message", body="第一次咨询")
    await guest.next("message")
    first = await conversation(sessions, welcome["conversation"])
    await center.patch("sol", first.ticket_id, status="closed")
    sam = await agent(served, await sign_in(center, "sam"))
    assert (await sam.next("conversations"))["items"] == []  # only open tickets' chats
    await guest.send(type="message", body="又有一个问题")
    await guest.next("message", body="又有一个问题")
    assert (await sam.next("conversation", id=first.id))["unread"] == 2
    await sam.conn.close()
    later = await conversation(sessions, first.id)
    assert later.ticket_id != first.ticket_id and later.customer_id == first.customer_id
    assert (await center.values(later.ticket_id))["subject"] == "又有一个问题"
    await guest.conn.close()
