"""The ``wechat_mp`` channel kind: a WeChat Official Account (公众号).

Followers' messages arrive at the account's callback (``runtime.channels.wechat.routes``):
text, images and voice (downloaded with ``media/get``, voice with WeChat's recognition text),
video, location and links as text; the customer is found (or created) by openid and the
message joins their open ticket or opens one. A ``subscribe`` event creates the customer
(and may answer with the welcome text); other events are logged as ignored.

Agents' replies go back as customer-service messages (``message/custom/send``) by the
``wechat.send`` job: text, and images uploaded with ``media/upload``. WeChat accepts them
within 48 hours of the follower's last message (errcode 45015 otherwise, logged as failed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar, Literal
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeXml
from defusedxml import DefusedXmlException
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.urls import UrlProblem, parse_http_url
from runtime.channels import intake, service
from runtime.channels.intake import Attachment, Identity, Inbound, Outbound
from runtime.channels.models import FAILED, IGNORED, IN, OUT, SENT, Channel, ChannelMessage
from runtime.channels.registry import ChannelKind
from runtime.channels.wechat import crypto
from runtime.channels.wechat.api import TOKEN_ERRORS, Client, WeChatError
from runtime.db import utcnow
from runtime.errors import ProblemError
from runtime.files.models import StoredFile
from runtime.files.storage import LocalStorage
from runtime.jobs import queue
from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers

KIND = "wechat_mp"
SEND_JOB = "wechat.send"
#: What the intake calls messages of this channel (the ticket's channel option).
INTAKE_CHANNEL = "wechat"
#: How old a callback's timestamp may be (seconds) before it counts as a replay.
MAX_AGE_SECONDS = 300
#: The longest text WeChat takes in one customer-service message (bytes, UTF-8); a longer
#: reply goes as several messages.
MAX_TEXT_BYTES = 2048
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/bmp")


class WeChatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        title="App ID",
        description="The AppID of the Official Account (WeChat console → Basic configuration).",
        json_schema_extra={
            "title_zh": "AppID（开发者 ID）",
            "description_zh": "公众号的开发者 ID（AppID），见公众号后台“基本配置”。",
        },
    )
    app_secret: str = Field(
        min_length=1,
        max_length=128,
        title="App secret",
        description="Used to get the access token for the customer-service API.",
        json_schema_extra={
            "title_zh": "AppSecret（应用密钥）",
            "description_zh": "用于获取调用客服消息接口的 access_token。",
        },
    )
    token: str = Field(
        pattern=r"^[A-Za-z0-9]{3,32}$",
        title="Token",
        description="The Token entered in the WeChat console (3–32 letters and digits).",
        json_schema_extra={
            "title_zh": "令牌(Token)",
            "description_zh": "与公众号后台填写的令牌(Token)一致（3–32 位字母或数字）。",
        },
    )
    encoding_aes_key: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9]{43}$",
        title="EncodingAESKey",
        description="From the WeChat console (43 letters and digits); needed in compatible and "
        "safe mode.",
        json_schema_extra={
            "title_zh": "消息加解密密钥(EncodingAESKey)",
            "description_zh": "公众号后台生成的消息加解密密钥（43 位字母或数字）；"
            "兼容模式和安全模式下必填。",
        },
    )
    mode: Literal["plain", "compatible", "safe"] = Field(
        "plain",
        title="Message encryption mode",
        description="plain: plaintext mode; compatible: compatible mode; safe: safe mode. As set "
        "in the WeChat console.",
        json_schema_extra={
            "title_zh": "消息加解密方式",
            "description_zh": "plain：明文模式；compatible：兼容模式；safe：安全模式。"
            "须与公众号后台的设置一致。",
        },
    )
    api_base: str = Field(
        default="https://api.weixin.qq.com",
        max_length=300,
        title="API base URL",
        description="Where the WeChat API is reached; change it only for a proxy or a test server.",
        json_schema_extra={
            "title_zh": "接口地址",
            "description_zh": "微信接口的访问地址；仅在使用代理或测试服务器时修改。",
        },
    )
    welcome: str | None = Field(
        default=None,
        max_length=600,
        title="Welcome message",
        description="The reply to a new follower; empty: none.",
        json_schema_extra={
            "title_zh": "关注欢迎语",
            "description_zh": "用户关注公众号时自动回复的内容；留空则不回复。",
        },
    )

    @field_validator("api_base")
    @classmethod
    def _url(cls, value: str) -> str:
        found = parse_http_url(value)
        if isinstance(found, UrlProblem):
            raise ValueError(found.message)
        return value.rstrip("/")

    @model_validator(mode="after")
    def _key_for_encryption(self) -> WeChatSettings:
        if self.mode != "plain" and not self.encoding_aes_key:
            raise ValueError("compatible and safe mode need the encoding_aes_key")
        return self


class BadMessage(Exception):
    """A callback body that is not a WeChat message (``code``: the log's reason)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def parse_xml(raw: bytes) -> dict[str, str]:
    """The fields of a WeChat XML message (``defusedxml``: no entities, no DTDs)."""
    try:
        root: Element = SafeXml.fromstring(raw)
    except (ParseError, DefusedXmlException, ValueError) as exc:
        raise BadMessage("wechat.malformed", f"not well-formed XML: {exc}") from None
    if root.tag != "xml":
        raise BadMessage("wechat.malformed", f"the root element is <{root.tag}>, not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if isinstance(child.tag, str) and child.tag not in fields:
            fields[child.tag] = (child.text or "").strip()
    return fields


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(to_user: str, from_user: str, content: str) -> str:
    """A passive reply (被动回复) with a text."""
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType>{_cdata('text')}</MsgType><Content>{_cdata(content)}</Content></xml>"
    )


def encrypted_reply(settings: WeChatSettings, xml: str, nonce: str) -> str:
    assert settings.encoding_aes_key is not None
    encrypt = crypto.encrypt(settings.encoding_aes_key, settings.app_id, xml.encode())
    stamp = str(int(time.time()))
    signature = crypto.signature(settings.token, stamp, nonce, encrypt)
    return (
        f"<xml><Encrypt>{_cdata(encrypt)}</Encrypt><MsgSignature>{_cdata(signature)}"
        f"</MsgSignature><TimeStamp>{stamp}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>"
    )


def client_for(
    db: AsyncSession, channel: Channel, settings: WeChatSettings, state_writer: Any = None
) -> Client:
    return Client(
        db,
        channel,
        app_id=settings.app_id,
        app_secret=settings.app_secret,
        api_base=settings.api_base,
        state_writer=state_writer,
    )


def external_id(fields: dict[str, str]) -> str:
    """The message's id: its MsgId, or (events have none) the sender and the time."""
    msg_id = fields.get("MsgId") or fields.get("MsgID")
    if msg_id:
        return f"msg:{msg_id}"
    return f"evt:{fields.get('FromUserName', '')}:{fields.get('CreateTime', '')}"


@dataclass
class Outcome:
    """What a callback did: ``reply`` is the passive reply's XML (None: ``success``)."""

    status: str
    code: str | None = None
    reply: str | None = None
    message_id: int | None = None


def fresh(timestamp: str, now: float | None = None) -> bool:
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    return abs((now or time.time()) - stamp) <= MAX_AGE_SECONDS


async def _media(
    db: AsyncSession, channel: Channel, settings: WeChatSettings, media_id: str, label: str
) -> tuple[tuple[Attachment, ...], tuple[str, ...]]:
    if not media_id:
        return (), (f"{label}：没有 MediaId",)
    try:
        media = await client_for(db, channel, settings).download(media_id)
    except WeChatError as exc:
        return (), (f"{label}未能下载（{exc}）",)
    return (Attachment(media.filename, media.content_type, media.data),), ()


async def inbound_of(
    db: AsyncSession, channel: Channel, settings: WeChatSettings, fields: dict[str, str], raw: bytes
) -> Inbound | None:
    """The message to take in (None: a type the channel does not take in)."""
    kind = fields.get("MsgType", "").lower()
    openid = fields.get("FromUserName", "")
    attachments: tuple[Attachment, ...] = ()
    notes: tuple[str, ...] = ()
    if kind == "text":
        body = fields.get("Content", "")
    elif kind == "image":
        body = "[图片]"
        attachments, notes = await _media(db, channel, settings, fields.get("MediaId", ""), "图片")
    elif kind == "voice":
        recognition = fields.get("Recognition", "")
        body = f"[语音] {recognition}".strip()
        attachments, notes = await _media(db, channel, settings, fields.get("MediaId", ""), "语音")
    elif kind in ("video", "shortvideo"):
        body = f"[视频] MediaId: {fields.get('MediaId', '')}"
    elif kind == "location":
        body = (
            f"[位置] {fields.get('Label', '')} "
            f"({fields.get('Location_X', '')}, {fields.get('Location_Y', '')})"
        )
    elif kind == "link":
        body = "\n".join(
            p
            for p in (
                f"[链接] {fields.get('Title', '')}",
                fields.get("Description", ""),
                fields.get("Url", ""),
            )
            if p
        )
    else:
        return None
    return Inbound(
        channel=INTAKE_CHANNEL,
        identity=Identity(openid=openid),
        body=body,
        external_id=external_id(fields),
        attachments=attachments,
        notes=notes,
        sender=openid,
        recipient=fields.get("ToUserName") or None,
        join_open=True,
        raw=raw,
    )


async def process(
    db: AsyncSession,
    channel: Channel,
    settings: WeChatSettings,
    fields: dict[str, str],
    raw: bytes,
) -> Outcome:
    """Take in one decrypted, verified message (the caller commits)."""
    openid = fields.get("FromUserName", "")
    ext = external_id(fields)
    if not openid:
        code = "wechat.no_sender"
        await intake.quarantine(db, channel, code=code, detail="no FromUserName", raw=raw)
        return Outcome("quarantined", code)
    if await intake.is_duplicate(db, channel, ext):
        return Outcome("duplicate")
    kind = fields.get("MsgType", "").lower()
    if kind == "event":
        event = fields.get("Event", "").lower() or "unknown"
        code = f"wechat.event.{event}"[:64]
        customer_id = None
        reply = None
        if event == "subscribe":
            customer_id, _created = await intake.ensure_customer(
                db, channel, Identity(openid=openid)
            )
            if settings.welcome:
                reply = text_reply(openid, fields.get("ToUserName", ""), settings.welcome)
        logged = await intake.log(
            db,
            channel,
            status=IGNORED,
            code=code,
            detail=f"event {fields.get('Event', '')} {fields.get('EventKey', '')}".strip(),
            raw=raw,
            external_id=ext,
            customer_id=customer_id,
        )
        return Outcome(IGNORED, code, reply, logged)
    message = await inbound_of(db, channel, settings, fields, raw)
    if message is None:
        code = "wechat.unsupported"
        logged = await intake.log(
            db,
            channel,
            status=IGNORED,
            code=code,
            detail=f"message type {kind or '?'}",
            raw=raw,
            external_id=ext,
        )
        return Outcome(IGNORED, code, None, logged)
    result = await intake.ingest(db, channel, message)
    return Outcome("duplicate" if result.duplicate else "accepted", None, None, result.message_id)


def decrypt_fields(settings: WeChatSettings, outer: dict[str, str]) -> tuple[dict[str, str], bytes]:
    if not settings.encoding_aes_key:
        raise BadMessage("wechat.bad_encryption", "no EncodingAESKey is set")
    try:
        plain = crypto.decrypt(settings.encoding_aes_key, settings.app_id, outer["Encrypt"])
    except crypto.CryptoError as exc:
        raise BadMessage("wechat.bad_encryption", str(exc)) from None
    return parse_xml(plain), plain


class WeChatMpKind(ChannelKind):
    type: ClassVar[str] = KIND
    label = ("WeChat Official Account", "微信公众号")
    settings_model = WeChatSettings
    secret_fields = ("app_secret", "token", "encoding_aes_key")
    delivers = True

    async def deliver(self, db: AsyncSession, channel: Channel, message: Outbound) -> None:
        openid = await openid_of(db, channel, message.customer_id)
        if not openid:
            await intake.log_outbound(
                db,
                channel,
                external_id=None,
                thread_key=None,
                ticket_id=message.ticket_id,
                customer_id=message.customer_id,
                communication_id=message.communication_id,
                status=FAILED,
                code="wechat.no_openid",
                detail="the customer has no WeChat openid",
            )
            return
        await queue.enqueue(
            db,
            SEND_JOB,
            {
                "channel_id": channel.id,
                "communication_id": message.communication_id,
                "ticket_id": message.ticket_id,
                "customer_id": message.customer_id,
                "openid": openid,
                "body": message.body,
                "files": list(message.files),
            },
            idempotency_key=f"{SEND_JOB}:{channel.id}:{message.communication_id}",
        )

    async def reprocess(self, db: AsyncSession, channel: Channel, logged: ChannelMessage) -> Any:
        if logged.code == "wechat.bad_signature" or logged.raw is None:
            raise ProblemError("not_reprocessable")
        settings = service.settings_of(channel)
        try:
            fields = parse_xml(logged.raw)
            raw = logged.raw
            if "Encrypt" in fields and "MsgType" not in fields:
                fields, raw = decrypt_fields(settings, fields)
        except BadMessage:
            raise ProblemError("not_reprocessable") from None
        outcome = await process(db, channel, settings, fields, raw)
        if outcome.status == "quarantined":
            raise ProblemError("not_reprocessable")
        if outcome.message_id != logged.id:  # logged anew (it had no id): say where it went
            logged.status = IGNORED
            logged.code = "wechat.reprocessed"
            logged.detail = f"taken in again as log entry {outcome.message_id}"
            await db.flush()
        return outcome


async def openid_of(db: AsyncSession, channel: Channel, customer_id: int | None) -> str | None:
    if customer_id is None:
        return None
    to = await intake.target(db, channel)
    key = to.spec.customer.openid
    if key is None:
        return None
    table = to.customers.table
    value = (
        await db.execute(select(to.customers.column(key)).where(table.c.id == customer_id))
    ).scalar_one_or_none()
    return str(value) if value else None


def _log_row(
    channel: Channel,
    payload: dict[str, Any],
    *,
    status: str,
    external: str | None,
    code: str | None = None,
    detail: str | None = None,
) -> Any:
    return insert(ChannelMessage).values(
        app_id=channel.app_id,
        channel_id=channel.id,
        direction=OUT,
        external_id=external,
        status=status,
        code=code,
        detail=(detail or "")[:4000] or None,
        ticket_id=payload.get("ticket_id"),
        customer_id=payload.get("customer_id"),
        communication_id=payload.get("communication_id"),
        created_at=utcnow(),
    )


def pieces(text: str, limit: int = MAX_TEXT_BYTES) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` UTF-8 bytes, at a line break if there is
    one in the second half of a piece."""
    out: list[str] = []
    rest = text.strip()
    while rest:
        if len(rest.encode()) <= limit:
            out.append(rest)
            break
        cut = len(rest.encode()[:limit].decode(errors="ignore"))
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    return out


@handlers.register(SEND_JOB, max_attempts=5)
async def send(ctx: JobContext) -> dict[str, Any]:
    """Send an agent's reply: its images, then its text; each part once (a retried attempt
    skips the parts already sent). Refusals that a retry cannot fix (errcode 45015: the
    follower wrote more than 48 hours ago, 40003: unknown openid …) are logged as failed."""
    db, payload = ctx.session, ctx.payload
    channel = await db.get(Channel, int(payload["channel_id"]))
    if channel is None or not channel.enabled:
        return {"skipped": "channel gone or switched off"}
    settings = service.settings_of(channel)
    client = client_for(db, channel, settings, ctx.keep)
    prefix = f"wechat:{payload['communication_id']}:"
    done = set(
        (
            await db.execute(
                select(ChannelMessage.external_id).where(
                    ChannelMessage.channel_id == channel.id,
                    ChannelMessage.direction == OUT,
                    ChannelMessage.external_id.like(prefix + "%"),
                )
            )
        ).scalars()
    )
    openid = str(payload["openid"])
    storage = LocalStorage(ctx.settings.storage_dir)
    parts: list[tuple[str, Any, str]] = [
        (f"{prefix}file:{f}", f, "") for f in payload.get("files") or []
    ]
    texts = pieces(str(payload.get("body") or ""))
    for number, piece in enumerate(texts, 1):
        parts.append((f"{prefix}text" + (f":{number}" if len(texts) > 1 else ""), None, piece))
    sent, failed = 0, 0
    for external, file_id, piece in parts:
        if external in done:
            continue
        try:
            if file_id is None:
                answer = await client.send_text(openid, piece)
            else:
                stored = await db.get(StoredFile, int(file_id))
                if stored is None or stored.content_type not in IMAGE_TYPES:
                    name = stored.filename if stored is not None else str(file_id)
                    ctx.keep(
                        _log_row(
                            channel,
                            payload,
                            status=FAILED,
                            external=external,
                            code="wechat.unsupported_attachment",
                            detail=f"{name}: only images can be sent to WeChat followers",
                        )
                    )
                    failed += 1
                    continue
                data = storage.path_for(stored.key).read_bytes()
                media_id = await client.upload_image(stored.filename, stored.content_type, data)
                answer = await client.send_image(openid, media_id)
        except WeChatError as exc:
            code = (
                f"wechat.errcode.{exc.errcode}" if exc.errcode is not None else "wechat.unreachable"
            )
            retry = exc.transient or exc.errcode in TOKEN_ERRORS
            ctx.keep(
                _log_row(
                    channel,
                    payload,
                    status=FAILED,
                    external=None if retry else external,
                    code=code[:64],
                    detail=str(exc),
                )
            )
            if retry:
                raise  # the queue tries again later
            failed += 1
            continue
        ctx.keep(
            _log_row(
                channel,
                payload,
                status=SENT,
                external=external,
                detail=f"errcode {answer.get('errcode', 0)}",
            )
        )
        sent += 1
    return {"sent": sent, "failed": failed}


__all__ = ["IN", "KIND", "WeChatMpKind", "WeChatSettings"]
