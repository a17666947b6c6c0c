"""The WeChat Official Account channel against a fake WeChat API on localhost, driven with
callbacks signed (and in safe mode encrypted) by an independent implementation (``wx``)."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any

import defusedxml.ElementTree as SafeXml
import httpx
import pytest
from sqlalchemy import select

from runtime.channels.models import Channel, ChannelMessage
from runtime.channels.wechat import api as wechat_api_module
from runtime.channels.wechat.kind import pieces
from runtime.jobs.models import DONE, Job
from runtime.jobs.worker import Worker
from tests.runtime.channels.wechat import wx
from tests.support.jobs import eventually, running
from tests.support.wechat_server import WeChatApi, wechat_api

pytestmark = pytest.mark.asyncio
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
URL = "/api/v1/public/wechat/customer_center/wx"


@dataclass
class Setup:
    center: Any
    api: WeChatApi
    client: httpx.AsyncClient
    channels: str

    async def post(self, signed: wx.Signed) -> httpx.Response:
        return await self.client.post(
            f"{URL}?{signed.query}", content=signed.body, headers={"Content-Type": "text/xml"}
        )

    async def mode(self, mode: str, **settings: Any) -> None:
        current = await self.client.get(f"{self.channels}/wx", headers=self.center.admin.headers)
        changed = await self.client.patch(
            f"{self.channels}/wx",
            json={
                "row_version": current.json()["row_version"],
                "settings": {"mode": mode, **settings},
            },
            headers=self.center.admin.headers,
        )
        assert changed.status_code == 200, changed.text


@pytest.fixture
async def wechat(center):
    wechat_api_module.forget_tokens()
    with wechat_api(wx.APP_ID, wx.APP_SECRET) as api:
        channels = f"/api/v1/apps/{center.app['id']}/channels"
        made = await center.client.post(
            channels,
            json={
                "kind": "wechat_mp",
                "key": "wx",
                "name": "公众号",
                "settings": {
                    "app_id": wx.APP_ID,
                    "app_secret": wx.APP_SECRET,
                    "token": wx.TOKEN,
                    "encoding_aes_key": wx.AES_KEY,
                    "mode": "plain",
                    "api_base": api.base,
                },
            },
            headers=center.admin.headers,
        )
        assert made.status_code == 201, made.text
        assert sorted(made.json()["secrets_set"]) == ["app_secret", "encoding_aes_key", "token"]
        yield Setup(center, api, center.client, channels)
    wechat_api_module.forget_tokens()


async def logged(sessions) -> list[ChannelMessage]:
    async with sessions() as db:
        return list(
            (await db.execute(select(ChannelMessage).order_by(ChannelMessage.id))).scalars()
        )


async def messages_of(center, entries: list[ChannelMessage]) -> list[dict]:
    """The message records the accepted entries became."""
    return [
        await center.values(e.communication_id, "communication")
        for e in entries
        if e.status == "accepted"
    ]


async def test_settings_are_checked(center, wechat):
    bad = await center.client.post(
        wechat.channels,
        json={
            "kind": "wechat_mp",
            "key": "bad",
            "name": "Bad",
            "settings": {"app_id": "wx1", "app_secret": "x", "token": "t", "mode": "safe"},
        },
        headers={**center.admin.headers, "Accept-Language": "zh-CN"},
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert "settings.token" in fields


async def test_url_verification_plain_and_safe(center, wechat, sessions):
    stamp, nonce = str(int(time.time())), "n0nce"
    good = await wechat.client.get(
        URL,
        params={
            "signature": wx.sha1_signature(wx.TOKEN, stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            "echostr": "4736129830295",
        },
    )
    assert good.status_code == 200 and good.text == "4736129830295"
    forged = await wechat.client.get(
        URL,
        params={"signature": "0" * 40, "timestamp": stamp, "nonce": nonce, "echostr": "1"},
        headers={"Accept-Language": "zh-CN"},
    )
    assert forged.status_code == 403
    assert forged.headers["content-type"].startswith("application/problem+json")
    assert forged.json()["code"] == "wechat_bad_signature" and "签名" in forged.json()["title"]
    echo = wx.wx_encrypt(b"9021771123")
    safe = await wechat.client.get(
        URL,
        params={
            "msg_signature": wx.sha1_signature(wx.TOKEN, stamp, nonce, echo),
            "timestamp": stamp,
            "nonce": nonce,
            "echostr": echo,
        },
    )
    assert safe.status_code == 200 and safe.text == "9021771123"
    missing = await wechat.client.get("/api/v1/public/wechat/customer_center/nope")
    assert missing.status_code == 404
    [entry] = await logged(sessions)
    assert entry.status == "quarantined" and entry.code == "wechat.bad_signature"


async def test_plain_text_joins_the_open_ticket_and_replays_are_dropped(center, wechat, sessions):
    first = await wechat.post(wx.plain_post(wx.text("你好，订单还没到", 1001)))
    assert first.status_code == 200 and first.text == "success"
    second = await wechat.post(wx.plain_post(wx.text("订单号 20261204", 1002)))
    assert second.text == "success"
    replay = await wechat.post(wx.plain_post(wx.text("订单号 20261204", 1002)))
    assert replay.status_code == 200 and replay.text == "success"
    stale = await wechat.post(
        wx.plain_post(wx.text("旧消息", 1003), timestamp=int(time.time()) - 600)
    )
    assert stale.status_code == 200 and stale.text == "success"

    entries = await logged(sessions)
    accepted = [e for e in entries if e.status == "accepted"]
    assert [e.external_id for e in accepted] == ["msg:1001", "msg:1002"]
    assert accepted[0].ticket_id == accepted[1].ticket_id
    assert [e.code for e in entries if e.status == "ignored"] == ["wechat.stale"]
    again = await wechat.post(wx.plain_post(wx.text("旧消息", 1003)))  # a fresh delivery
    assert again.text == "success"
    entries = await logged(sessions)
    assert [(e.external_id, e.status) for e in entries] == [
        ("msg:1001", "accepted"),
        ("msg:1002", "accepted"),
        ("msg:1003", "accepted"),
    ]
    accepted = entries[:2]
    ticket = await center.values(accepted[0].ticket_id)
    assert ticket["channel"] == "wechat" and ticket["subject"] == "你好，订单还没到"
    customer = await center.values(accepted[0].customer_id, "customer")
    assert customer["wechat_openid"] == wx.OPENID
    bodies = [m["body"] for m in await messages_of(center, accepted)]
    assert sorted(bodies) == ["你好，订单还没到", "订单号 20261204"]

    other = await wechat.post(
        wx.plain_post(wx.text("我是另一个人", 2001, openid="oOTHER_openid_0001"))
    )
    assert other.text == "success"
    entries = await logged(sessions)
    assert entries[-1].customer_id != accepted[0].customer_id
    assert entries[-1].ticket_id != accepted[0].ticket_id


async def test_safe_mode_text_image_voice_and_notes(center, wechat, sessions):
    await wechat.mode("safe")
    wechat.api.media["IMG_1"] = ("photo.png", "image/png", PNG)
    wechat.api.media["VOICE_1"] = ("voice.amr", "audio/amr", b"#!AMR\n\x00\x01\x02")
    text = await wechat.post(wx.safe_post(wx.text("打印机坏了", 3001)))
    assert text.status_code == 200 and text.text == "success"
    image = await wechat.post(
        wx.safe_post(
            wx.message("image", PicUrl="http://mmbiz.qpic.cn/x", MediaId="IMG_1", MsgId=3002)
        )
    )
    voice = await wechat.post(
        wx.safe_post(
            wx.message(
                "voice", MediaId="VOICE_1", Format="amr", Recognition="请尽快处理", MsgId=3003
            )
        )
    )
    lost = await wechat.post(wx.safe_post(wx.message("image", MediaId="GONE", MsgId=3004)))
    location = await wechat.post(
        wx.safe_post(
            wx.message(
                "location",
                Location_X="31.2304",
                Location_Y="121.4737",
                Scale=15,
                Label="上海市黄浦区",
                MsgId=3005,
            )
        )
    )
    link = await wechat.post(
        wx.safe_post(
            wx.message(
                "link",
                Title="故障照片",
                Description="见链接",
                Url="https://example.cn/p",
                MsgId=3006,
            )
        )
    )
    assert {r.text for r in (image, voice, lost, location, link)} == {"success"}
    entries = await logged(sessions)
    assert [e.status for e in entries] == ["accepted"] * 6
    assert len({e.ticket_id for e in entries}) == 1
    messages = await messages_of(center, entries)
    by_body = {m["body"]: m for m in messages}
    [image_message] = [m for m in messages if m["attachments"] and m["body"] == "[图片]"]
    assert [f["filename"] for f in image_message["attachments"]] == ["photo.png"]
    voice_message = by_body["[语音] 请尽快处理"]
    assert [f["content_type"] for f in voice_message["attachments"]] == ["audio/amr"]
    [lost_message] = [m for m in messages if "图片未能下载" in m["body"]]
    assert "40007" in lost_message["body"] and not lost_message["attachments"]
    assert "[位置] 上海市黄浦区 (31.2304, 121.4737)" in by_body
    assert "[链接] 故障照片\n见链接\nhttps://example.cn/p" in by_body
    # one token for three downloads
    assert len(wechat.api.paths("/cgi-bin/token")) == 1
    assert len(wechat.api.paths("/cgi-bin/media/get")) == 3


async def test_events_subscribe_creates_the_customer_and_welcomes(center, wechat, sessions):
    await wechat.mode("compatible", welcome="欢迎关注！有问题请直接留言。")
    created = int(time.time())
    plain = await wechat.post(
        wx.plain_post(wx.message("event", Event="subscribe", EventKey="", created=created))
    )
    assert plain.status_code == 200
    reply = SafeXml.fromstring(plain.content)
    assert reply.findtext("Content") == "欢迎关注！有问题请直接留言。"
    assert reply.findtext("ToUserName") == wx.OPENID
    assert reply.findtext("FromUserName") == wx.ACCOUNT

    await wechat.mode("safe")
    safe = await wechat.post(
        wx.safe_post(wx.message("event", Event="subscribe", openid="oSAFE_follower_01"))
    )
    outer = SafeXml.fromstring(safe.content)
    encrypt = outer.findtext("Encrypt")
    stamp, nonce = outer.findtext("TimeStamp"), outer.findtext("Nonce")
    assert outer.findtext("MsgSignature") == wx.sha1_signature(wx.TOKEN, stamp, nonce, encrypt)
    inner, app_id = wx.wx_decrypt(encrypt)
    assert app_id == wx.APP_ID
    assert SafeXml.fromstring(inner).findtext("ToUserName") == "oSAFE_follower_01"

    for event, key in (("CLICK", "V1001_HELP"), ("SCAN", "123"), ("unsubscribe", "")):
        answer = await wechat.post(
            wx.safe_post(wx.message("event", Event=event, EventKey=key, created=created + 1))
        )
        assert answer.text == "success"
        created += 1
    entries = await logged(sessions)
    assert [(e.status, e.code) for e in entries] == [
        ("ignored", "wechat.event.subscribe"),
        ("ignored", "wechat.event.subscribe"),
        ("ignored", "wechat.event.click"),
        ("ignored", "wechat.event.scan"),
        ("ignored", "wechat.event.unsubscribe"),
    ]
    customers = await center.listed("sam", "customer", q=wx.OPENID)
    follower = [c for c in customers if c["values"]["wechat_openid"] == wx.OPENID]
    assert len(follower) == 1 and entries[0].customer_id == follower[0]["id"]
    # the follower's first message goes to that customer
    await wechat.post(wx.safe_post(wx.text("在吗", 4001)))
    assert (await logged(sessions))[-1].customer_id == follower[0]["id"]


async def test_forged_malformed_and_bad_aes_are_refused_and_kept(center, wechat, sessions):
    forged = await wechat.post(wx.plain_post(wx.text("伪造", 5001), token="wrongToken"))
    assert forged.status_code == 403 and forged.json()["code"] == "wechat_bad_signature"
    broken = await wechat.post(wx.plain_post(b"<xml><MsgType>text</MsgType><Content>oops"))
    assert broken.status_code == 400 and broken.json()["code"] == "wechat_malformed"
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Content>&b;</Content></xml>'
    )
    entity = await wechat.post(wx.plain_post(bomb))
    assert entity.status_code == 400 and entity.json()["code"] == "wechat_malformed"
    await wechat.mode("safe")
    garbage = base64.b64encode(b"x" * 48).decode()
    bad_aes = await wechat.post(wx.safe_post(b"", encrypt=garbage))
    assert bad_aes.status_code == 400 and bad_aes.json()["code"] == "wechat_bad_encryption"
    other_app = await wechat.post(
        wx.safe_post(b"", encrypt=wx.wx_encrypt(wx.text("别的公众号", 5002), app_id="wxOTHER"))
    )
    assert other_app.status_code == 400
    not_b64 = await wechat.post(wx.safe_post(b"", encrypt="%%%not base64%%%"))
    assert not_b64.status_code == 400
    entries = await logged(sessions)
    assert [(e.status, e.code) for e in entries] == [
        ("quarantined", "wechat.bad_signature"),
        ("quarantined", "wechat.malformed"),
        ("quarantined", "wechat.malformed"),
        ("quarantined", "wechat.bad_encryption"),
        ("quarantined", "wechat.bad_encryption"),
        ("quarantined", "wechat.bad_encryption"),
    ]
    assert entries[1].raw == b"<xml><MsgType>text</MsgType><Content>oops"
    assert all(e.ticket_id is None for e in entries)
    again = await center.client.post(
        f"{wechat.channels}/wx/messages/{entries[0].id}/reprocess", headers=center.admin.headers
    )
    assert again.status_code == 409 and again.json()["code"] == "not_reprocessable"


async def upload(center, name: str, data: bytes, content_type: str) -> int:
    made = await center.client.post(
        "/api/v1/files",
        files={"file": (name, data, content_type)},
        headers=center.admin.headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def reply(center, entry: ChannelMessage, body: str, **extra) -> int:
    values = {
        "ticket": entry.ticket_id,
        "customer": entry.customer_id,
        "direction": "outbound",
        "channel": "wechat",
        "body": body,
        **extra,
    }
    made = await center.client.post(
        center.url("communication"), json={"values": values}, headers=center.admin.headers
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


async def jobs_done(sessions, count: int) -> bool:
    async with sessions() as db:
        rows = (await db.execute(select(Job).where(Job.name == "wechat.send"))).scalars().all()
    return len(rows) >= count and all(j.status == DONE for j in rows)


async def test_agent_replies_are_sent_with_one_cached_token(center, wechat, sessions, settings):
    await wechat.post(wx.plain_post(wx.text("请问怎么退货", 6001)))
    [entry] = await logged(sessions)
    async with running(Worker(sessions, settings)):
        await reply(center, entry, "您好，请提供订单号")
        await reply(center, entry, "我们会尽快处理")
        await eventually(lambda: jobs_done(sessions, 2), message="two replies sent")
        assert len(wechat.api.paths("/cgi-bin/token")) == 1
        assert sorted(m["text"]["content"] for m in wechat.api.sent) == sorted(
            ["我们会尽快处理", "您好，请提供订单号"]
        )
        assert {m["touser"] for m in wechat.api.sent} == {wx.OPENID}
        async with sessions() as db:
            channel = (await db.execute(select(Channel).where(Channel.key == "wx"))).scalar_one()
            assert channel.state["access_token"].startswith("ACCESS_TOKEN_1_")

        # the token expires at WeChat: the next reply fetches a new one and is sent
        wechat.api.expire()
        file_id = await upload(center, "说明.png", PNG, "image/png")
        await reply(center, entry, "请看图片", attachments=[file_id])
        await eventually(lambda: jobs_done(sessions, 3), message="the third reply")
    assert len(wechat.api.paths("/cgi-bin/token")) == 2
    [uploaded] = wechat.api.uploads.values()
    assert uploaded[2] == PNG and uploaded[1] == "image/png"
    last = wechat.api.sent[-2:]
    assert last[0]["msgtype"] == "image" and last[1]["text"]["content"] == "请看图片"
    sent = [e for e in await logged(sessions) if e.direction == "out"]
    assert [e.status for e in sent] == ["sent"] * 4


async def test_refusals_are_logged_failed_and_busy_is_retried(center, wechat, sessions, settings):
    await wechat.post(wx.plain_post(wx.text("在吗", 7001)))
    [entry] = await logged(sessions)
    wechat.api.send_errors = [-1, 45015]  # system busy (retried), then out of the 48 h window
    settings.job_backoff_seconds = 0.05
    async with running(Worker(sessions, settings)):
        await reply(center, entry, "您好")
        await eventually(lambda: jobs_done(sessions, 1), message="the reply job")
    out = [(e.status, e.code) for e in await logged(sessions) if e.direction == "out"]
    assert out == [("failed", "wechat.unreachable"), ("failed", "wechat.errcode.45015")] or out == [
        ("failed", "wechat.errcode.-1"),
        ("failed", "wechat.errcode.45015"),
    ]
    assert len(wechat.api.paths("/cgi-bin/message/custom/send")) == 2


async def test_a_message_the_app_cannot_take_is_kept_and_reprocessed(center, wechat, sessions):
    await wechat.mode("plain")
    current = await wechat.client.get(f"{wechat.channels}/wx", headers=center.admin.headers)
    broken = await wechat.client.patch(
        f"{wechat.channels}/wx",
        json={"row_version": current.json()["row_version"], "intake": "nope"},
        headers=center.admin.headers,
    )
    assert broken.status_code == 200, broken.text
    answer = await wechat.post(wx.plain_post(wx.text("有人吗", 8001)))
    assert answer.status_code == 200 and answer.text == "success"
    [entry] = await logged(sessions)
    assert (entry.status, entry.code, entry.external_id) == (
        "quarantined",
        "wechat.intake_failed",
        "msg:8001",
    )
    fixed = await wechat.client.patch(
        f"{wechat.channels}/wx",
        json={"row_version": broken.json()["row_version"], "intake": None},
        headers=center.admin.headers,
    )
    assert fixed.status_code == 200, fixed.text
    again = await center.client.post(
        f"{wechat.channels}/wx/messages/{entry.id}/reprocess", headers=center.admin.headers
    )
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "accepted" and again.json()["ticket_id"]
    body = (await center.values(again.json()["communication_id"], "communication"))["body"]
    assert body == "有人吗"
    replay = await wechat.post(wx.plain_post(wx.text("有人吗", 8001)))
    assert replay.text == "success" and len(await logged(sessions)) == 1


async def test_compatible_mode_takes_both_forms(center, wechat, sessions):
    await wechat.mode("compatible")
    encrypted = await wechat.post(wx.safe_post(wx.text("加密的", 9001)))
    plain = await wechat.post(wx.plain_post(wx.text("明文的", 9002)))
    assert encrypted.text == plain.text == "success"
    await wechat.mode("plain")
    mismatch = await wechat.post(wx.plain_post(wx.safe_post(wx.text("x", 9003)).body))
    assert mismatch.status_code == 400 and "plain mode" in mismatch.json()["detail"]
    entries = await logged(sessions)
    assert [(e.external_id, e.status) for e in entries] == [
        ("msg:9001", "accepted"),
        ("msg:9002", "accepted"),
        (None, "quarantined"),
    ]


async def test_long_replies_are_cut_into_pieces_wechat_takes():
    text = "第一段\n" + "很长的回复。" * 150  # 2710 bytes
    parts = pieces(text)
    assert len(parts) == 2 and all(len(p.encode()) <= 2048 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert pieces("  好的  ") == ["好的"] and pieces("") == []


async def test_unreadable_secrets_answer_503_not_500(center, wechat, sessions):
    async with sessions() as db:
        channel = (await db.execute(select(Channel).where(Channel.key == "wx"))).scalar_one()
        channel.secrets = "sealed-with-another-installation-secret"
        await db.commit()
    answer = await wechat.post(wx.plain_post(wx.text("你好", 9101)))
    assert answer.status_code == 503 and answer.json()["code"] == "service_unavailable"
    assert await logged(sessions) == []
