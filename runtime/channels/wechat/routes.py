"""/api/v1/public/wechat/{app_key}/{channel_key}: an Official Account's callback URL.

``GET``: the URL check (echo ``echostr`` when the signature is right; decrypted first when it
comes with ``msg_signature``). ``POST``: a message or an event, answered ``success`` (or the
welcome text to a new follower). Forged signatures get 403 and a log entry; a stale
timestamp or a message seen before is answered ``success`` and taken in at most once;
malformed XML or ciphertext gets 400, the body kept in quarantine.
"""

from __future__ import annotations

import secrets as random
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from runtime.channels import intake, service
from runtime.channels.models import IGNORED, Channel
from runtime.channels.secrets import SecretsUnreadable
from runtime.channels.wechat import crypto
from runtime.channels.wechat.kind import (
    KIND,
    BadMessage,
    WeChatSettings,
    decrypt_fields,
    encrypted_reply,
    external_id,
    fresh,
    parse_xml,
    process,
)
from runtime.deps import SessionDep
from runtime.errors import ProblemError, problem_response
from runtime.records.writer import commit_and_dispatch

router = APIRouter(prefix="/api/v1/public/wechat", tags=["channels"])
Key = Annotated[str, Path(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9_]*$")]
#: The most a callback body may be (WeChat's messages are a few kB).
MAX_BODY_BYTES = 64 * 1024
_PROBLEM = {
    "wechat.bad_signature": "wechat_bad_signature",
    "wechat.malformed": "wechat_malformed",
    "wechat.bad_encryption": "wechat_bad_encryption",
}


async def _channel(db: AsyncSession, app_key: str, channel_key: str) -> Channel:
    found = (
        await db.execute(
            select(Channel)
            .join(App, App.id == Channel.app_id)
            .where(App.key == app_key, Channel.key == channel_key, Channel.kind == KIND)
        )
    ).scalar_one_or_none()
    if found is None:
        raise ProblemError("channel_not_found", params={"key": channel_key})
    if not found.enabled:
        raise ProblemError("channel_disabled", params={"key": channel_key})
    return found


def _settings(channel: Channel) -> WeChatSettings:
    try:
        found: WeChatSettings = service.settings_of(channel)
    except (SecretsUnreadable, ValidationError):
        # sealed under another installation secret, or saved by an older version: the
        # channel's settings must be entered again
        raise ProblemError("service_unavailable") from None
    return found


def _success() -> PlainTextResponse:
    return PlainTextResponse("success")


async def _refuse(
    db: AsyncSession, channel: Channel, request: Request, error: BadMessage, raw: bytes
) -> JSONResponse:
    await intake.quarantine(db, channel, code=error.code, detail=error.detail, raw=raw)
    await db.commit()
    return problem_response(_PROBLEM[error.code], request=request, detail=error.detail)


async def _refuse_check(
    db: AsyncSession, channel: Channel, request: Request, error: BadMessage, raw: bytes
) -> JSONResponse:
    """Refuse a URL check (a GET: its request session is a reader's, log with a writer's)."""
    channel_id = channel.id
    await db.rollback()  # the reader lets go of the database first (SQLite)
    async with request.app.state.sessions() as writer:
        found = await writer.get(Channel, channel_id)
        assert found is not None
        return await _refuse(writer, found, request, error, raw)


@router.get("/{app_key}/{channel_key}")
async def verify(app_key: Key, channel_key: Key, request: Request, db: SessionDep) -> Response:
    channel = await _channel(db, app_key, channel_key)
    settings = _settings(channel)
    q = request.query_params
    timestamp, nonce, echostr = q.get("timestamp", ""), q.get("nonce", ""), q.get("echostr", "")
    if q.get("msg_signature"):
        good = crypto.signature_ok(
            q.get("msg_signature"), settings.token, timestamp, nonce, echostr
        )
    else:
        good = crypto.signature_ok(q.get("signature"), settings.token, timestamp, nonce)
    if not good:
        detail = "the URL check's signature does not match the token"
        return await _refuse_check(
            db, channel, request, BadMessage("wechat.bad_signature", detail), str(q).encode()
        )
    if q.get("msg_signature"):
        try:
            answer = decrypt_echo(settings, echostr)
        except BadMessage as exc:
            return await _refuse_check(db, channel, request, exc, echostr.encode())
        return PlainTextResponse(answer)
    return PlainTextResponse(echostr)


def decrypt_echo(settings: WeChatSettings, echostr: str) -> str:
    if not settings.encoding_aes_key:
        raise BadMessage("wechat.bad_encryption", "no EncodingAESKey is set")
    try:
        return crypto.decrypt(settings.encoding_aes_key, settings.app_id, echostr).decode()
    except (crypto.CryptoError, UnicodeDecodeError) as exc:
        raise BadMessage("wechat.bad_encryption", str(exc)) from None


@router.post("/{app_key}/{channel_key}")
async def receive(app_key: Key, channel_key: Key, request: Request, db: SessionDep) -> Response:
    channel = await _channel(db, app_key, channel_key)
    settings = _settings(channel)
    raw = await request.body()
    q = request.query_params
    timestamp, nonce = q.get("timestamp", ""), q.get("nonce", "")
    encrypted = settings.mode == "safe" or (
        settings.mode == "compatible" and q.get("encrypt_type", "").lower() == "aes"
    )
    if len(raw) > MAX_BODY_BYTES:
        return await _refuse(
            db,
            channel,
            request,
            BadMessage("wechat.malformed", "the body is too large"),
            raw[:MAX_BODY_BYTES],
        )
    try:
        if not encrypted:
            if not crypto.signature_ok(q.get("signature"), settings.token, timestamp, nonce):
                raise BadMessage("wechat.bad_signature", "the signature does not match the token")
            fields, plain = parse_xml(raw), raw
        else:
            outer = parse_xml(raw)
            if not outer.get("Encrypt"):
                raise BadMessage("wechat.malformed", "no Encrypt element (safe mode)")
            if not crypto.signature_ok(
                q.get("msg_signature"), settings.token, timestamp, nonce, outer["Encrypt"]
            ):
                raise BadMessage("wechat.bad_signature", "the msg_signature does not match")
            fields, plain = decrypt_fields(settings, outer)
    except BadMessage as exc:
        return await _refuse(db, channel, request, exc, raw)
    if not fields.get("MsgType"):
        detail = "no MsgType"
        if "Encrypt" in fields:
            detail = "an encrypted message, but the channel is in plain mode (see its mode)"
        return await _refuse(db, channel, request, BadMessage("wechat.malformed", detail), plain)
    if not fresh(timestamp):
        await intake.log(
            db,
            channel,
            status=IGNORED,
            code="wechat.stale",
            detail=f"timestamp {timestamp!r} is more than 5 minutes off",
            raw=plain,
            external_id=external_id(fields),
        )
        await db.commit()
        return _success()
    try:
        outcome = await process(db, channel, settings, fields, plain)
        await commit_and_dispatch(db)
    except IntegrityError:  # WeChat's retry of a message still being taken in: it is taken once
        await db.rollback()
        return _success()
    except ProblemError as exc:  # the app cannot take it in (no intake mapping …): keep it
        await db.rollback()
        await db.refresh(channel)
        await intake.quarantine(
            db,
            channel,
            code="wechat.intake_failed",
            detail=f"{exc.code}: {exc.detail or ''}".strip(),
            raw=plain,
            external_id=external_id(fields),
        )
        await db.commit()
        return _success()
    if outcome.reply is None:
        return _success()
    reply = outcome.reply
    if encrypted:
        reply = encrypted_reply(settings, reply, nonce or random.token_hex(8))
    return Response(reply, media_type="application/xml")
