"""Web chat conversations: a visitor's messages become a ticket (or join the customer's open
one) through the intake, later ones are appended to it, agents' replies are message records
on the ticket that the kind's ``deliver`` pushes to the visitor."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.channels import intake
from runtime.channels.chat.hub import announce
from runtime.channels.chat.models import AGENT, VISITOR, ChatConversation, ChatEvent
from runtime.channels.intake import Identity, Inbound, normal_email, normal_phone
from runtime.channels.models import FAILED, Channel
from runtime.db import utcnow
from runtime.records.writer import RecordWriter

KIND = "chat"
#: The longest chat message (characters) and the largest frame a socket takes (bytes).
MAX_BODY = 4000
MAX_FRAME = 16 * 1024


def new_token() -> str:
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def signature(secret: str, email: str) -> str:
    """What a site that knows the visitor signs their e-mail with (HMAC-SHA256, hex)."""
    return hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


async def find_channel(db: AsyncSession, app_key: str, channel_key: str) -> Channel | None:
    return await db.scalar(
        select(Channel)
        .join(App, App.id == Channel.app_id)
        .where(
            App.key == app_key,
            App.deleted_at.is_(None),
            Channel.key == channel_key,
            Channel.kind == KIND,
            Channel.enabled.is_(True),
        )
    )


async def conversation_of(
    db: AsyncSession, channel: Channel, token: str | None
) -> ChatConversation | None:
    if not token or len(token) > 200:
        return None
    return await db.scalar(
        select(ChatConversation).where(
            ChatConversation.channel_id == channel.id,
            ChatConversation.token_hash == token_hash(token),
        )
    )


async def start(db: AsyncSession, channel: Channel) -> tuple[ChatConversation, str]:
    token = new_token()
    now = utcnow()
    conversation = ChatConversation(
        app_id=channel.app_id,
        channel_id=channel.id,
        token_hash=token_hash(token),
        last_seq=0,
        agent_seen_seq=0,
        created_at=now,
        updated_at=now,
    )
    db.add(conversation)
    await db.flush()
    return conversation, token


def profile(
    conversation: ChatConversation,
    name: Any = None,
    email: Any = None,
    phone: Any = None,
) -> dict[str, str]:
    """Take what the visitor told (bad e-mails and phones are errors, per field)."""
    errors: dict[str, str] = {}
    if isinstance(name, str) and name.strip():
        conversation.name = " ".join(name.split())[:200]
    if isinstance(email, str) and email.strip():
        normal = normal_email(email)
        if normal is None:
            errors["email"] = "invalid"
        else:
            conversation.email = normal
    if isinstance(phone, str) and phone.strip():
        normal = normal_phone(phone)
        if normal is None or len(normal) < 5:
            errors["phone"] = "invalid"
        else:
            conversation.phone = normal[:40]
    return errors


async def _next_seq(db: AsyncSession, conversation: ChatConversation) -> int:
    """The conversation's next event number (on PostgreSQL this locks its row: two messages
    of one conversation at once are taken one after the other)."""
    seq = await db.scalar(
        update(ChatConversation)
        .where(ChatConversation.id == conversation.id)
        .values(last_seq=ChatConversation.last_seq + 1, updated_at=utcnow())
        .returning(ChatConversation.last_seq)
    )
    await db.refresh(conversation)
    return int(seq or 0)


async def visitor_message(
    db: AsyncSession, channel: Channel, conversation: ChatConversation, body: str
) -> ChatEvent:
    """The visitor's message on the ticket: the first one through the intake (a new ticket, or
    the customer's open one when their e-mail or phone is known), later ones appended."""
    seq = await _next_seq(db, conversation)
    identity = Identity(
        email=conversation.email,
        phone=conversation.phone,
        name=conversation.name or (None if conversation.email else f"访客 {conversation.id}"),
    )
    message = Inbound(
        channel=KIND,
        identity=identity,
        body=body,
        external_id=f"chat:{conversation.id}:{seq}",
        thread_key=f"chat:{conversation.id}",
        join_open=True,
        sender=conversation.name or conversation.email or conversation.phone,
    )
    if conversation.customer_id is None:
        result = await intake.ingest(db, channel, message)
    else:
        result = await intake.append(
            db, channel, message, conversation.customer_id, conversation.ticket_id
        )
    conversation.customer_id = result.customer_id
    conversation.ticket_id = result.ticket_id
    row = ChatEvent(
        conversation_id=conversation.id,
        seq=seq,
        author=VISITOR,
        author_name=conversation.name,
        body=body,
        communication_id=result.communication_id,
        created_at=utcnow(),
    )
    db.add(row)
    await db.flush()
    await announce(db, {"t": "event", "c": conversation.id, "s": seq})
    return row


async def agent_reply(
    db: AsyncSession,
    principal: Principal,
    channel: Channel,
    conversation: ChatConversation,
    body: str,
) -> int:
    """An agent's reply: an outbound message record on the conversation's ticket, written with
    the agent's rights; the reply hook hands it to ``deliver`` (the visitor gets it then)."""
    to = await intake.target(db, channel)
    mapping = to.spec.message
    values: dict[str, Any] = {
        mapping.ticket: conversation.ticket_id,
        mapping.direction: mapping.outbound,
        mapping.body: body,
    }
    if mapping.customer is not None and conversation.customer_id is not None:
        values[mapping.customer] = conversation.customer_id
    channel_value = to.spec.channel_value(KIND)
    if mapping.channel is not None and channel_value is not None:
        values[mapping.channel] = channel_value
    db.info["chat_conversation"] = conversation.id
    record = await RecordWriter(db, to.messages, principal, source=KIND).create(values)
    return int(record["id"])


async def deliver(db: AsyncSession, channel: Channel, outbound: intake.Outbound) -> None:
    """Put an agent's reply (from the chat page or the ticket page) in the conversation of the
    ticket — the one it was written in, else the latest on this channel — and announce it."""
    wanted = db.info.pop("chat_conversation", None)
    query = select(ChatConversation).where(
        ChatConversation.channel_id == channel.id,
        ChatConversation.ticket_id == outbound.ticket_id,
    )
    if wanted is not None:
        query = query.where(ChatConversation.id == wanted)
    conversation = await db.scalar(query.order_by(ChatConversation.updated_at.desc()).limit(1))
    if conversation is None:
        await intake.log_outbound(
            db,
            channel,
            external_id=f"chat-reply:{outbound.communication_id}",
            thread_key=None,
            ticket_id=outbound.ticket_id,
            customer_id=outbound.customer_id,
            communication_id=outbound.communication_id,
            status=FAILED,
            code="chat.no_conversation",
            detail="the ticket's chat conversation is gone",
        )
        return
    seq = await _next_seq(db, conversation)
    name = None
    if outbound.author_id is not None:
        user = await db.get(User, outbound.author_id)
        if user is not None:
            name = user.display_name or user.username
    db.add(
        ChatEvent(
            conversation_id=conversation.id,
            seq=seq,
            author=AGENT,
            author_id=outbound.author_id,
            author_name=name,
            body=outbound.body[: MAX_BODY * 4],
            communication_id=outbound.communication_id,
            created_at=utcnow(),
        )
    )
    conversation.agent_seen_seq = seq
    await db.flush()
    await intake.log_outbound(
        db,
        channel,
        external_id=f"chat:{conversation.id}:{seq}",
        thread_key=f"chat:{conversation.id}",
        ticket_id=outbound.ticket_id,
        customer_id=outbound.customer_id,
        communication_id=outbound.communication_id,
    )
    await announce(db, {"t": "event", "c": conversation.id, "s": seq})


async def events_since(
    db: AsyncSession, conversation_id: int, since: int, limit: int = 500
) -> list[ChatEvent]:
    rows = await db.scalars(
        select(ChatEvent)
        .where(ChatEvent.conversation_id == conversation_id, ChatEvent.seq > since)
        .order_by(ChatEvent.seq)
        .limit(limit)
    )
    return list(rows)


async def seen(db: AsyncSession, conversation: ChatConversation, seq: int) -> None:
    if seq > conversation.agent_seen_seq:
        conversation.agent_seen_seq = min(seq, conversation.last_seq)
        await announce(db, {"t": "conversation", "c": conversation.id})


async def open_conversations(db: AsyncSession, to: intake.Target, limit: int = 200) -> list[Any]:
    """The app's conversations whose ticket is open, latest first."""
    query = select(ChatConversation).where(
        ChatConversation.app_id == to.app.app_id, ChatConversation.ticket_id.is_not(None)
    )
    mapping = to.spec.ticket
    if mapping.status is not None and mapping.open:
        table = to.tickets.table
        open_tickets = select(table.c.id).where(
            to.tickets.column(mapping.status).in_(mapping.open), table.c.deleted_at.is_(None)
        )
        query = query.where(ChatConversation.ticket_id.in_(open_tickets))
    rows = await db.scalars(query.order_by(ChatConversation.updated_at.desc()).limit(limit))
    return list(rows)
