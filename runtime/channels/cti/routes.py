"""POST /api/v1/public/cti/{app_key}/{channel_key}: the signed call events of a telephony
system; POST /api/v1/apps/{app_id}/channels/{key}/calls: click-to-call."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError
from sqlalchemy import select

from builder.apps.models import App
from runtime.channels import intake
from runtime.channels import service as channels
from runtime.channels.cti import service
from runtime.channels.cti.schemas import (
    EVENTS,
    CallAccepted,
    CallEvent,
    CallIn,
    CallOut,
    PhoneChannel,
    Phones,
)
from runtime.channels.models import IGNORED, Channel
from runtime.deps import CurrentUser, IdPath, SessionDep
from runtime.errors import ProblemError, field_errors_from_pydantic
from runtime.net.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from runtime.records.writer import commit_and_dispatch

public_router = APIRouter(prefix="/api/v1/public/cti", tags=["telephony (CTI)"])
calls_router = APIRouter(prefix="/api/v1/apps/{app_id}/channels", tags=["telephony (CTI)"])
me_router = APIRouter(prefix="/api/v1/me", tags=["telephony (CTI)"])
KeyPath = Annotated[str, Path(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9_]*$")]
#: The largest event accepted.
MAX_EVENT_BYTES = 64 * 1024

_SCHEMA = CallEvent.model_json_schema(by_alias=True)
_EVENT_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _SCHEMA}},
        "description": "One call event, signed: X-Tangram-Timestamp (Unix seconds) and "
        "X-Tangram-Signature: sha256=<hex HMAC-SHA256 of '<timestamp>.<body>' keyed with the "
        "channel's secret>.",
    }
}


async def _channel(db: SessionDep, app_key: str, channel_key: str) -> Channel:
    found = (
        await db.execute(
            select(Channel)
            .join(App, App.id == Channel.app_id)
            .where(App.key == app_key, Channel.key == channel_key, Channel.kind == service.KIND)
        )
    ).scalar_one_or_none()
    if found is None:
        raise ProblemError("channel_not_found", params={"key": channel_key})
    return found


async def _refuse(
    db: SessionDep, channel: Channel, code: str, detail: str, raw: bytes, *, quarantine: bool
) -> None:
    if quarantine:
        await intake.quarantine(db, channel, code=code, detail=detail, raw=raw)
    else:
        await intake.log(db, channel, status=IGNORED, code=code, detail=detail, raw=raw)
    await db.commit()


@public_router.post(
    "/{app_key}/{channel_key}",
    response_model=CallAccepted,
    openapi_extra=_EVENT_DOC,
    summary="A call event from the telephony system",
)
async def call_event(
    app_key: KeyPath, channel_key: KeyPath, request: Request, db: SessionDep
) -> CallAccepted:
    """Take in one call event (ringing, answered, ended, recording; see
    ``runtime/channels/cti/README.md``). Unsigned, forged or stale: 401 and logged; an unknown
    event: 422 and logged; a replay (same ``call_id`` and ``event``): 200 ``duplicate``."""
    raw = await request.body()
    channel = await _channel(db, app_key, channel_key)
    if len(raw) > MAX_EVENT_BYTES:
        await _refuse(
            db, channel, "cti.too_large", f"{len(raw)} bytes", raw[:4096], quarantine=True
        )
        raise ProblemError("payload_too_large", params={"limit": MAX_EVENT_BYTES})
    secret = channels.secrets_of(channel).get("secret", "")
    stamp = request.headers.get(TIMESTAMP_HEADER, "")
    signed = request.headers.get(SIGNATURE_HEADER, "")
    if not secret or not signed or not verify_signature(secret, stamp, raw, signed):
        why = "unsigned" if not signed else "forged or stale signature"
        await _refuse(db, channel, "cti.bad_signature", why, raw, quarantine=True)
        raise ProblemError("cti_bad_signature")
    if not channel.enabled:
        await _refuse(db, channel, "cti.disabled", "the channel is off", raw, quarantine=True)
        raise ProblemError("channel_disabled", params={"key": channel_key})
    try:
        data = json.loads(raw)
    except ValueError:
        await _refuse(db, channel, "cti.malformed", "not JSON", raw, quarantine=True)
        raise ProblemError("malformed_json") from None
    if not isinstance(data, dict) or data.get("event") not in EVENTS:
        event = data.get("event") if isinstance(data, dict) else None
        detail = f"unknown event {str(event)[:100]!r}"
        await _refuse(db, channel, "cti.unknown_event", detail, raw, quarantine=False)
        raise ProblemError("cti_unknown_event", params={"event": str(event)[:100]})
    try:
        call = CallEvent.model_validate(data)
    except ValidationError as exc:
        errors = field_errors_from_pydantic(exc.errors())
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        await _refuse(db, channel, "cti.invalid", detail, raw, quarantine=True)
        raise ProblemError("validation_failed", errors=errors) from None
    popped = None
    try:
        popped = await service.pop_caller(db, channel, call)
    except ProblemError:  # no intake mapping: the event is quarantined below
        await db.rollback()
        channel = await _channel(db, app_key, channel_key)
    else:
        if popped is not None:
            await commit_and_dispatch(db)  # the page pops now, while the call is logged
    try:
        result = await service.receive(db, channel, call, raw, popped=popped)
    except ProblemError as exc:  # no intake mapping, a value a form refuses: keep the event
        await db.rollback()
        channel = await _channel(db, app_key, channel_key)
        await intake.quarantine(
            db,
            channel,
            code=f"cti.{exc.code}"[:64],
            detail=str(exc.errors or exc.code)[:4000],
            raw=raw,
            external_id=service.external_of(call),
        )
        await db.commit()
        raise
    await commit_and_dispatch(db)
    return result


@calls_router.post("/{key}/calls", response_model=CallOut, summary="Click-to-call")
async def place_call(
    app_id: IdPath,
    key: KeyPath,
    body: CallIn,
    principal: CurrentUser,
    request: Request,
    db: SessionDep,
) -> CallOut:
    """Ask the telephony system to ring the signed-in agent's extension and connect it to
    ``to``: a signed POST to the channel's ``call_url`` (through the egress policy). Logged in
    the channel's log (sent or failed) and the webhook delivery log."""
    result = await service.place_call(db, principal, app_id, key, body, request.app.state.settings)
    await db.commit()
    return result


@me_router.get("/phones", response_model=Phones, summary="Where the signed-in agent can call from")
async def my_phones(
    principal: CurrentUser,
    db: SessionDep,
    app: Annotated[str, Query(min_length=1, max_length=63, pattern=r"^[a-z][a-z0-9_]*$")],
    form: Annotated[str | None, Query(max_length=63, pattern=r"^[a-z][a-z0-9_]*$")] = None,
) -> Phones:
    """The app's telephony channels on which the signed-in user has an extension, and the
    phone fields of ``form`` (the page's click-to-call buttons)."""
    found = await service.my_phones(db, principal, app, form)
    return Phones(
        channels=[PhoneChannel(**c) for c in found["channels"]], phone_fields=found["fields"]
    )
