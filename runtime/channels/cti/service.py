"""Call events in: one call log (a message record) per call on the customer's ticket, kept up
to date as the events arrive; screen pops on ringing; click-to-call out.

A call's first event (normally ``ringing``) goes through the intake (``runtime.channels.intake``
``ingest``): the customer is found by phone number or created, the call joins the customer's
open ticket (or a new one, as the channel says) as one message record whose body describes the
call. Each later event of the call is logged under the same thread and rewrites that body
(answered, missed, duration, recording). Every event is logged once under
``<call_id>:<event>``: a replay is answered 200 and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.channels import intake
from runtime.channels import service as channels
from runtime.channels.cti.kind import CtiSettings
from runtime.channels.cti.schemas import CallAccepted, CallEvent, CallIn, CallOut
from runtime.channels.intake import Identity, Inbound
from runtime.channels.models import ACCEPTED, FAILED, IN, Channel, ChannelMessage
from runtime.config import Settings
from runtime.db import utcnow
from runtime.errors import ProblemError
from runtime.live import bus
from runtime.net import webhooks
from runtime.records.forms import resolve
from runtime.records.writer import RecordWriter

KIND = "cti"
#: The server-sent event of a screen pop.
POP_EVENT = "call"
#: The intake channel calls come by (the forms' ``phone`` option).
CHANNEL = "phone"
_ORDER = {"ringing": 0, "answered": 1, "ended": 2, "recording": 3}


def thread_of(channel: Channel, call_id: str) -> str:
    return f"cti:{channel.id}:{call_id}"[:500]


def external_of(call: CallEvent) -> str:
    return f"{call.call_id}:{call.event}"[:500]


def customer_number(call: CallEvent) -> str:
    return call.to if call.direction == "outbound" else call.from_


async def _lock(db: AsyncSession, channel: Channel, call_id: str) -> None:
    """On PostgreSQL, one event of a call at a time (ringing and answered arriving together
    must make one call log)."""
    if db.bind.dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"tangram-cti:{channel.id}:{call_id}".encode()).digest()
    await db.execute(
        select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True)))
    )


async def _call_log(db: AsyncSession, channel: Channel, thread: str) -> list[ChannelMessage]:
    rows = await db.execute(
        select(ChannelMessage)
        .where(
            ChannelMessage.channel_id == channel.id,
            ChannelMessage.direction == IN,
            ChannelMessage.thread_key == thread,
            ChannelMessage.status == ACCEPTED,
        )
        .order_by(ChannelMessage.id)
    )
    return list(rows.scalars())


async def _logged_event(db: AsyncSession, channel: Channel, external: str) -> ChannelMessage | None:
    return (
        await db.execute(
            select(ChannelMessage).where(
                ChannelMessage.channel_id == channel.id,
                ChannelMessage.direction == IN,
                ChannelMessage.external_id == external,
            )
        )
    ).scalar_one_or_none()


def _events(logged: list[ChannelMessage], call: CallEvent) -> list[CallEvent]:
    events = []
    for row in logged:
        if row.raw:
            try:
                events.append(CallEvent.model_validate(json.loads(row.raw)))
            except ValueError:
                continue
    events.append(call)
    return sorted(events, key=lambda e: (_ORDER[e.event], e.at))


def summary(events: list[CallEvent]) -> dict[str, Any]:
    """What the events tell of the call: outcome, duration, recording."""
    kinds = {e.event: e for e in events}
    ended = kinds.get("ended")
    answered = kinds.get("answered")
    talked = ended.duration if ended is not None and ended.duration is not None else None
    if talked is None and answered is not None and ended is not None:
        talked = max(0, int((ended.at - answered.at).total_seconds()))
    if ended is None:
        outcome = "in_progress" if answered is not None else "ringing"
    else:
        outcome = "answered" if answered is not None or (talked or 0) > 0 else "missed"
    recording = next((e.recording_url for e in reversed(events) if e.recording_url), None)
    first = events[0]
    extension = next((e.extension for e in reversed(events) if e.extension), None)
    return {
        "direction": first.direction,
        "from": first.from_,
        "to": first.to,
        "extension": extension,
        "outcome": outcome,
        "duration": talked,
        "recording_url": recording,
        "started_at": first.at.isoformat(),
    }


_OUTCOMES = {
    "ringing": "振铃中 ringing",
    "in_progress": "通话中 in progress",
    "answered": "已接听 answered",
    "missed": "未接 missed",
}


def body_of(state: dict[str, Any]) -> str:
    """The call log's text (both languages: it is data, read by everyone)."""
    head = "来电 Inbound call" if state["direction"] == "inbound" else "去电 Outbound call"
    lines = [
        f"{head}: {state['from']} → {state['to']}",
        f"结果 Outcome: {_OUTCOMES[state['outcome']]}",
    ]
    if state["extension"]:
        lines.append(f"分机 Extension: {state['extension']}")
    if state["duration"] is not None:
        minutes, seconds = divmod(int(state["duration"]), 60)
        lines.append(f"时长 Duration: {minutes}:{seconds:02d} ({state['duration']} s)")
    if state["recording_url"]:
        lines.append(f"录音 Recording: {state['recording_url']}")
    lines.append(f"时间 Started: {state['started_at']}")
    return "\n".join(lines)


async def _users(db: AsyncSession, names: set[str]) -> dict[str, int]:
    if not names:
        return {}
    rows = await db.execute(
        select(User.username, User.id).where(User.username.in_(names), User.is_active.is_(True))
    )
    return {name: int(user_id) for name, user_id in rows.all()}


async def pop_targets(db: AsyncSession, settings: CtiSettings, extension: str | None) -> list[int]:
    """The agent of the ringing extension; when it is mapped to nobody, every agent."""
    mapped = settings.extensions
    if extension and extension in mapped:
        users = await _users(db, {mapped[extension]})
    else:
        users = await _users(db, set(mapped.values()))
    return sorted(set(users.values()))


async def _pop(
    db: AsyncSession,
    channel: Channel,
    settings: CtiSettings,
    call: CallEvent,
    customer_id: int,
    ticket_id: int | None,
) -> list[int]:
    """Send the screen pop of a ringing call to its agents' open pages (on commit)."""
    to = await intake.target(db, channel)
    customers = to.customers
    name_column = customers.column(to.spec.customer.name)
    name = (
        await db.execute(select(name_column).where(customers.table.c.id == customer_id))
    ).scalar_one_or_none()
    app_key = to.app.app_key
    tickets = f"/apps/{app_key}/forms/{to.tickets.form.key}/records"
    data = {
        "call_id": call.call_id,
        "from": call.from_,
        "to": call.to,
        "extension": call.extension,
        "at": call.at.isoformat(),
        "app": app_key,
        "channel": channel.key,
        "customer_id": customer_id,
        "customer_name": name,
        "url": f"/apps/{app_key}/forms/{customers.form.key}/records/{customer_id}",
        "ticket_id": ticket_id,
        "ticket_url": f"{tickets}/{ticket_id}" if ticket_id is not None else None,
    }
    users = await pop_targets(db, settings, call.extension)
    await bus.publish(db, users, POP_EVENT, data)
    return users


async def pop_caller(db: AsyncSession, channel: Channel, call: CallEvent) -> list[int] | None:
    """The screen pop of a ringing call, before the call is logged: the caller's customer is
    found — or created, for a new caller — and the pop published (the caller commits both at
    once, so the page pops while the call log and the app's rules on the ticket are still being
    written); None for other events and repeats."""
    if call.event != "ringing" or call.direction != "inbound":
        return None
    if await intake.is_duplicate(db, channel, external_of(call)):
        return None
    customer_id, _created = await intake.ensure_customer(
        db, channel, Identity(phone=customer_number(call))
    )
    settings = channels.settings_of(channel)
    assert isinstance(settings, CtiSettings)
    return await _pop(db, channel, settings, call, customer_id, None)


async def receive(
    db: AsyncSession,
    channel: Channel,
    call: CallEvent,
    raw: bytes,
    *,
    reprocess: ChannelMessage | None = None,
    popped: list[int] | None = None,
) -> CallAccepted:
    """Take in one call event (see the module docstring); the caller commits. ``popped``: the
    users :func:`pop_caller` already sent the screen pop to."""
    external = external_of(call)
    if await intake.is_duplicate(db, channel, external):
        return CallAccepted(status="duplicate")
    await _lock(db, channel, call.call_id)
    if await intake.is_duplicate(db, channel, external):
        return CallAccepted(status="duplicate")
    settings = channels.settings_of(channel)
    assert isinstance(settings, CtiSettings)
    thread = thread_of(channel, call.call_id)
    logged = await _call_log(db, channel, thread)
    events = _events(logged, call)
    body = body_of(summary(events))
    first = next((m for m in logged if m.communication_id is not None), None)
    if first is None:
        number = customer_number(call)
        done = await intake.ingest(
            db,
            channel,
            Inbound(
                channel=CHANNEL,
                identity=Identity(phone=number),
                body=body,
                subject=("来电 Call from " if call.direction == "inbound" else "去电 Call to ")
                + number,
                external_id=external,
                thread_key=thread,
                join_open=settings.ticket == "open",
                sender=call.from_,
                recipient=call.to,
                raw=raw,
                received_at=call.at,
            ),
        )
        result = CallAccepted(
            status="accepted",
            customer_id=done.customer_id,
            ticket_id=done.ticket_id,
            communication_id=done.communication_id,
        )
        if call.direction == "outbound":
            await _rewrite(db, channel, done.communication_id, body, outbound=True)
    else:
        assert first.communication_id is not None
        await _rewrite(db, channel, first.communication_id, body)
        result = CallAccepted(
            status="accepted",
            customer_id=first.customer_id,
            ticket_id=first.ticket_id,
            communication_id=first.communication_id,
        )
        columns = {
            "status": ACCEPTED,
            "code": None,
            "detail": None,
            "thread_key": thread,
            "customer_id": first.customer_id,
            "ticket_id": first.ticket_id,
            "communication_id": first.communication_id,
            "raw": raw,
        }
        earlier = reprocess or await _logged_event(db, channel, external)
        if earlier is not None:  # quarantined before (a retry after its cause was fixed)
            await db.execute(
                update(ChannelMessage).where(ChannelMessage.id == earlier.id).values(**columns)
            )
        else:
            db.add(
                ChannelMessage(
                    app_id=channel.app_id,
                    channel_id=channel.id,
                    direction=IN,
                    external_id=external,
                    created_at=utcnow(),
                    **columns,
                )
            )
            await db.flush()
    if call.event == "ringing" and call.direction == "inbound":
        if popped is None:
            assert result.customer_id is not None
            popped = await _pop(db, channel, settings, call, result.customer_id, result.ticket_id)
        result.popped = popped
    return result


async def _rewrite(
    db: AsyncSession, channel: Channel, record_id: int, body: str, *, outbound: bool = False
) -> None:
    to = await intake.target(db, channel)
    messages = to.messages
    version = (
        await db.execute(
            select(messages.table.c.row_version).where(messages.table.c.id == record_id)
        )
    ).scalar_one_or_none()
    if version is None:  # the call log was deleted: keep logging the events
        return
    values: dict[str, Any] = {to.spec.message.body: body}
    if outbound:
        values[to.spec.message.direction] = to.spec.message.outbound
    await RecordWriter(db, messages, None, source=intake.SOURCE).update(record_id, version, values)


# --- click-to-call ------------------------------------------------------------------------------


def extension_of(settings: CtiSettings, username: str) -> str | None:
    return next((ext for ext, name in settings.extensions.items() if name == username), None)


async def place_call(
    db: AsyncSession,
    principal: Principal,
    app_id: int,
    key: str,
    body: CallIn,
    settings: Settings,
) -> CallOut:
    """Ask the telephony system to connect the agent's extension to ``body.to`` (a signed
    webhook through the egress policy); the attempt is logged in the channel's log and in the
    webhook delivery log. The caller commits."""
    channel = await channels.get_channel(db, app_id, key)
    if channel.kind != KIND:
        raise ProblemError("channel_not_found", params={"key": key})
    if not channel.enabled:
        raise ProblemError("channel_disabled", params={"key": key})
    cti = channels.settings_of(channel)
    assert isinstance(cti, CtiSettings)
    if not cti.call_url:
        raise ProblemError("cti_no_call_url", params={"key": key})
    extension = extension_of(cti, principal.user.username)
    if extension is None:
        raise ProblemError("cti_no_extension", params={"key": key})
    app_key = (await db.execute(select(App.key).where(App.id == app_id))).scalar_one()
    call_id = uuid.uuid4().hex
    payload = {
        "action": "call",
        "call_id": call_id,
        "extension": extension,
        "from": extension,
        "to": body.to,
        "record": body.record,
        "requested_by": principal.user.username,
        "at": datetime.now().astimezone().isoformat(),
    }
    secret_name = None
    if cti.call_secret:
        secret_name = f"cti:{channel.id}"
        settings = settings.model_copy(
            update={"webhook_secrets": {**settings.webhook_secrets, secret_name: cti.call_secret}}
        )
    journal: list[Any] = []
    call = webhooks.WebhookCall(
        url=cti.call_url,
        method="POST",
        idempotency_key=f"cti-call-{call_id}",
        secret_name=secret_name,
        body=payload,
    )
    source = webhooks.Source(kind="channel", key=f"{app_key}/{key}")
    try:
        answer = await webhooks.deliver(call, source, settings, journal.append)
    except webhooks.WebhookError as exc:
        for statement in journal:
            await db.execute(statement)
        await intake.log_outbound(
            db,
            channel,
            external_id=f"call:{call_id}",
            thread_key=None,
            ticket_id=None,
            customer_id=None,
            communication_id=None,
            status=FAILED,
            code="cti.call_failed",
            detail=f"{body.to} from {extension}: {exc}",
        )
        await db.commit()
        raise ProblemError("cti_call_failed", detail=str(exc)[:500]) from None
    for statement in journal:
        await db.execute(statement)
    await intake.log_outbound(
        db,
        channel,
        external_id=f"call:{call_id}",
        thread_key=None,
        ticket_id=None,
        customer_id=None,
        communication_id=None,
        detail=f"{body.to} from {extension}",
    )
    return CallOut(
        call_id=call_id,
        status="sent",
        extension=extension,
        to=body.to,
        status_code=answer.status_code,
        answer=answer.parsed(),
    )


async def my_phones(
    db: AsyncSession, principal: Principal, app_key: str, form_key: str | None
) -> dict[str, Any]:
    """The app's enabled telephony channels with an extension of the user, and the phone
    fields of the form (none when the user has no extension: nothing to show)."""
    rows = await db.execute(
        select(Channel)
        .join(App, App.id == Channel.app_id)
        .where(App.key == app_key, Channel.kind == KIND, Channel.enabled.is_(True))
        .order_by(Channel.key)
    )
    found = []
    for channel in rows.scalars():
        extension = extension_of(
            CtiSettings.model_construct(**channel.settings), principal.user.username
        )
        if extension is not None and channel.settings.get("call_url"):
            found.append(
                {
                    "app_id": channel.app_id,
                    "key": channel.key,
                    "name": channel.name,
                    "extension": extension,
                }
            )
    fields: list[str] = []
    if found and form_key:
        try:
            handle = await resolve(db, app_key, form_key)
        except ProblemError:
            handle = None
        if handle is not None:
            fields = [f.key for f in handle.form.fields if f.type == "phone"]
    return {"channels": found, "fields": fields}
