"""Notices to customers by e-mail: one-time sign-in codes, survey links, tracking links.

A notice is not a reply on a ticket: it has no thread and logs nothing in ``channel_messages``.
It goes out through the app's e-mail channel (the first enabled mailbox of the app, and of the
given intake when one is named) so the customer sees the support address they know; an app
without a mailbox falls back to the platform's SMTP server (``TANGRAM_SMTP_HOST``).
:func:`enqueue_notice` adds the ``email.notice`` job in the caller's transaction (the notice
and what caused it commit together); the job retries with backoff and keeps its Message-ID
across retries, so a receiving server can drop a repeat.
"""

from __future__ import annotations

import asyncio
import html as html_lib
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime import mailer
from runtime.channels.email.kind import Permanent, smtp_send
from runtime.channels.models import Channel
from runtime.channels.service import secrets_of, settings_of
from runtime.jobs import queue
from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers

NOTICE_JOB = "email.notice"
NOTICE_ATTEMPTS = 6


async def enqueue_notice(
    db: AsyncSession,
    *,
    app_id: int,
    to: str,
    subject: str,
    text: str,
    key: str,
    html: str | None = None,
    intake: str | None = None,
) -> int:
    """Send ``text`` (and ``html``, when given, as the alternative) to ``to``; ``key`` makes the
    job idempotent (one notice per key) and its Message-ID stable."""
    payload = {
        "app": app_id,
        "intake": intake,
        "to": to,
        "subject": " ".join(subject.split()),
        "text": text,
        "html": html,
        "key": key,
    }
    return await queue.enqueue(
        db,
        NOTICE_JOB,
        payload,
        idempotency_key=f"notice:{key}",
        max_attempts=NOTICE_ATTEMPTS,
    )


async def mailbox_of(db: AsyncSession, app_id: int, intake: str | None = None) -> Channel | None:
    """The app's first enabled mailbox (of ``intake`` when that has one)."""
    rows = (
        await db.execute(
            select(Channel)
            .where(Channel.app_id == app_id, Channel.kind == "email", Channel.enabled.is_(True))
            .order_by(Channel.id)
        )
    ).scalars()
    found = list(rows)
    if intake is not None:
        own = [c for c in found if c.intake == intake]
        found = own or found
    return found[0] if found else None


def _html_of(text: str) -> str:
    paragraphs = "".join(
        f"<p>{html_lib.escape(p).replace(chr(10), '<br>')}</p>" for p in text.strip().split("\n\n")
    )
    return f"<!doctype html><html><body>{paragraphs}</body></html>"


def compose(sender: str, from_name: str, payload: dict[str, Any], domain: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = formataddr((from_name, sender)) if from_name else sender
    mail["To"] = str(payload["to"])
    mail["Subject"] = str(payload["subject"])
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = f"<tangram.notice.{payload['key']}@{domain}>"
    # A notice is sent by a machine: auto-responders must not answer it.
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(str(payload["text"]))
    mail.add_alternative(payload.get("html") or _html_of(str(payload["text"])), "html")
    return mail


@handlers.register(NOTICE_JOB, max_attempts=NOTICE_ATTEMPTS)
async def send_notice(ctx: JobContext) -> dict[str, Any]:
    payload = ctx.payload
    channel = await mailbox_of(ctx.session, int(payload["app"]), payload.get("intake"))
    if channel is None:
        settings = ctx.settings
        domain = settings.mail_from.rpartition("@")[2] or "localhost"
        mail = compose(settings.mail_from, "", payload, domain)
        try:
            await mailer.send(mail, settings)
        except mailer.MailNotConfigured as exc:
            return {"sent": False, "reason": str(exc)}
        return {"sent": True, "to": payload["to"], "via": "platform"}
    box = settings_of(channel)
    domain = box.sender.rpartition("@")[2] or "localhost"
    mail = compose(box.sender, box.from_name, payload, domain)
    try:
        await asyncio.to_thread(smtp_send, box, secrets_of(channel).get("smtp_password"), mail)
    except Permanent as exc:
        return {"sent": False, "reason": str(exc)}
    return {"sent": True, "to": payload["to"], "via": channel.key}
