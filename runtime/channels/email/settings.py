"""A mailbox's settings (the admin pages show the titles and descriptions)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Security = Literal["ssl", "starttls", "none"]

#: A ticket number in brackets in a subject: ``[TK-20261204-0001]`` or ``[#TK-20261204-0001]``.
DEFAULT_TICKET_PATTERN = r"\[#?([A-Za-z][A-Za-z0-9]{0,9}-[0-9][0-9-]{0,30})\]"


class MailboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(
        title="Mailbox address",
        description="The support address customers write to; mail From it is never taken in.",
        min_length=3,
        max_length=320,
    )
    imap_host: str = Field(title="IMAP server", min_length=1, max_length=253)
    imap_port: int = Field(993, title="IMAP port", ge=1, le=65535)
    imap_security: Security = Field(
        "ssl", title="IMAP security", description="ssl: implicit TLS (993); starttls; none."
    )
    imap_user: str = Field(title="IMAP user", min_length=1, max_length=320)
    imap_password: str = Field(title="IMAP password", min_length=1, max_length=1000)
    folder: str = Field("INBOX", title="Folder", min_length=1, max_length=200)
    idle: bool = Field(
        True, title="Use IMAP IDLE", description="Wait for new mail when the server offers IDLE."
    )
    idle_seconds: int = Field(
        60,
        title="IDLE wait (seconds)",
        description="How long one poll waits in IDLE.",
        ge=1,
        le=600,
    )
    poll_seconds: int = Field(
        60,
        title="Poll interval (seconds)",
        description="Between polls without IDLE.",
        ge=5,
        le=86400,
    )
    max_messages: int = Field(
        50, title="Messages per poll", description="The most one poll takes in.", ge=1, le=1000
    )
    max_message_bytes: int = Field(
        25 * 1024 * 1024,
        title="Largest message (bytes)",
        description="Bigger messages are quarantined (their headers kept).",
        ge=1024,
        le=200 * 1024 * 1024,
    )
    max_attachment_bytes: int = Field(
        10 * 1024 * 1024,
        title="Largest attachment (bytes)",
        description="A message with a bigger attachment is quarantined.",
        ge=1,
        le=200 * 1024 * 1024,
    )
    smtp_host: str = Field(title="SMTP server", min_length=1, max_length=253)
    smtp_port: int = Field(465, title="SMTP port", ge=1, le=65535)
    smtp_security: Security = Field(
        "ssl", title="SMTP security", description="ssl: implicit TLS (465); starttls (587); none."
    )
    smtp_user: str | None = Field(None, title="SMTP user", max_length=320)
    smtp_password: str | None = Field(None, title="SMTP password", max_length=1000)
    from_address: str | None = Field(
        None, title="From address", description="Defaults to the mailbox address.", max_length=320
    )
    from_name: str = Field("", title="From name", max_length=200)
    signature: str = Field(
        "{agent}",
        title="Signature",
        description="Below every reply; {agent} is the agent's name. An agent's own signature "
        "(their user attribute email_signature) is used instead when set.",
        max_length=4000,
    )
    sender_cap_per_hour: int = Field(
        20,
        title="Messages per sender per hour",
        description="More from one sender within an hour are ignored (mail loops).",
        ge=1,
        le=10000,
    )
    ticket_pattern: str = Field(
        DEFAULT_TICKET_PATTERN,
        title="Ticket number in subjects",
        description="A regular expression; its first group is the ticket number.",
        max_length=300,
    )
    tls_ca_pem: str | None = Field(
        None,
        title="Trusted certificate (PEM)",
        description="For servers with a private certificate authority.",
        max_length=100_000,
    )

    @field_validator("address", "from_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", value):
            raise ValueError("not an e-mail address")
        return value

    @field_validator("ticket_pattern")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        if compiled.groups < 1:
            raise ValueError("the pattern needs a group for the number")
        return value

    @property
    def sender(self) -> str:
        return self.from_address or self.address


SECRET_FIELDS = ("imap_password", "smtp_password")
