"""The web chat in real browsers: a shop's page (another origin) embeds the widget with one
script tag; a visitor chats in Chinese and an agent, signed in in another browser context,
sees the conversation arrive on the Live chat page and answers it live."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from builder.apps.models import App
from runtime.channels.chat.models import ChatConversation
from runtime.channels.models import Channel
from runtime.db import utcnow
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.test_customer_center import PASSWORD, _install

#: What a round trip through the server may take on a loaded machine (a bound, not a goal).
WAIT = TIMEOUT_MS


@pytest.fixture
def shop(live: Any) -> Iterator[str]:
    """A shop's page on another origin with the widget's script tag."""
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>小店</title></head>'
        "<body><h1>欢迎光临</h1>"
        f'<script src="{live.url}/chat/widget.js" data-channel="customer_center/web" async>'
        "</script></body></html>"
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _channel(live: Any, origin: str) -> None:
    async def make(sessions: Any) -> None:
        async with sessions() as db:
            app_id = (
                await db.execute(select(App.id).where(App.key == "customer_center"))
            ).scalar_one()
            now = utcnow()
            db.add(
                Channel(
                    app_id=app_id,
                    kind="chat",
                    key="web",
                    name="官网客服",
                    enabled=True,
                    settings={"allowed_origins": [origin]},
                    state={},
                    row_version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            await db.commit()

    live.run(make)


@pytest.mark.worker
@pytest.mark.both_databases
def test_a_visitor_chats_and_an_agent_answers_live(page, live, browser, sign_in_as, shop):
    _install(live)
    _channel(live, shop)

    # The agent opens the Live chat page from the app's navigation.
    sign_in_as(page, "amy", PASSWORD, next_url="/apps/customer_center")
    page.get_by_role("link", name="Live chat").click()
    expect(page.locator("[data-chat-status]")).to_contain_text("You are online", timeout=WAIT)

    # The visitor, in a browser context of their own, on the shop's page.
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    guest = context.new_page()
    errors: list[str] = []
    guest.on("pageerror", lambda error: errors.append(str(error)))
    try:
        guest.goto(shop)
        guest.get_by_role("button", name="在线客服").click()
        panel = guest.get_by_role("dialog", name="在线客服")
        expect(panel.get_by_role("status")).to_have_text("客服在线", timeout=WAIT)
        expect(panel).to_contain_text("您好，有什么可以帮您？")
        panel.get_by_label("邮箱（选填）").fill("xiaoming@example.cn")
        panel.get_by_role("textbox", name="请输入消息…").fill("你好，我想换货")
        panel.get_by_role("button", name="发送").click()
        expect(panel.locator(".tc-msg--visitor")).to_have_text("我你好，我想换货", timeout=WAIT)

        # It arrives on the agent's page, unread; the agent opens it and answers.
        conversation = page.locator("[data-chat-list] button", has_text="xiaoming@example.cn")
        unread = conversation.locator("[data-unread]")
        expect(unread).to_have_attribute("data-unread", "1", timeout=WAIT)
        conversation.click()
        expect(page.locator("[data-chat-log]")).to_contain_text("你好，我想换货", timeout=WAIT)
        page.get_by_label("Reply").fill("您好，请提供订单号")
        page.get_by_role("button", name="Send").click()
        answered = page.locator("[data-chat-log] li.is-agent")
        expect(answered).to_contain_text("您好，请提供订单号", timeout=WAIT)

        # The visitor sees the answer live.
        reply = panel.locator(".tc-msg--agent .tc-body")
        expect(reply).to_have_text("您好，请提供订单号", timeout=WAIT)
        assert errors == []
    finally:
        context.close()

    async def check(sessions: Any) -> ChatConversation:
        async with sessions() as db:
            return (await db.scalars(select(ChatConversation))).one()

    row = live.run(check)
    assert row.email == "xiaoming@example.cn" and row.ticket_id is not None
    ticket_link = page.get_by_role("link", name="Open the ticket")
    href = f"/apps/customer_center/forms/ticket/records/{row.ticket_id}"
    expect(ticket_link).to_have_attribute("href", href, timeout=WAIT)
    assert page.errors == []  # type: ignore[attr-defined]
