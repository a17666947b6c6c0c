"""The ``email`` channel kind: its poll job (IMAP → intake) and its send job (reply → SMTP).

Polling: ``email.poll`` runs per mailbox, one chain of jobs at a time (``state.poll_chain``,
renewed when the channel is saved; a job of an older chain stops). It takes the UIDs past
``state.last_uid`` (reset when the folder's UIDVALIDITY changes; a message fetched again is a
duplicate by its Message-ID), at most ``max_messages``; with none new and IDLE offered it waits
in IDLE (bounded), then schedules the next poll (at once after IDLE, else after
``poll_seconds``). Each message is its own transaction — taken in, ignored or quarantined —
and ``last_uid`` moves past it in that same transaction: a crash loses nothing and repeats
nothing. A mailbox that cannot be reached is noted in ``state.last_error`` and polled again.

Sending: :meth:`EmailKind.deliver` enqueues ``email.send`` in the reply's transaction; the job
sends over SMTP (TLS implicit or STARTTLS) with a Message-ID stable across retries, the
thread's In-Reply-To/References, the ticket number in the subject and the agent's signature,
and logs ``sent`` (or ``failed`` once the server refuses for good or the retries run out).
"""

from __future__ import annotations

import asyncio
import html
import smtplib
import time
import uuid
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import formataddr, formatdate
from typing import Any, ClassVar

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from runtime.auth.models import User
from runtime.channels import intake
from runtime.channels.email.imap import Fetched, Mailbox, MailboxError, tls_context
from runtime.channels.email.parse import Refused, header, ids, parse
from runtime.channels.email.settings import SECRET_FIELDS, MailboxSettings
from runtime.channels.intake import Inbound, Outbound
from runtime.channels.models import (
    ACCEPTED,
    FAILED,
    IGNORED,
    IN,
    QUARANTINED,
    Channel,
    ChannelMessage,
)
from runtime.channels.registry import ChannelKind
from runtime.channels.secrets import SecretsUnreadable
from runtime.channels.service import secrets_of, settings_of
from runtime.db import utcnow
from runtime.errors import ProblemError
from runtime.files.models import StoredFile
from runtime.files.storage import active_storage
from runtime.jobs import queue
from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers
from runtime.records.writer import commit_and_dispatch

POLL_JOB, SEND_JOB = "email.poll", "email.send"
SEND_ATTEMPTS = 8
RATE_WINDOW = 3600.0


class EmailKind(ChannelKind):
    type: ClassVar[str] = "email"
    label = ("E-mail", "电子邮件")
    settings_model = MailboxSettings
    secret_fields = SECRET_FIELDS
    delivers = True

    async def saved(self, db: AsyncSession, channel: Channel) -> None:
        chain = uuid.uuid4().hex[:16]
        channel.state = {**(channel.state or {}), "poll_chain": chain}
        await db.flush()
        await queue.enqueue(
            db,
            POLL_JOB,
            {"channel": channel.id, "chain": chain},
            idempotency_key=f"{POLL_JOB}:{channel.id}:{chain}:0",
        )

    async def deliver(self, db: AsyncSession, channel: Channel, message: Outbound) -> None:
        await queue.enqueue(
            db,
            SEND_JOB,
            {
                "channel": channel.id,
                "communication": message.communication_id,
                "ticket": message.ticket_id,
                "customer": message.customer_id,
                "author": message.author_id,
                "body": message.body,
                "files": list(message.files),
                "thread": list(message.thread),
            },
            idempotency_key=f"{SEND_JOB}:{channel.id}:{message.communication_id}",
            max_attempts=SEND_ATTEMPTS,
        )

    async def reprocess(self, db: AsyncSession, channel: Channel, logged: ChannelMessage) -> Any:
        raw = logged.raw
        if raw is None and logged.raw_file_id is not None:
            stored = await db.get(StoredFile, logged.raw_file_id)
            if stored is not None:
                raw = active_storage().path_for(stored.key).read_bytes()
        if raw is None:
            raise NotImplementedError
        parsed = parse(raw, settings_of(channel))
        if isinstance(parsed, Inbound):
            return await intake.ingest(db, channel, parsed)
        logged.status, logged.code, logged.detail = parsed.status, parsed.code, parsed.detail
        await db.flush()
        return None


# --- receiving ----------------------------------------------------------------------------------


async def _locked(db: AsyncSession, channel_id: int) -> Channel | None:
    query = select(Channel).where(Channel.id == channel_id).with_for_update()
    return (await db.execute(query)).scalar_one_or_none()


def _rate_ok(
    state: dict[str, Any], sender: str, cap: int, now: float
) -> tuple[bool, dict[str, list[float]]]:
    """Whether ``sender`` is under the hourly cap, and the senders' windows with this one."""
    windows = {
        s: [t for t in times if now - t < RATE_WINDOW]
        for s, times in (state.get("senders") or {}).items()
    }
    windows = {s: times for s, times in windows.items() if times}
    mine = windows.get(sender, [])
    if len(mine) >= cap:
        return False, windows
    windows[sender] = [*mine, now]
    return True, windows


async def take(
    sessions: async_sessionmaker[AsyncSession],
    channel_id: int,
    settings: MailboxSettings,
    fetched: Fetched,
    uidvalidity: int,
) -> str:
    """Take one fetched message in its own transaction, moving ``last_uid`` past it; what it
    became (accepted, duplicate, ignored, quarantined)."""
    if fetched.truncated:
        head = BytesHeaderParser(policy=policy.default).parsebytes(fetched.raw)
        found = ids(header(head, "Message-ID"))
        parsed: Inbound | Refused = Refused(
            QUARANTINED,
            "mail.too_large",
            f"{fetched.size} bytes (at most {settings.max_message_bytes}); the headers are "
            f"kept here, the message stays on the server (UID {fetched.uid})",
            found[0] if found else f"<uid.{uidvalidity}.{fetched.uid}@tangram.invalid>",
        )
    else:
        parsed = parse(fetched.raw, settings)
    try:
        async with sessions() as db:
            return await _take(db, channel_id, settings, fetched, uidvalidity, parsed)
    except Exception as exc:
        if isinstance(parsed, Refused):
            raise
        # The intake refused it (a mapping, a field's check): keep it, go on with the next.
        refused = Refused(
            QUARANTINED,
            "mail.rejected",
            f"{type(exc).__name__}: {exc}"[:4000],
            parsed.external_id,
        )
        async with sessions() as db:
            return await _take(db, channel_id, settings, fetched, uidvalidity, refused)


async def _take(
    db: AsyncSession,
    channel_id: int,
    settings: MailboxSettings,
    fetched: Fetched,
    uidvalidity: int,
    parsed: Inbound | Refused,
) -> str:
    channel = await _locked(db, channel_id)
    if channel is None:
        return "gone"
    state = dict(channel.state or {})
    if (
        int(state.get("uidvalidity") or 0) == uidvalidity
        and int(state.get("last_uid") or 0) >= fetched.uid
    ):
        return "seen"  # taken by a poll running at the same time (the channel was just saved)
    outcome: str
    if isinstance(parsed, Inbound):
        allowed, windows = _rate_ok(
            state, parsed.sender or "", settings.sender_cap_per_hour, time.time()
        )
        state["senders"] = windows
        if allowed:
            result = await intake.ingest(db, channel, parsed)
            outcome = "duplicate" if result.duplicate else "accepted"
        else:
            await intake.log(
                db,
                channel,
                status=IGNORED,
                code="mail.rate_limited",
                detail=f"more than {settings.sender_cap_per_hour} an hour from {parsed.sender}",
                raw=parsed.raw,
                external_id=parsed.external_id,
                thread_key=parsed.thread_key,
            )
            outcome = IGNORED
    else:
        await intake.log(
            db,
            channel,
            status=parsed.status,
            code=parsed.code,
            detail=parsed.detail,
            raw=fetched.raw,
            external_id=parsed.external_id,
            thread_key=parsed.thread_key,
        )
        outcome = parsed.status
    state.update(last_uid=fetched.uid, uidvalidity=uidvalidity)
    channel.state = state
    await commit_and_dispatch(db)
    return outcome


async def _note(sessions: async_sessionmaker[AsyncSession], channel_id: int, **values: Any) -> None:
    async with sessions() as db:
        channel = await _locked(db, channel_id)
        if channel is not None:
            channel.state = {**(channel.state or {}), **values}
            await db.commit()


async def poll_once(
    sessions: async_sessionmaker[AsyncSession],
    channel_id: int,
    settings: MailboxSettings,
    password: str,
) -> dict[str, Any]:
    """One poll of the mailbox (see the module docstring): what became of what."""
    counts: dict[str, Any] = {}
    mailbox = await asyncio.to_thread(Mailbox, settings, password)
    try:
        async with sessions() as db:
            channel = await db.get(Channel, channel_id)
            state = dict(channel.state or {}) if channel else {}
        last = int(state.get("last_uid") or 0)
        if int(state.get("uidvalidity") or 0) != mailbox.uidvalidity:
            last = 0  # a new folder generation: every UID is new (repeats are duplicates)
            await _note(sessions, channel_id, last_uid=0, uidvalidity=mailbox.uidvalidity)
        uids = await asyncio.to_thread(mailbox.new_uids, last)
        idled = False
        if not uids and settings.idle and mailbox.can_idle:
            idled = True
            if await asyncio.to_thread(mailbox.idle, settings.idle_seconds):
                uids = await asyncio.to_thread(mailbox.new_uids, last)
        counts["idle"] = idled
        counts["more"] = len(uids) > settings.max_messages
        for uid in uids[: settings.max_messages]:
            fetched = await asyncio.to_thread(mailbox.fetch, uid)
            outcome = await take(sessions, channel_id, settings, fetched, mailbox.uidvalidity)
            counts[outcome] = counts.get(outcome, 0) + 1
    finally:
        await asyncio.to_thread(mailbox.close)
    return counts


@handlers.register(POLL_JOB, max_attempts=3, timeout_seconds=900)
async def poll(ctx: JobContext) -> dict[str, Any]:
    channel_id, chain = int(ctx.payload["channel"]), ctx.payload.get("chain")
    sessions = async_sessionmaker(ctx.session.bind, expire_on_commit=False)
    async with sessions() as db:
        channel = await db.get(Channel, channel_id)
        if (
            channel is None
            or not channel.enabled
            or channel.kind != EmailKind.type
            or (channel.state or {}).get("poll_chain") != chain
        ):
            return {"stopped": True}
        try:
            settings = settings_of(channel)
            password = secrets_of(channel).get("imap_password", "")
        except (SecretsUnreadable, ProblemError, ValidationError) as exc:
            # Saved with another installation secret, or settings no longer valid: polling
            # resumes when the channel is saved again.
            await _note(sessions, channel_id, last_error=f"settings: {exc}"[:1000])
            return {"stopped": True, "error": str(exc)}
    try:
        counts = await poll_once(sessions, channel_id, settings, password)
        await _note(sessions, channel_id, last_error=None, polled_at=utcnow().isoformat())
    except MailboxError as exc:
        counts = {"error": str(exc)}
        await _note(sessions, channel_id, last_error=str(exc)[:1000])
    delay = 0 if counts.get("idle") or counts.get("more") else settings.poll_seconds
    await queue.enqueue(
        ctx.session,
        POLL_JOB,
        {"channel": channel_id, "chain": chain},
        run_at=utcnow() + timedelta(seconds=delay),
        idempotency_key=f"{POLL_JOB}:{channel_id}:{chain}:{ctx.job_id}",
    )
    return counts


# --- sending ------------------------------------------------------------------------------------


class Permanent(Exception):
    """The server or the data refuses for good: retrying would not help."""


def signature(settings: MailboxSettings, author: User | None) -> str:
    name = (author.display_name or author.username) if author is not None else ""
    own = (author.attributes or {}).get("email_signature") if author is not None else None
    if isinstance(own, str) and own.strip():
        return own.strip()
    return settings.signature.replace("{agent}", name or settings.from_name).strip()


def compose(
    settings: MailboxSettings,
    *,
    recipient: str,
    subject: str,
    body: str,
    sign: str,
    message_id: str,
    thread: list[str],
    files: list[tuple[str, str, bytes]],
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = (
        formataddr((settings.from_name, settings.sender))
        if settings.from_name
        else (settings.sender)
    )
    mail["To"] = recipient
    mail["Subject"] = " ".join(subject.split())
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = message_id
    references = [k for k in thread if k.startswith("<") and k.endswith(">")]
    if references:
        mail["In-Reply-To"] = references[-1]
        mail["References"] = " ".join(references[-20:])
    mail["Auto-Submitted"] = "no"
    text = f"{body.strip()}\n\n-- \n{sign}\n" if sign else f"{body.strip()}\n"
    mail.set_content(text)
    paragraphs = "".join(
        f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.strip().split("\n\n")
    )
    signed = (
        f'<div class="signature">-- <br>{html.escape(sign).replace(chr(10), "<br>")}</div>'
        if sign
        else ""
    )
    mail.add_alternative(f"<!doctype html><html><body>{paragraphs}{signed}</body></html>", "html")
    for filename, content_type, data in files:
        main, _, sub = content_type.partition("/")
        mail.add_attachment(
            data, maintype=main or "application", subtype=sub or "octet-stream", filename=filename
        )
    return mail


def smtp_send(settings: MailboxSettings, password: str | None, mail: EmailMessage) -> None:
    client: smtplib.SMTP
    try:
        if settings.smtp_security == "ssl":
            client = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=30, context=tls_context(settings)
            )
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=tls_context(settings))
            if settings.smtp_user:
                client.login(settings.smtp_user, password or "")
            client.send_message(mail, from_addr=settings.sender, to_addrs=[str(mail["To"])])
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise Permanent(f"recipient refused: {exc.recipients}") from exc
        raise
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPAuthenticationError):
            raise Permanent(f"{exc.smtp_code} {exc.smtp_error!r}") from exc
        raise


async def _reply_parts(
    db: AsyncSession, channel: Channel, payload: dict[str, Any]
) -> tuple[str, str]:
    """The customer's address and the reply's subject (the ticket's, with its number)."""
    to = await intake.target(db, channel)
    customers, tickets = to.customers, to.tickets
    recipient = None
    if payload.get("customer") is not None and to.spec.customer.email is not None:
        column = customers.column(to.spec.customer.email)
        found = await db.execute(
            select(column).where(customers.table.c.id == int(payload["customer"]))
        )
        recipient = intake.normal_email(found.scalar_one_or_none())
    if recipient is None:
        raise Permanent("the customer has no e-mail address")
    columns = [tickets.column(to.spec.ticket.subject)]
    if to.spec.ticket.number is not None:
        columns.append(tickets.column(to.spec.ticket.number))
    row = (
        await db.execute(select(*columns).where(tickets.table.c.id == int(payload["ticket"])))
    ).one_or_none()
    subject = str(row[0] or "") if row else ""
    number = str(row[1] or "") if row is not None and len(row) > 1 else ""
    if number and number not in subject:
        subject = f"[{number}] {subject}"
    return recipient, f"Re: {subject}".strip()


async def _thread(db: AsyncSession, channel: Channel, ticket_id: int, keys: list[str]) -> list[str]:
    """The References of a reply: the customer's last mail's References, then the thread."""
    raw = (
        await db.execute(
            select(ChannelMessage.raw)
            .where(
                ChannelMessage.channel_id == channel.id,
                ChannelMessage.ticket_id == ticket_id,
                ChannelMessage.direction == IN,
                ChannelMessage.status == ACCEPTED,
                ChannelMessage.raw.is_not(None),
            )
            .order_by(ChannelMessage.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    earlier: list[str] = []
    if raw:
        head = BytesHeaderParser(policy=policy.default).parsebytes(raw)
        earlier = ids(header(head, "References"))
    return list(dict.fromkeys([*earlier, *keys]))


async def _files(db: AsyncSession, app_id: int, ids_: list[int]) -> list[tuple[str, str, bytes]]:
    if not ids_:
        return []
    rows = await db.execute(
        select(StoredFile)
        .where(
            StoredFile.id.in_(ids_),
            or_(StoredFile.app_id == app_id, StoredFile.app_id.is_(None)),
        )
        .order_by(StoredFile.id)
    )
    storage = active_storage()
    return [
        (f.filename, f.content_type, storage.path_for(f.key).read_bytes()) for f in rows.scalars()
    ]


@handlers.register(SEND_JOB, max_attempts=SEND_ATTEMPTS)
async def send(ctx: JobContext) -> dict[str, Any]:
    db, payload = ctx.session, ctx.payload
    channel = await db.get(Channel, int(payload["channel"]))
    if channel is None:
        return {"sent": False, "detail": "the channel is gone"}
    settings = settings_of(channel)
    domain = settings.sender.rpartition("@")[2] or "localhost"
    message_id = f"<tangram.{channel.id}.{payload['communication']}@{domain}>"
    ticket_id, customer_id = int(payload["ticket"]), payload.get("customer")

    async def logged(status: str, detail: str | None = None, code: str | None = None) -> None:
        await intake.log_outbound(
            db,
            channel,
            external_id=message_id,
            thread_key=message_id,
            ticket_id=ticket_id,
            customer_id=customer_id,
            communication_id=int(payload["communication"]),
            status=status,
            detail=detail,
            code=code,
        )

    try:
        recipient, subject = await _reply_parts(db, channel, payload)
        author = await db.get(User, int(payload["author"])) if payload.get("author") else None
        mail = compose(
            settings,
            recipient=recipient,
            subject=subject,
            body=str(payload.get("body") or ""),
            sign=signature(settings, author),
            message_id=message_id,
            thread=await _thread(
                db, channel, ticket_id, [str(k) for k in payload.get("thread") or []]
            ),
            files=await _files(db, channel.app_id, [int(i) for i in payload.get("files") or []]),
        )
        password = secrets_of(channel).get("smtp_password")
        await asyncio.to_thread(smtp_send, settings, password, mail)
    except Permanent as exc:
        await logged(FAILED, str(exc), "mail.refused")
        return {"sent": False, "detail": str(exc)}
    except Exception as exc:
        if ctx.attempt >= SEND_ATTEMPTS:
            await logged(FAILED, f"gave up after {ctx.attempt} attempts: {exc}", "mail.gave_up")
            return {"sent": False, "detail": str(exc)}
        raise
    await logged("sent")
    return {"sent": True, "to": recipient, "message_id": message_id}
