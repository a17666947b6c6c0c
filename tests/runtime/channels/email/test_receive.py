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
