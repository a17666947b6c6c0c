"""Notices to customers (codes, survey links): through the app's mailbox, else the platform's
SMTP server; one job per key, sent once."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy

import pytest

from runtime.channels.email.notice import enqueue_notice
from runtime.jobs.worker import Worker
from tests.runtime.channels.email.conftest import mailbox_settings, make_mailbox, tls_smtp
from tests.support.jobs import eventually, running
from tests.support.servers import smtp_server

pytestmark = pytest.mark.asyncio


async def notify(sessions, app_id: int, key: str = "code-1") -> None:
    async with sessions() as db:
        for _ in range(2):  # the same key twice: one job
            await enqueue_notice(
                db,
                app_id=app_id,
                to="zhang.wei@example.cn",
                subject="您的验证码\n123456",
                text="验证码：123456\n\n10 分钟内有效。",
                key=key,
            )
        await db.commit()


async def test_a_notice_goes_through_the_apps_mailbox(center, sessions, settings, imap):
    with tls_smtp("ssl") as (smtp, cert):
        values = mailbox_settings(
            imap, smtp_port=smtp.port, tls_ca_pem=imap.cert.read_text() + cert
        )
        await make_mailbox(center, values)
        await notify(sessions, center.app["id"])
        async with running(Worker(sessions, settings)):
            await eventually(lambda: asyncio.sleep(0, smtp.messages), message="the notice")
            await asyncio.sleep(0.3)
        [received] = smtp.messages
    mail = message_from_bytes(received.as_bytes(), policy=policy.default)
    assert "support@example.cn" in mail["From"] and "客服中心" in mail["From"]
    assert mail["To"] == "zhang.wei@example.cn"
    assert mail["Subject"] == "您的验证码 123456"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"].startswith("<tangram.notice.code-1@")
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "验证码：123456" in text and "<p>验证码：123456</p>" in html


async def test_without_a_mailbox_the_platform_server_sends_it(center, sessions, settings):
    with smtp_server() as smtp:
        await notify(sessions, center.app["id"], key="survey-7")
        overrides = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port}
        async with running(Worker(sessions, settings.model_copy(update=overrides))):
            await eventually(lambda: asyncio.sleep(0, smtp.messages), message="the notice")
        [received] = smtp.messages
    assert received["To"] == "zhang.wei@example.cn"
    assert received["From"] == settings.mail_from
    assert received["Message-ID"].startswith("<tangram.notice.survey-7@")
