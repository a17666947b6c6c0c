"""Outgoing mail through the configured SMTP server (flow service tasks, rules).

A message carries a ``Message-ID`` made from a key that is stable across retries of the job
that sends it, so a receiving system can drop a repeat."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from runtime.config import Settings


class MailNotConfigured(Exception):
    """No SMTP server is configured (``TANGRAM_SMTP_HOST``)."""


def message(settings: Settings, to: list[str], subject: str, body: str, key: str) -> EmailMessage:
    """A plain-text message from the configured sender; the subject is one line (a header
    cannot hold the line breaks a field's value may bring)."""
    mail = EmailMessage()
    mail["From"] = settings.mail_from
    mail["To"] = ", ".join(to)
    mail["Subject"] = " ".join(subject.split())
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    mail["Message-ID"] = f"<{key}@{domain}>"
    mail.set_content(body)
    return mail


async def send(mail: EmailMessage, settings: Settings) -> None:
    if not settings.smtp_host:
        raise MailNotConfigured("no mail server is configured (TANGRAM_SMTP_HOST)")
    await asyncio.to_thread(_smtp_send, mail, settings)


def _smtp_send(mail: EmailMessage, settings: Settings) -> None:
    host, port = settings.smtp_host or "", settings.smtp_port
    client: smtplib.SMTP
    if settings.smtp_ssl:
        client = smtplib.SMTP_SSL(host, port, timeout=30, context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=30)
    with client:
        if settings.smtp_starttls and not settings.smtp_ssl:
            client.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            client.login(settings.smtp_username, settings.smtp_password or "")
        client.send_message(mail)
