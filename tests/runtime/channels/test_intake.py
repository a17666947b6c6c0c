"""Messages in through the intake: one customer per person, one ticket per conversation."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from runtime.channels import intake
from runtime.channels.intake import Attachment, Identity, Inbound
from runtime.channels.models import ACCEPTED, QUARANTINED, Channel, ChannelMessage
from runtime.channels.registry import ChannelKind, channel_kinds
from runtime.db import utcnow
from runtime.records.writer import commit_and_dispatch

pytestmark = pytest.mark.asyncio


async def make_channel(sessions, center, kind: str = "email", key: str = "support") -> int:
    async with sessions() as db:
        now = utcnow()
        channel = Channel(
            app_id=center.app["id"],
            kind=kind,
            key=key,
            name=key,
            enabled=True,
            intake=None,
            settings={},
            state={},
            row_version=1,
            created_at=now,
            updated_at=now,
        )
        db.add(channel)
        await db.commit()
        return channel.id


async def take(sessions, channel_id: int, message: Inbound) -> intake.IntakeResult:
    async with sessions() as db:
        channel = await db.get(Channel, channel_id)
        result = await intake.ingest(db, channel, message)
        await commit_and_dispatch(db)
        return result


def mail(body: str = "打印机卡纸了", **extra) -> Inbound:
    values = {
        "channel": "email",
        "identity": Identity(email="Zhang.Wei@Example.cn", name="张伟"),
        "subject": "打印机故障",
        "body": body,
        "external_id": "<m1@example.cn>",
        "thread_key": "<m1@example.cn>",
        "join_open": False,
        "sender": "zhang.wei@example.cn",
    }
    values.update(extra)
    values.setdefault("thread_key", values["external_id"])
    if "external_id" in extra and "thread_key" not in extra:
        values["thread_key"] = extra["external_id"]
    return Inbound(**values)


async def test_a_new_message_makes_a_customer_a_ticket_and_a_communication(center, sessions):
    channel_id = await make_channel(sessions, center)
    result = await take(
        sessions,
        channel_id,
        mail(attachments=(Attachment("photo.png", "image/png", b"\x89PNG fake bytes"),)),
    )
    assert result.created_customer and result.created_ticket and not result.duplicate
    customer = await center.values(result.customer_id, "customer")
    assert customer["name"] == "张伟" and customer["email"] == "zhang.wei@example.cn"
    ticket = await center.values(result.ticket_id)
    assert ticket["subject"] == "打印机故障" and ticket["channel"] == "email"
    assert ticket["customer"] == result.customer_id
    message = await center.values(result.communication_id, "communication")
    assert message["direction"] == "inbound" and message["body"] == "打印机卡纸了"
    assert message["ticket"] == result.ticket_id and message["customer"] == result.customer_id
    assert [f["filename"] for f in message["attachments"]] == ["photo.png"]

    again = await take(sessions, channel_id, mail())
    assert again.duplicate and again.ticket_id == result.ticket_id
    async with sessions() as db:
        logged = (await db.execute(select(ChannelMessage))).scalars().all()
    assert [(m.status, m.ticket_id) for m in logged] == [(ACCEPTED, result.ticket_id)]


async def test_replies_thread_and_strangers_do_not_join(center, sessions):
    channel_id = await make_channel(sessions, center)
    first = await take(sessions, channel_id, mail())
    reply = await take(
        sessions,
        channel_id,
        mail(
            "还是不行",
            external_id="<m2@example.cn>",
            thread_key="<m2@example.cn>",
            thread_keys=("<m1@example.cn>",),
            identity=Identity(email="zhang.wei@example.cn"),
        ),
    )
    assert reply.ticket_id == first.ticket_id and reply.customer_id == first.customer_id
    assert not reply.created_customer and not reply.created_ticket
    number = (await center.values(first.ticket_id))["number"]

    by_number = await take(
        sessions,
        channel_id,
        mail(
            "补充信息", external_id="<m3@example.cn>", subject=f"Re: {number}", ticket_number=number
        ),
    )
    assert by_number.ticket_id == first.ticket_id
    stranger = await take(
        sessions,
        channel_id,
        mail(
            "我也是",
            external_id="<m4@example.cn>",
            identity=Identity(email="li.lei@example.cn"),
            ticket_number=number,
        ),
    )
    assert stranger.created_customer and stranger.ticket_id != first.ticket_id

    await center.patch("sam", first.ticket_id, status="closed")
    after_close = await take(
        sessions,
        channel_id,
        mail("又坏了", external_id="<m5@example.cn>", thread_keys=("<m1@example.cn>",)),
    )
    assert after_close.created_ticket and after_close.customer_id == first.customer_id


async def test_chat_and_wechat_join_the_open_ticket_of_one_customer(center, sessions):
    channel_id = await make_channel(sessions, center, kind="wechat", key="wx")
    first = await take(
        sessions,
        channel_id,
        Inbound(
            channel="wechat",
            identity=Identity(openid="o6_bmjrPTlm6_2sgVt7hMZOPfL2M"),
            body="你好，订单没收到",
            external_id="msg-1",
        ),
    )
    assert (await center.values(first.ticket_id))["channel"] == "wechat"
    second = await take(
        sessions,
        channel_id,
        Inbound(
            channel="wechat",
            identity=Identity(openid="o6_bmjrPTlm6_2sgVt7hMZOPfL2M", phone="138 0013 8000"),
            body="电话 13800138000",
            external_id="msg-2",
        ),
    )
    assert second.ticket_id == first.ticket_id and not second.created_customer
    customer = await center.values(first.customer_id, "customer")
    assert customer["phone"] == "+8613800138000"  # completed from what the message told
    by_phone = intake.find_customer
    async with sessions() as db:
        to = await intake.target(db, await db.get(Channel, channel_id))
        assert await by_phone(db, to, Identity(phone="+86 138-0013-8000")) == first.customer_id


async def test_quarantine_keeps_the_raw_message_once(center, sessions):
    channel_id = await make_channel(sessions, center)
    async with sessions() as db:
        channel = await db.get(Channel, channel_id)
        first = await intake.quarantine(
            db,
            channel,
            code="mail.malformed",
            detail="no headers",
            raw=b"\x00garbage",
            external_id="x1",
        )
        repeat = await intake.quarantine(
            db,
            channel,
            code="mail.malformed",
            detail="no headers",
            raw=b"\x00garbage",
            external_id="x1",
        )
        big = await intake.quarantine(
            db, channel, code="mail.too_large", detail="huge", raw=b"a" * 300_000
        )
        await db.commit()
    assert first == repeat and big != first
    async with sessions() as db:
        rows = {m.id: m for m in (await db.execute(select(ChannelMessage))).scalars()}
    assert rows[first].status == QUARANTINED and rows[first].raw == b"\x00garbage"
    assert rows[big].raw is None and rows[big].raw_file_id is not None


class _EchoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str
    password: str | None = None


class EchoKind(ChannelKind):
    """A channel kind for the contract: it records what it was asked to deliver."""

    type: ClassVar[str] = "test_echo"
    label = ("Echo", "回显")
    settings_model = _EchoSettings
    secret_fields = ("password",)
    delivers = True
    sent: ClassVar[list] = []

    async def deliver(self, db, channel, message) -> None:
        self.sent.append(message)


@pytest.fixture
def echo_kind():
    kind = channel_kinds.register(EchoKind())
    EchoKind.sent.clear()
    yield kind
    channel_kinds.unregister("test_echo")


async def test_channels_api_keeps_secrets_and_replies_go_back(center, sessions, echo_kind):
    client, admin = center.client, center.admin
    base = f"/api/v1/apps/{center.app['id']}/channels"
    made = await client.post(
        base,
        json={
            "kind": "test_echo",
            "key": "echo",
            "name": "Echo",
            "settings": {"address": "a", "password": "s3cret"},
        },
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["settings"] == {"address": "a"} and body["secrets_set"] == ["password"]
    assert "s3cret" not in made.text
    bad = await client.post(
        base,
        json={"kind": "test_echo", "key": "bad", "name": "Bad", "settings": {"nope": 1}},
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"settings.address", "settings.nope"}
    stale = await client.patch(
        f"{base}/echo", json={"row_version": 9, "name": "X"}, headers=admin.headers
    )
    assert stale.status_code == 409
    changed = await client.patch(
        f"{base}/echo", json={"row_version": 1, "settings": {"address": "b"}}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["secrets_set"] == ["password"]  # kept when not given
    forbidden = await client.get(base, headers=center.people["sam"].headers)
    assert forbidden.status_code == 403

    async with sessions() as db:
        channel = (await db.execute(select(Channel).where(Channel.key == "echo"))).scalar_one()
        assert "s3cret" not in (channel.secrets or "")
        result = await intake.ingest(
            db,
            channel,
            Inbound(
                channel="chat",
                identity=Identity(email="wang@example.cn"),
                body="在吗",
                external_id="c1",
                thread_key="c1",
            ),
        )
        await commit_and_dispatch(db)
    await center.create(
        "sam",
        "communication",
        ticket=result.ticket_id,
        customer=result.customer_id,
        direction="outbound",
        channel="chat",
        body="您好，请讲",
    )
    [sent] = EchoKind.sent
    assert sent.ticket_id == result.ticket_id and sent.body == "您好，请讲"
    assert sent.thread == ("c1",) and sent.author_id == center.people["sam"].id
    await center.create(
        "sam", "communication", ticket=result.ticket_id, direction="internal", body="内部备注"
    )
    assert len(EchoKind.sent) == 1  # internal notes stay inside

    log = await client.get(f"{base}/echo/messages", headers=admin.headers)
    assert log.status_code == 200 and [m["status"] for m in log.json()["items"]] == ["accepted"]
    gone = await client.delete(f"{base}/echo", headers=admin.headers)
    assert gone.status_code == 204


async def test_two_first_messages_at_once_make_one_customer(center, sessions):
    import asyncio

    channel_id = await make_channel(sessions, center, kind="wechat", key="wx")

    def message(n: int) -> Inbound:
        return Inbound(
            channel="wechat",
            identity=Identity(openid="oNEW_customer_0001"),
            body=f"第{n}条",
            external_id=f"burst-{n}",
        )

    results = await asyncio.gather(*(take(sessions, channel_id, message(n)) for n in range(3)))
    assert len({r.customer_id for r in results}) == 1
    assert len({r.ticket_id for r in results}) == 1
    assert sum(r.created_customer for r in results) == 1
