"""Messages in: one customer per person across channels, one ticket per conversation.

:func:`ingest` takes a message a channel received (a mail, a WeChat message, a chat, a call)
and, in the caller's transaction, through the one write path (so the app's rules and flows
run as for any record):

1. drops it as a duplicate when the channel already took in a message with the same
   ``external_id`` (a retried callback, a mail fetched twice) — nothing is written;
2. finds the customer by WeChat openid, e-mail or phone (in that order), or creates one;
3. finds the ticket: the one a message of the same thread went to (``thread_keys``: a mail's
   ``In-Reply-To``/``References``), else the customer's ticket whose number the subject names,
   else (``join_open``) the customer's newest open ticket, else a new one — a thread whose
   ticket is neither open nor in a ``reopen`` status (closed) opens a new ticket;
4. appends the message (direction inbound) with its attachments, stored in the file store;
5. logs it in ``channel_messages`` with what it became.

What the app's forms are called comes from its intake mapping (``builder.apps.intake``).
Messages the channel refuses (malformed, forged, too large) go to :func:`quarantine`: kept
with their raw bytes and a stable code, shown in the channel's log and reprocessable.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.intake import IntakeSpec
from builder.apps.models import App
from engines.form.errors import InvalidValue
from engines.form.types.contact import normalise_phone
from runtime.channels.models import (
    ACCEPTED,
    DUPLICATE,
    IN,
    OUT,
    QUARANTINED,
    RAW_INLINE_BYTES,
    SENT,
    Channel,
    ChannelMessage,
)
from runtime.db import utcnow
from runtime.errors import ProblemError
from runtime.files.models import StoredFile
from runtime.files.storage import active_storage
from runtime.records.forms import FormHandle, PublishedApp, resolve_app
from runtime.records.writer import RecordWriter

#: The longest subject a new ticket takes from a message (the rest stays in the body).
SUBJECT_CHARS = 120
#: The longest body kept in a message record (the raw message keeps everything).
BODY_CHARS = 60_000
SOURCE = "channel"


@dataclass(frozen=True)
class Identity:
    """Who sent a message, as far as the channel knows."""

    email: str | None = None
    phone: str | None = None
    openid: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True)
class Inbound:
    """A message a channel received. ``channel`` is the kind of channel it came by (``email``,
    ``chat``, ``wechat``, ``phone``, ``web``): the intake maps it to the forms' option value."""

    channel: str
    identity: Identity
    body: str
    subject: str | None = None
    #: The channel's id of the message; a second message with the same id is a duplicate.
    external_id: str | None = None
    #: What later messages of the conversation will refer to (a mail's Message-ID).
    thread_key: str | None = None
    #: Earlier messages this one answers (``In-Reply-To``, ``References``).
    thread_keys: tuple[str, ...] = ()
    #: A ticket number found in the subject (joins only the same customer's ticket).
    ticket_number: str | None = None
    attachments: tuple[Attachment, ...] = ()
    sender: str | None = None
    recipient: str | None = None
    #: Join the customer's newest open ticket when the thread names none (chat, WeChat); a
    #: new mail without references opens its own ticket.
    join_open: bool = True
    raw: bytes | None = None
    #: Notes the channel adds to the body (an attachment too large to keep …).
    notes: tuple[str, ...] = ()
    received_at: datetime | None = None


@dataclass
class IntakeResult:
    customer_id: int
    ticket_id: int
    communication_id: int
    created_customer: bool
    created_ticket: bool
    duplicate: bool
    message_id: int


@dataclass(frozen=True)
class Outbound:
    """An agent's reply to send back through the channel a ticket came by."""

    app_key: str
    communication_id: int
    ticket_id: int
    customer_id: int | None
    author_id: int | None
    body: str
    #: File ids of the reply's attachments.
    files: tuple[int, ...] = ()
    #: Thread keys of the ticket's messages so far, oldest first (a mail's References).
    thread: tuple[str, ...] = ()
    #: The customer's address on this channel (their e-mail, openid …) as last seen.
    address: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """An app's intake mapping with the handles of its three forms."""

    app: PublishedApp
    spec: IntakeSpec
    customers: FormHandle
    tickets: FormHandle
    messages: FormHandle


async def target(db: AsyncSession, channel: Channel) -> Target:
    """The published app of ``channel`` and its intake mapping (422 ``no_intake`` without)."""
    app_key = (await db.execute(select(App.key).where(App.id == channel.app_id))).scalar_one()
    return await target_of(db, app_key, channel.intake)


async def target_of(db: AsyncSession, app_key: str, intake: str | None = None) -> Target:
    app = await resolve_app(db, app_key)
    specs = app.definition.intake
    spec = next((s for s in specs if s.key == intake), None) if intake else None
    if spec is None and intake is None and specs:
        spec = specs[0]
    if spec is None:
        raise ProblemError("no_intake", params={"intake": intake or ""})
    return Target(
        app,
        spec,
        app.handles[spec.customer.form],
        app.handles[spec.ticket.form],
        app.handles[spec.message.form],
    )


# --- customers ----------------------------------------------------------------------------------


def normal_email(raw: str | None) -> str | None:
    text = (raw or "").strip().lower()
    return text if "@" in text and len(text) <= 320 else None


def normal_phone(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return normalise_phone(raw)
    except InvalidValue:
        digits = re.sub(r"[^\d+]", "", raw)
        return digits[:20] or None


async def find_customer(db: AsyncSession, to: Target, identity: Identity) -> int | None:
    """The customer with the identity's openid, else e-mail, else phone (the oldest when
    several match one way; merging duplicates is ``runtime.records.merge``)."""
    mapping = to.spec.customer
    table = to.customers.table
    ways = [
        (mapping.openid, (identity.openid or "").strip() or None),
        (mapping.email, normal_email(identity.email)),
        (mapping.phone, normal_phone(identity.phone)),
    ]
    for key, value in ways:
        if key is None or value is None:
            continue
        column = to.customers.column(key)
        test = func.lower(column) == value if key == mapping.email else column == value
        found = (
            await db.execute(
                select(table.c.id)
                .where(test, table.c.deleted_at.is_(None))
                .order_by(table.c.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        if found is not None:
            return int(found)
    return None


async def _serialise(db: AsyncSession, to: Target, identity: Identity) -> None:
    """On PostgreSQL, one message per identity at a time (two first messages of a new customer
    arriving together must not make two customers); SQLite writers are serial already."""
    if db.bind.dialect.name != "postgresql":
        return
    values = [
        f"openid:{(identity.openid or '').strip()}" if identity.openid else None,
        f"email:{normal_email(identity.email)}" if normal_email(identity.email) else None,
        f"phone:{normal_phone(identity.phone)}" if normal_phone(identity.phone) else None,
    ]
    for value in sorted(v for v in values if v):  # one order everywhere: no deadlocks
        digest = hashlib.sha256(f"tangram-intake:{to.app.app_id}:{value}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        await db.execute(select(func.pg_advisory_xact_lock(key)))


async def _create_customer(db: AsyncSession, to: Target, identity: Identity) -> int:
    mapping = to.spec.customer
    email, phone = normal_email(identity.email), normal_phone(identity.phone)
    openid = (identity.openid or "").strip() or None
    name = (identity.name or "").strip() or email or phone or openid or "?"
    values: dict[str, Any] = {mapping.name: name[:200]}
    for key, value in ((mapping.email, email), (mapping.phone, phone), (mapping.openid, openid)):
        if key is not None and value is not None:
            values[key] = value
    record = await _write(db, to.customers, values)
    return int(record["id"])


async def _complete_customer(
    db: AsyncSession, to: Target, customer_id: int, identity: Identity
) -> None:
    """Add what the message tells and the customer lacks (an e-mail to a WeChat customer)."""
    mapping = to.spec.customer
    known = {
        mapping.email: normal_email(identity.email),
        mapping.phone: normal_phone(identity.phone),
        mapping.openid: (identity.openid or "").strip() or None,
    }
    known = {k: v for k, v in known.items() if k is not None and v is not None}
    if not known:
        return
    table = to.customers.table
    row = (
        (await db.execute(select(table).where(table.c.id == customer_id))).mappings().one_or_none()
    )
    if row is None:
        return
    missing = {k: v for k, v in known.items() if row[to.customers.column(k).name] is None}
    if missing:
        try:
            async with db.begin_nested():
                await RecordWriter(db, to.customers, None, source=SOURCE).update(
                    customer_id, row["row_version"], missing
                )
        except ProblemError:
            pass  # another customer holds that openid (a merge candidate): keep the message


# --- tickets ------------------------------------------------------------------------------------


async def _thread_ticket(db: AsyncSession, to: Target, keys: tuple[str, ...]) -> int | None:
    keys = tuple(k for k in keys if k)[:50]
    if not keys:
        return None
    found = (
        await db.execute(
            select(ChannelMessage.ticket_id)
            .where(
                ChannelMessage.app_id == to.app.app_id,
                ChannelMessage.ticket_id.is_not(None),
                or_(ChannelMessage.thread_key.in_(keys), ChannelMessage.external_id.in_(keys)),
            )
            .order_by(ChannelMessage.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return int(found) if found is not None else None


async def _ticket_row(db: AsyncSession, to: Target, ticket_id: int) -> Any:
    table = to.tickets.table
    return (
        (
            await db.execute(
                select(table).where(table.c.id == ticket_id, table.c.deleted_at.is_(None))
            )
        )
        .mappings()
        .one_or_none()
    )


def _joinable(to: Target, row: Any, *, reopen: bool) -> bool:
    """Whether a message may join the ticket: open, or (answering its thread) reopenable."""
    mapping = to.spec.ticket
    if mapping.status is None:
        return True
    status = row[to.tickets.column(mapping.status).name]
    return status in mapping.open or (reopen and status in mapping.reopen)


async def _find_ticket(
    db: AsyncSession, to: Target, message: Inbound, customer_id: int
) -> int | None:
    mapping = to.spec.ticket
    customer_column = to.tickets.column(mapping.customer).name
    thread = await _thread_ticket(db, to, message.thread_keys)
    if thread is not None:
        row = await _ticket_row(db, to, thread)
        if row is not None and _joinable(to, row, reopen=True):
            return thread
    if message.ticket_number and mapping.number is not None:
        table = to.tickets.table
        row = (
            (
                await db.execute(
                    select(table).where(
                        to.tickets.column(mapping.number) == message.ticket_number.strip(),
                        table.c.deleted_at.is_(None),
                    )
                )
            )
            .mappings()
            .first()
        )
        if (
            row is not None
            and row[customer_column] == customer_id
            and _joinable(to, row, reopen=True)
        ):
            return int(row["id"])
    if not message.join_open or mapping.status is None or not mapping.open:
        return None
    table = to.tickets.table
    found = (
        await db.execute(
            select(table.c.id)
            .where(
                to.tickets.column(mapping.customer) == customer_id,
                to.tickets.column(mapping.status).in_(mapping.open),
                table.c.deleted_at.is_(None),
            )
            .order_by(table.c.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return int(found) if found is not None else None


def _subject(message: Inbound) -> str:
    text = " ".join((message.subject or "").split())
    if not text:
        first = next((line.strip() for line in message.body.splitlines() if line.strip()), "")
        text = first or "…"
    return text if len(text) <= SUBJECT_CHARS else text[: SUBJECT_CHARS - 1] + "…"


async def _create_ticket(db: AsyncSession, to: Target, message: Inbound, customer_id: int) -> int:
    mapping = to.spec.ticket
    values: dict[str, Any] = {mapping.customer: customer_id, mapping.subject: _subject(message)}
    if mapping.description is not None:
        values[mapping.description] = _body(message)
    channel_value = to.spec.channel_value(message.channel)
    if mapping.channel is not None and channel_value is not None:
        values[mapping.channel] = channel_value
    record = await _write(db, to.tickets, values)
    return int(record["id"])


# --- messages -----------------------------------------------------------------------------------


def _body(message: Inbound) -> str:
    body = message.body.strip()
    if message.notes:
        body = "\n\n".join([body, *(f"[{note}]" for note in message.notes)]).strip()
    if len(body) > BODY_CHARS:
        body = body[:BODY_CHARS] + "\n[…]"
    return body


async def store_bytes(
    db: AsyncSession, app_id: int, filename: str, content_type: str, data: bytes
) -> int:
    """Put bytes in the file store (deduplicated by content) and add their metadata row, in
    the caller's transaction; the file's id."""
    storage = active_storage()
    staged = storage.stage_bytes(data)
    try:
        storage.publish(staged)
    finally:
        storage.discard(staged)
    name = (filename or "file").replace("/", "_").replace("\\", "_").replace("\x00", "")[:255]
    record = StoredFile(
        key=staged.key,
        filename=name or "file",
        content_type=(content_type or "").replace("\x00", "")[:200] or "application/octet-stream",
        size=staged.size,
        sha256=staged.sha256,
        app_id=app_id,
        created_by=None,
    )
    db.add(record)
    await db.flush()
    return record.id


async def _create_message(
    db: AsyncSession, to: Target, message: Inbound, ticket_id: int, customer_id: int
) -> int:
    mapping = to.spec.message
    values: dict[str, Any] = {
        mapping.ticket: ticket_id,
        mapping.direction: mapping.inbound,
        mapping.body: _body(message) or "…",
    }
    if mapping.customer is not None:
        values[mapping.customer] = customer_id
    channel_value = to.spec.channel_value(message.channel)
    if mapping.channel is not None and channel_value is not None:
        values[mapping.channel] = channel_value
    if mapping.sender is not None and message.sender:
        values[mapping.sender] = message.sender[:200]
    if mapping.recipient is not None and message.recipient:
        values[mapping.recipient] = message.recipient[:200]
    files = []
    if mapping.attachments is not None:
        for item in message.attachments:
            files.append(
                await store_bytes(db, to.app.app_id, item.filename, item.content_type, item.data)
            )
    if files:
        assert mapping.attachments is not None
        try:
            async with db.begin_nested():
                record = await _write(db, to.messages, {**values, mapping.attachments: files})
            return int(record["id"])
        except ProblemError as exc:
            # Files the field refuses (type, size, count): keep the message, say so.
            names = ", ".join(a.filename for a in message.attachments)
            note = f"attachments not kept ({names}): {_reasons(exc)}"
            values[mapping.body] = f"{values[mapping.body]}\n\n[{note}]"
    record = await _write(db, to.messages, values)
    return int(record["id"])


def _reasons(exc: ProblemError) -> str:
    return "; ".join(e.message for e in exc.errors) or exc.code


async def _write(db: AsyncSession, handle: FormHandle, values: dict[str, Any]) -> dict[str, Any]:
    return await RecordWriter(db, handle, None, source=SOURCE).create(values)


# --- the log ------------------------------------------------------------------------------------


async def _logged(db: AsyncSession, channel: Channel, direction: str, external_id: str) -> Any:
    return (
        await db.execute(
            select(ChannelMessage).where(
                ChannelMessage.channel_id == channel.id,
                ChannelMessage.direction == direction,
                ChannelMessage.external_id == external_id,
            )
        )
    ).scalar_one_or_none()


async def _raw_columns(db: AsyncSession, channel: Channel, raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {"raw": None, "raw_file_id": None}
    if len(raw) <= RAW_INLINE_BYTES:
        return {"raw": raw, "raw_file_id": None}
    file_id = await store_bytes(db, channel.app_id, "message.raw", "application/octet-stream", raw)
    return {"raw": None, "raw_file_id": file_id}


def _external(value: str | None) -> str | None:
    return value[:500] if value else None


async def ingest(db: AsyncSession, channel: Channel, message: Inbound) -> IntakeResult:
    """Take in ``message`` (see the module docstring); the caller commits with
    ``runtime.records.writer.commit_and_dispatch``. A repeat of an accepted message is
    reported ``duplicate`` and writes nothing."""
    external_id = _external(message.external_id)
    earlier = await _logged(db, channel, IN, external_id) if external_id else None
    if earlier is not None and earlier.status == ACCEPTED:
        return IntakeResult(
            earlier.customer_id or 0,
            earlier.ticket_id or 0,
            earlier.communication_id or 0,
            False,
            False,
            True,
            earlier.id,
        )
    to = await target(db, channel)
    await _serialise(db, to, message.identity)
    customer_id = await find_customer(db, to, message.identity)
    created_customer = customer_id is None
    if customer_id is None:
        customer_id = await _create_customer(db, to, message.identity)
    else:
        await _complete_customer(db, to, customer_id, message.identity)
    ticket_id = await _find_ticket(db, to, message, customer_id)
    created_ticket = ticket_id is None
    if ticket_id is None:
        ticket_id = await _create_ticket(db, to, message, customer_id)
    communication_id = await _create_message(db, to, message, ticket_id, customer_id)
    columns = {
        "status": ACCEPTED,
        "code": None,
        "detail": None,
        "thread_key": _external(message.thread_key),
        "customer_id": customer_id,
        "ticket_id": ticket_id,
        "communication_id": communication_id,
        **(await _raw_columns(db, channel, message.raw)),
    }
    if earlier is not None:  # a quarantined or ignored message, taken in now
        await db.execute(
            update(ChannelMessage).where(ChannelMessage.id == earlier.id).values(**columns)
        )
        message_id = earlier.id
    else:
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
        message_id = row.id
    return IntakeResult(
        customer_id,
        ticket_id,
        communication_id,
        created_customer,
        created_ticket,
        False,
        message_id,
    )


async def log(
    db: AsyncSession,
    channel: Channel,
    *,
    status: str,
    code: str | None = None,
    detail: str | None = None,
    raw: bytes | None = None,
    external_id: str | None = None,
    direction: str = IN,
    thread_key: str | None = None,
    ticket_id: int | None = None,
    customer_id: int | None = None,
    communication_id: int | None = None,
) -> int:
    """Log a message that was not (or not yet) taken in, or one sent; a message already logged
    under the same external id keeps its first entry (its id is returned)."""
    external_id = _external(external_id)
    if external_id is not None:
        earlier = await _logged(db, channel, direction, external_id)
        if earlier is not None:
            return int(earlier.id)
    row = ChannelMessage(
        app_id=channel.app_id,
        channel_id=channel.id,
        direction=direction,
        external_id=external_id,
        thread_key=_external(thread_key),
        status=status,
        code=code,
        detail=(detail or "")[:4000] or None,
        ticket_id=ticket_id,
        customer_id=customer_id,
        communication_id=communication_id,
        created_at=utcnow(),
        **(await _raw_columns(db, channel, raw)),
    )
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:  # logged concurrently by a retry of the same message
        earlier = await _logged(db, channel, direction, external_id or "")
        return int(earlier.id) if earlier is not None else 0
    return int(row.id)


async def quarantine(
    db: AsyncSession,
    channel: Channel,
    *,
    code: str,
    detail: str,
    raw: bytes | None,
    external_id: str | None = None,
) -> int:
    """Keep a message the channel refused (malformed, forged, too large) for inspection."""
    return await log(
        db, channel, status=QUARANTINED, code=code, detail=detail, raw=raw, external_id=external_id
    )


async def log_outbound(
    db: AsyncSession,
    channel: Channel,
    *,
    external_id: str | None,
    thread_key: str | None,
    ticket_id: int | None,
    customer_id: int | None,
    communication_id: int | None,
    status: str = SENT,
    detail: str | None = None,
    code: str | None = None,
) -> int:
    return await log(
        db,
        channel,
        status=status,
        code=code,
        detail=detail,
        external_id=external_id,
        direction=OUT,
        thread_key=thread_key,
        ticket_id=ticket_id,
        customer_id=customer_id,
        communication_id=communication_id,
    )


async def is_duplicate(db: AsyncSession, channel: Channel, external_id: str) -> bool:
    """Whether a message with this id was already taken in (answer a retried callback fast)."""
    earlier = await _logged(db, channel, IN, _external(external_id) or "")
    return earlier is not None and earlier.status in (ACCEPTED, DUPLICATE)


async def append(
    db: AsyncSession, channel: Channel, message: Inbound, customer_id: int, ticket_id: int | None
) -> IntakeResult:
    """Add a later message of a conversation the channel follows itself (a web chat knows its
    visitor's customer and ticket) to the ticket while it is open or reopenable, else to a new
    ticket of the same customer; logged like :func:`ingest`'s messages."""
    to = await target(db, channel)
    await _complete_customer(db, to, customer_id, message.identity)
    row = await _ticket_row(db, to, ticket_id) if ticket_id is not None else None
    if row is not None and row[to.tickets.column(to.spec.ticket.customer).name] != customer_id:
        row = None  # the customer was merged away or the ticket moved: start afresh
    created_ticket = row is None or not _joinable(to, row, reopen=True)
    if created_ticket or ticket_id is None:
        ticket_id = await _create_ticket(db, to, message, customer_id)
    communication_id = await _create_message(db, to, message, ticket_id, customer_id)
    row_id = await log(
        db,
        channel,
        status=ACCEPTED,
        raw=message.raw,
        external_id=message.external_id,
        thread_key=message.thread_key,
        ticket_id=ticket_id,
        customer_id=customer_id,
        communication_id=communication_id,
    )
    return IntakeResult(
        customer_id, ticket_id, communication_id, False, created_ticket, False, row_id
    )


async def ensure_customer(
    db: AsyncSession, channel: Channel, identity: Identity
) -> tuple[int, bool]:
    """The customer ``identity`` names, created when there is none (a new WeChat follower);
    whether it was created."""
    to = await target(db, channel)
    await _serialise(db, to, identity)
    found = await find_customer(db, to, identity)
    if found is not None:
        return found, False
    return await _create_customer(db, to, identity), True
