"""Agents' replies out over SMTP (aiosmtpd with TLS), threaded, signed; polling as a job."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from runtime.auth.models import User
from runtime.channels.models import OUT, Channel, ChannelMessage
from runtime.jobs.models import Job
from runtime.jobs.worker import Worker
from tests.runtime.channels.email.conftest import mailbox_settings, make_mailbox, poll, tls_smtp
from tests.runtime.channels.email.test_receive import log, raw_mail
from tests.support.jobs import eventually, running

pytestmark = pytest.mark.asyncio


async def sent(sessions, channel_id: int) -> list[ChannelMessage]:
    async with sessions() as db:
        rows = await db.execute(
            select(ChannelMessage).where(
                ChannelMessage.channel_id == channel_id, ChannelMessage.direction == OUT
            )
        )
        return list(rows.scalars())


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
async def test_an_agents_reply_goes_out_threaded_and_signed(center, sessions, settings, imap, mode):
    with tls_smtp(mode) as (smtp, cert):
        port = smtp.port
        values = mailbox_settings(
            imap, smtp_port=port, smtp_security=mode, tls_ca_pem=imap.cert.read_text() + cert
        )
        channel = await make_mailbox(center, values)
        imap.append(
            raw_mail(
                headers={"References": "<older@example.cn>", "In-Reply-To": "<older@example.cn>"}
            )
        )
        await poll(sessions, channel["id"])
        [first] = await log(sessions, channel["id"])
        number = (await center.values(first.ticket_id))["number"]
        uploaded = await center.client.post(
            "/api/v1/files",
            files={"file": ("说明.txt", "重启打印机".encode(), "text/plain")},
            headers=center.people["sam"].headers,
        )
        assert uploaded.status_code == 201, uploaded.text
        file_id = uploaded.json()["id"]
        async with sessions() as db:
            sam = await db.get(User, center.people["sam"].id)
            sam.display_name = "李明"
            await db.commit()

        await center.create(
            "sam",
            "communication",
            ticket=first.ticket_id,
            customer=first.customer_id,
            direction="outbound",
            channel="email",
            body="您好，请重启打印机。\n\n如仍有问题请回复。",
            attachments=[file_id],
        )
        async with running(Worker(sessions, settings)):
            await eventually(lambda: asyncio.sleep(0, smtp.messages), message="the reply")
            [out] = await eventually(lambda: sent(sessions, channel["id"]), message="logged")
        from email import message_from_bytes, policy

        [received] = smtp.messages
        mail = message_from_bytes(received.as_bytes(), policy=policy.default)
        assert mail["To"] == "zhang.wei@example.cn"
        assert "support@example.cn" in mail["From"]
        assert mail["Subject"] == f"Re: [{number}] 打印机故障"
        assert mail["In-Reply-To"] == "<m1@example.cn>"
        assert mail["References"].split() == ["<older@example.cn>", "<m1@example.cn>"]
        assert mail["Message-ID"] == out.external_id and out.status == "sent"
        assert out.ticket_id == first.ticket_id
        parsed = mail
        text = parsed.get_body(("plain",)).get_content()
        assert (
            text.startswith("您好，请重启打印机。") and "-- \n李明\n客服中心 · 400-800-1234" in text
        )
        html = parsed.get_body(("html",)).get_content()
        assert "<p>您好，请重启打印机。</p>" in html and "李明" in html
        [attachment] = list(parsed.iter_attachments())
        assert attachment.get_filename() == "说明.txt"
        assert attachment.get_payload(decode=True) == "重启打印机".encode()

        # The customer answers the reply: it threads by our Message-ID.
        imap.append(
            raw_mail(
                subject=f"Re: [{number}] 打印机故障",
                body="好了，谢谢",
                message_id="<m9@example.cn>",
                headers={"In-Reply-To": out.external_id},
            )
        )
        await poll(sessions, channel["id"])
        rows = await log(sessions, channel["id"])
        assert rows[-1].ticket_id == first.ticket_id and rows[-1].status == "accepted"


async def test_an_agents_own_signature_and_a_reply_that_cannot_go(center, sessions, settings, imap):
    with tls_smtp("ssl") as (smtp, cert):
        values = mailbox_settings(
            imap, smtp_port=smtp.port, tls_ca_pem=imap.cert.read_text() + cert
        )
        channel = await make_mailbox(center, values)
        imap.append(raw_mail())
        await poll(sessions, channel["id"])
        [first] = await log(sessions, channel["id"])
        async with sessions() as db:
            sam = await db.get(User, center.people["sam"].id)
            sam.attributes = {**(sam.attributes or {}), "email_signature": "Sam\n二线支持"}
            await db.commit()
        await center.create(
            "sam",
            "communication",
            ticket=first.ticket_id,
            direction="outbound",
            body="已处理",
        )
        async with running(Worker(sessions, settings)):
            await eventually(lambda: asyncio.sleep(0, smtp.messages), message="the reply")
        text = smtp.messages[0].get_payload()[0].get_payload(decode=True).decode()
        text = text.replace("\r\n", "\n")
        assert "-- \nSam\n二线支持" in text and "客服中心 · 400" not in text

        # A customer without an address: refused for good, logged failed, not retried.
        await center.patch("sam", first.customer_id, "customer", email=None)
        await center.create(
            "sam", "communication", ticket=first.ticket_id, direction="outbound", body="再次"
        )
        async with running(Worker(sessions, settings)):
            rows = await eventually(
                lambda: _failed(sessions, channel["id"]), message="the failed delivery"
            )
        assert rows[0].code == "mail.refused" and "no e-mail address" in rows[0].detail
        assert len(smtp.messages) == 1


async def _failed(sessions, channel_id: int) -> list[ChannelMessage]:
    return [m for m in await sent(sessions, channel_id) if m.status == "failed"]


async def test_polling_runs_as_a_job_and_idle_wakes_it(center, sessions, settings, imap):
    channel = await make_mailbox(center, mailbox_settings(imap, idle=True, idle_seconds=20))
    async with sessions() as db:
        jobs = (await db.execute(select(Job).where(Job.name == "email.poll"))).scalars().all()
    assert [j.payload["channel"] for j in jobs] == [channel["id"]]
    async with running(Worker(sessions, settings), stop_timeout=30):  # a poll may be in IDLE

        async def idling():
            async with sessions() as db:
                found = await db.execute(
                    select(Job).where(Job.name == "email.poll", Job.status == "running")
                )
                return found.scalars().first()

        await eventually(idling, message="a poll in IDLE")
        await asyncio.sleep(0.5)
        started = asyncio.get_running_loop().time()
        imap.append(raw_mail())
        rows = await eventually(lambda: log(sessions, channel["id"]), message="the mail in IDLE")
        assert asyncio.get_running_loop().time() - started < 10  # woken, not the 20 s wait
        assert rows[0].status == "accepted"
    async with sessions() as db:
        state = (await db.get(Channel, channel["id"])).state
        done = (
            (await db.execute(select(Job).where(Job.name == "email.poll", Job.status == "done")))
            .scalars()
            .first()
        )
    assert state["last_uid"] == 1 and state.get("last_error") is None
    assert done.result["idle"] is True and done.result["accepted"] == 1
