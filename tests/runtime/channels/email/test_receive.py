"""Mail in from a real IMAP server (dovecot): tickets, threads, files, loops, bad input, caps."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select

from runtime.channels.models import Channel, ChannelMessage
from tests.runtime.channels.email.conftest import mailbox_settings, make_mailbox, poll

pytestmark = pytest.mark.asyncio

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def raw_mail(
    *,
    subject: str = "打印机故障",
    body: str = "打印机卡纸了，请尽快处理。",
    sender: str = "张伟 <zhang.wei@example.cn>",
    message_id: str = "<m1@example.cn>",
    headers: dict[str, str] | None = None,
) -> bytes:
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@example.cn"
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    return bytes(mail)


async def log(sessions, channel_id: int) -> list[ChannelMessage]:
    async with sessions() as db:
        rows = await db.execute(
            select(ChannelMessage)
            .where(ChannelMessage.channel_id == channel_id)
            .order_by(ChannelMessage.id)
        )
        return list(rows.scalars())


async def state(sessions, channel_id: int) -> dict:
    async with sessions() as db:
        return dict((await db.get(Channel, channel_id)).state)


async def test_new_mail_makes_a_ticket_and_replies_thread(center, sessions, imap):
    channel = await make_mailbox(center, mailbox_settings(imap))
    assert channel["secrets_set"] == ["imap_password"]
    imap.append(raw_mail())
    counts = await poll(sessions, channel["id"])
    assert counts["accepted"] == 1
    [first] = await log(sessions, channel["id"])
    ticket = await center.values(first.ticket_id)
    assert ticket["subject"] == "打印机故障" and ticket["channel"] == "email"
    customer = await center.values(first.customer_id, "customer")
    assert customer["name"] == "张伟" and customer["email"] == "zhang.wei@example.cn"
    message = await center.values(first.communication_id, "communication")
    assert message["body"] == "打印机卡纸了，请尽快处理。" and message["direction"] == "inbound"

    # A reply by its headers (a client that keeps the subject's prefix only).
    imap.append(
        raw_mail(
            subject="回复: 打印机故障",
            body="还是不行",
            message_id="<m2@example.cn>",
            headers={"In-Reply-To": "<m1@example.cn>", "References": "<m1@example.cn>"},
        )
    )
    # A new mail naming the ticket's number in its subject.
    number = ticket["number"]
    imap.append(raw_mail(subject=f"[{number}] 补充", body="补充信息", message_id="<m3@example.cn>"))
    # A new mail without either: its own ticket.
    imap.append(raw_mail(subject="另一个问题", body="发票", message_id="<m4@example.cn>"))
    assert (await poll(sessions, channel["id"]))["accepted"] == 3
    rows = await log(sessions, channel["id"])
    assert [r.ticket_id for r in rows[:3]] == [first.ticket_id] * 3
    assert rows[3].ticket_id != first.ticket_id
    assert {r.customer_id for r in rows} == {first.customer_id}
    assert (await state(sessions, channel["id"]))["last_uid"] == 4

    # Nothing new: nothing happens; the same mail put in again is a duplicate, logged once.
    assert await poll(sessions, channel["id"]) == {"idle": False, "more": False}
    imap.append(raw_mail())
    assert (await poll(sessions, channel["id"]))["duplicate"] == 1
    assert len(await log(sessions, channel["id"])) == 4


async def test_chinese_charsets_html_attachments_and_inline_images(center, sessions, imap):
    channel = await make_mailbox(center, mailbox_settings(imap))
    subject = "=?GBK?B?" + base64.b64encode("退货申请".encode("gbk")).decode() + "?="
    html_body = (
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
        '<p>您好，货物破损</p><p><img src="cid:photo1@example.cn"></p>'
        '<p><a href="https://evil.example/">链接</a> &amp; 谢谢</p></body></html>'
    )
    gbk_html = base64.encodebytes(html_body.encode("gb18030")).decode()
    photo = base64.encodebytes(PNG).decode()
    pdf = base64.encodebytes(b"%PDF-1.4 invoice").decode()
    name = "=?UTF-8?B?" + base64.b64encode("发票.pdf".encode()).decode() + "?="
    raw = (
        "From: =?GB2312?B?" + base64.b64encode("李雷".encode("gb2312")).decode() + "?= "
        "<li.lei@example.cn>\r\n"
        "To: support@example.cn\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <html1@example.cn>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        "--outer\r\n"
        'Content-Type: multipart/related; boundary="rel"\r\n\r\n'
        "--rel\r\n"
        'Content-Type: text/html; charset="gbk"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{gbk_html}\r\n"
        "--rel\r\n"
        "Content-Type: image/png\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-ID: <photo1@example.cn>\r\n"
        'Content-Disposition: inline; filename="photo.png"\r\n\r\n'
        f"{photo}\r\n"
        "--rel--\r\n"
        "--outer\r\n"
        f'Content-Type: application/pdf; name="{name}"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="{name}"\r\n\r\n'
        f"{pdf}\r\n"
        "--outer--\r\n"
    ).encode()
    imap.append(raw)
    assert (await poll(sessions, channel["id"]))["accepted"] == 1
    [row] = await log(sessions, channel["id"])
    ticket = await center.values(row.ticket_id)
    assert ticket["subject"] == "退货申请"
    customer = await center.values(row.customer_id, "customer")
    assert customer["name"] == "李雷"
    message = await center.values(row.communication_id, "communication")
    body = message["body"]
    assert "您好，货物破损" in body and "[photo.png]" in body and "链接 & 谢谢" in body
    assert "alert" not in body and "color" not in body and "<" not in body
    assert sorted(f["filename"] for f in message["attachments"]) == ["photo.png", "发票.pdf"]
    assert row.raw.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")  # kept whole


async def test_auto_replies_bounces_and_loops_are_ignored(center, sessions, imap):
    channel = await make_mailbox(center, mailbox_settings(imap, sender_cap_per_hour=2))
    loops = {
        "mail.auto_submitted": raw_mail(
            message_id="<a1@x.cn>", headers={"Auto-Submitted": "auto-replied"}
        ),
        "mail.precedence": raw_mail(message_id="<a2@x.cn>", headers={"Precedence": "bulk"}),
        "mail.auto_reply": raw_mail(
            message_id="<a3@x.cn>", headers={"X-Auto-Response-Suppress": "All"}
        ),
        "mail.list": raw_mail(message_id="<a4@x.cn>", headers={"List-Id": "<news.x.cn>"}),
        "mail.bounce": raw_mail(
            message_id="<a5@x.cn>", sender="Mail Delivery System <MAILER-DAEMON@x.cn>"
        ),
        "mail.own_address": raw_mail(message_id="<a6@x.cn>", sender="support@example.cn"),
    }
    for raw in loops.values():
        imap.append(raw)
    dsn = (
        b"From: <noreply@x.cn>\r\nTo: support@example.cn\r\nSubject: Undelivered\r\n"
        b"Message-ID: <dsn1@x.cn>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n\r\n--b--\r\n"
    )
    imap.append(dsn)
    # One sender over the hourly cap: the third is ignored.
    for n in range(3):
        imap.append(raw_mail(sender="wang@x.cn", message_id=f"<r{n}@x.cn>", subject=f"问题{n}"))
    counts = await poll(sessions, channel["id"])
    assert counts == {"idle": False, "more": False, "ignored": 8, "accepted": 2}
    rows = await log(sessions, channel["id"])
    codes = [(r.status, r.code) for r in rows]
    assert codes[:7] == [("ignored", code) for code in [*loops, "mail.bounce"]]
    assert codes[7:] == [("accepted", None), ("accepted", None), ("ignored", "mail.rate_limited")]
    assert all(r.ticket_id is None for r in rows if r.status == "ignored")
    assert rows[0].raw is not None  # kept for inspection


async def test_malformed_and_oversize_are_quarantined_and_the_poll_goes_on(center, sessions, imap):
    channel = await make_mailbox(
        center,
        mailbox_settings(imap, max_message_bytes=20_000, max_attachment_bytes=2_000),
    )
    broken = (
        b"From: zhao@x.cn\r\nSubject: broken\r\nMessage-ID: <b1@x.cn>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed\r\n\r\nno boundary at all\r\n"
    )
    no_from = b"Subject: who\r\nMessage-ID: <b2@x.cn>\r\n\r\nhello\r\n"
    huge = raw_mail(message_id="<b3@x.cn>", body="大" * 20_000)
    from email.message import EmailMessage

    attached = EmailMessage()
    attached["From"] = "zhao@x.cn"
    attached["Subject"] = "附件"
    attached["Message-ID"] = "<b4@x.cn>"
    attached.set_content("见附件")
    attached.add_attachment(b"x" * 5_000, maintype="application", subtype="zip", filename="a.zip")
    for raw in (broken, no_from, huge, bytes(attached), raw_mail(message_id="<ok@x.cn>")):
        imap.append(raw)
    counts = await poll(sessions, channel["id"])
    assert counts["quarantined"] == 4 and counts["accepted"] == 1
    rows = await log(sessions, channel["id"])
    assert [(r.status, r.code) for r in rows] == [
        ("quarantined", "mail.malformed"),
        ("quarantined", "mail.malformed"),
        ("quarantined", "mail.too_large"),
        ("quarantined", "mail.attachment_too_large"),
        ("accepted", None),
    ]
    assert rows[0].raw.startswith(b"From: zhao@x.cn") and b"no boundary" in rows[0].raw
    assert rows[2].external_id == "<b3@x.cn>" and b"Subject:" in rows[2].raw  # headers kept
    assert len(rows[2].raw) < 20_000 and "UID 3" in rows[2].detail
    assert (await state(sessions, channel["id"]))["last_uid"] == 5

    # The cause fixed (a bigger limit), the attachment's message is taken in on reprocessing.
    base = f"/api/v1/apps/{center.app['id']}/channels/mail"
    got = await center.client.get(base, headers=center.admin.headers)
    changed = await center.client.patch(
        base,
        json={
            "row_version": got.json()["row_version"],
            "settings": {"max_attachment_bytes": 10_000},
        },
        headers=center.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    again = await center.client.post(
        f"{base}/messages/{rows[3].id}/reprocess", headers=center.admin.headers
    )
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "accepted"
    message = await center.values(again.json()["communication_id"], "communication")
    assert [f["filename"] for f in message["attachments"]] == ["a.zip"]


async def test_one_poll_takes_at_most_its_cap(center, sessions, imap):
    channel = await make_mailbox(center, mailbox_settings(imap, max_messages=2))
    for n in range(5):
        imap.append(raw_mail(message_id=f"<c{n}@x.cn>", sender=f"c{n}@x.cn"))
    assert await poll(sessions, channel["id"]) == {"idle": False, "more": True, "accepted": 2}
    assert (await state(sessions, channel["id"]))["last_uid"] == 2
    assert (await poll(sessions, channel["id"]))["accepted"] == 2
    assert (await poll(sessions, channel["id"]))["accepted"] == 1
    assert len(await log(sessions, channel["id"])) == 5


async def test_a_new_folder_generation_is_read_again_without_repeats(center, sessions, imap):
    # Over STARTTLS on the plain port, this time.
    settings = mailbox_settings(imap, imap_port=imap.port, imap_security="starttls")
    channel = await make_mailbox(center, settings)
    imap.append(raw_mail())
    await poll(sessions, channel["id"])
    async with sessions() as db:
        row = await db.get(Channel, channel["id"])
        row.state = {**row.state, "uidvalidity": 1, "last_uid": 99}
        await db.commit()
    imap.append(raw_mail(message_id="<new@x.cn>", sender="new@x.cn"))
    counts = await poll(sessions, channel["id"])
    assert counts["duplicate"] == 1 and counts["accepted"] == 1
    assert (await state(sessions, channel["id"]))["last_uid"] == 2


async def test_an_unreachable_mailbox_is_noted_and_polled_again(center, sessions, settings, imap):
    from runtime.jobs.models import Job
    from runtime.jobs.worker import Worker
    from tests.support.jobs import eventually, running

    wrong = mailbox_settings(imap, imap_password="wrong-password")
    channel = await make_mailbox(center, wrong)
    async with running(Worker(sessions, settings)):

        async def noted():
            error = (await state(sessions, channel["id"])).get("last_error")
            return error if error else None

        error = await eventually(noted, message="the error noted")
    assert "AUTHENTICATIONFAILED" in error or "auth" in error.lower()
    async with sessions() as db:
        jobs = (
            (await db.execute(select(Job).where(Job.name == "email.poll").order_by(Job.id)))
            .scalars()
            .all()
        )
    assert jobs[0].status == "done" and jobs[-1].status == "queued"  # the next poll is due later
