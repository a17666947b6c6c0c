"""Taking in one signed delivery: check, map, write through the one write path, log.

Every outcome is logged in ``channel_messages``: accepted (with the record it became),
quarantined with a stable code when the request is unsigned, forged, stale, not JSON, too big
or does not map onto the form. A delivery id (the hook's idempotency header) seen before is
answered with the first result and writes nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from pydantic_core import PydanticCustomError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from runtime.channels import intake, service
from runtime.channels.models import ACCEPTED, IN, QUARANTINED, Channel, ChannelMessage
from runtime.channels.webhook.kind import WebhookSettings, map_values
from runtime.db import utcnow
from runtime.errors import FieldError, ProblemError, reject_nul
from runtime.net.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from runtime.records.forms import resolve_app
from runtime.records.writer import RecordWriter, commit_and_dispatch

SOURCE = "webhook"
#: How far a signature's timestamp may be from now (the scheme's window).
TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Taken:
    record_id: int
    message_id: int
    duplicate: bool


async def find_channel(db: AsyncSession, app_key: str, channel_key: str) -> Channel:
    """The enabled webhook channel ``channel_key`` of ``app_key`` (404 otherwise, the same
    answer whether the app, the channel or its kind is wrong)."""
    row = (
        await db.execute(
            select(Channel)
            .join(App, App.id == Channel.app_id)
            .where(App.key == app_key, Channel.key == channel_key, Channel.kind == "webhook")
        )
    ).scalar_one_or_none()
    if row is None:
        raise ProblemError("channel_not_found", params={"key": channel_key})
    if not row.enabled:
        raise ProblemError("channel_disabled", params={"key": channel_key})
    return row


def check_signature(secret: str, headers: Any, body: bytes) -> str | None:
    """None when the request is signed with ``secret`` within the window; else the log code."""
    stamp, header = headers.get(TIMESTAMP_HEADER), headers.get(SIGNATURE_HEADER)
    if not stamp or not header:
        return "webhook.unsigned"
    if verify_signature(secret, stamp, body, header, TOLERANCE_SECONDS):
        return None
    # Signed with the secret but outside the window: stale (a replay of an old request).
    if verify_signature(secret, stamp, body, header, 10**12):
        return "webhook.stale"
    return "webhook.bad_signature"


async def _reset(db: AsyncSession) -> None:
    await db.rollback()
    db.info.pop("record_events", None)
    db.info.pop("record_events_seen", None)


async def refuse(
    db: AsyncSession,
    channel_id: int,
    code: str,
    detail: str,
    raw: bytes | None,
    external_id: str | None = None,
) -> None:
    """Log a refused delivery (in a transaction of its own) and commit."""
    await _reset(db)
    channel = await db.get(Channel, channel_id)
    assert channel is not None
    await intake.log(
        db,
        channel,
        status=QUARANTINED,
        code=code,
        detail=detail,
        raw=raw,
        external_id=external_id,
    )
    await db.commit()


async def earlier(db: AsyncSession, channel: Channel, external_id: str) -> ChannelMessage | None:
    return (
        await db.execute(
            select(ChannelMessage).where(
                ChannelMessage.channel_id == channel.id,
                ChannelMessage.direction == IN,
                ChannelMessage.external_id == external_id,
            )
        )
    ).scalar_one_or_none()


async def write(
    db: AsyncSession, channel: Channel, settings: WebhookSettings, body: Any
) -> dict[str, Any]:
    """The record the body maps to, created as the system through the one write path (its
    validation, rules and flows); 422 with per-field errors when it does not map."""
    app_key = (await db.execute(select(App.key).where(App.id == channel.app_id))).scalar_one()
    app = await resolve_app(db, app_key)
    handle = app.handles.get(settings.form)
    if handle is None:
        raise ProblemError("webhook_form_missing", params={"form": settings.form})
    values, errors = map_values(settings, body)
    if errors:
        raise ProblemError("validation_failed", errors=errors)
    return await RecordWriter(db, handle, None, source=SOURCE).create(values)


def _has_nul(body: Any) -> bool:
    """Whether the body has U+0000 in a text (PostgreSQL cannot store it: a 422, not a 500)."""
    try:
        reject_nul(body)
    except PydanticCustomError:
        return True
    return False


def _reasons(exc: ProblemError) -> str:
    parts = [f"{e.field}: {e.message}" for e in exc.errors]
    return "; ".join(parts) or exc.code


async def take(db: AsyncSession, channel: Channel, headers: Any, raw: bytes) -> Taken:
    """Take in one delivery (the module docstring); commits. Raises the ProblemError the
    caller answers with after the refusal was logged."""
    channel_id = channel.id
    settings = service.settings_of(channel)
    assert isinstance(settings, WebhookSettings)
    if len(raw) > settings.max_body_bytes:
        await refuse(db, channel_id, "webhook.too_large", f"{len(raw)} bytes", raw[:4096])
        raise ProblemError("payload_too_large", params={"limit": settings.max_body_bytes})
    problem = check_signature(settings.secret, headers, raw)
    if problem is not None:
        stamp = headers.get(TIMESTAMP_HEADER) or ""
        detail = f"{TIMESTAMP_HEADER}: {stamp[:40]} (now {int(time.time())})"
        await refuse(db, channel_id, problem, detail, raw)
        raise ProblemError(problem.replace(".", "_"))
    external_id = None
    if settings.idempotency_header:
        external_id = (headers.get(settings.idempotency_header) or "").strip()[:500] or None
    if external_id is not None:
        seen = await earlier(db, channel, external_id)
        if seen is not None and seen.status == ACCEPTED:
            return Taken(seen.communication_id or 0, seen.id, True)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        await refuse(db, channel_id, "webhook.malformed", "not JSON", raw, external_id)
        raise ProblemError("malformed_json") from None
    if _has_nul(body):
        await refuse(db, channel_id, "webhook.invalid", "U+0000 in the body", raw, external_id)
        raise ProblemError(
            "validation_failed",
            errors=[FieldError("body", "nul_character", "Text must not contain U+0000.")],
        )
    try:
        record = await write(db, channel, settings, body)
    except ProblemError as exc:
        await refuse(db, channel_id, "webhook.invalid", _reasons(exc), raw, external_id)
        raise
    try:
        message_id = await _accept(db, channel, external_id, raw, int(record["id"]))
        await commit_and_dispatch(db)
    except IntegrityError:  # the same delivery, taken in concurrently: answer with that one
        await _reset(db)
        channel = await db.get(Channel, channel_id)  # type: ignore[assignment]
        seen = await earlier(db, channel, external_id or "")
        if seen is None or seen.status != ACCEPTED:
            raise
        return Taken(seen.communication_id or 0, seen.id, True)
    return Taken(int(record["id"]), message_id, False)


async def _accept(
    db: AsyncSession, channel: Channel, external_id: str | None, raw: bytes, record_id: int
) -> int:
    columns = {
        "status": ACCEPTED,
        "code": None,
        "detail": None,
        "communication_id": record_id,
        "raw": raw if len(raw) <= 256 * 1024 else None,
    }
    seen = await earlier(db, channel, external_id) if external_id else None
    if seen is not None:  # refused before (a mapping fixed since), taken in now
        await db.execute(
            update(ChannelMessage)
            .where(ChannelMessage.id == seen.id, ChannelMessage.status != ACCEPTED)
            .values(**columns)
        )
        return int(seen.id)
    row = ChannelMessage(
        app_id=channel.app_id,
        channel_id=channel.id,
        direction=IN,
        external_id=external_id,
        created_at=utcnow(),
        **columns,
    )
    db.add(row)
    await db.flush()
    return int(row.id)


async def reprocess(db: AsyncSession, channel: Channel, logged: ChannelMessage) -> Any:
    """Map a delivery refused for its content again (after the mapping or form was fixed).
    Refusals of the signature are not taken in: nobody vouched for those bytes."""
    if logged.code not in ("webhook.invalid",) or logged.raw is None:
        raise ProblemError("not_reprocessable")
    settings = service.settings_of(channel)
    record = await write(db, channel, settings, json.loads(logged.raw))
    logged.status, logged.code, logged.detail = ACCEPTED, None, None
    logged.communication_id = int(record["id"])
    await db.flush()
    return record
