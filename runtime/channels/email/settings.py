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
        json_schema_extra={
            "title_zh": "邮箱地址",
            "description_zh": "客户来信所用的客服邮箱地址；由该地址发出的邮件不会被收取。",
        },
    )
    imap_host: str = Field(
        title="IMAP server",
        min_length=1,
        max_length=253,
        json_schema_extra={"title_zh": "IMAP 服务器"},
    )
    imap_port: int = Field(
        993, title="IMAP port", ge=1, le=65535, json_schema_extra={"title_zh": "IMAP 端口"}
    )
    imap_security: Security = Field(
        "ssl",
        title="IMAP security",
        description="ssl: implicit TLS (993); starttls; none.",
        json_schema_extra={
            "title_zh": "IMAP 加密方式",
            "description_zh": "ssl：隐式 TLS（993）；starttls；none：不加密。",
        },
    )
    imap_user: str = Field(
        title="IMAP user",
        min_length=1,
        max_length=320,
        json_schema_extra={"title_zh": "IMAP 用户名"},
    )
    imap_password: str = Field(
        title="IMAP password",
        min_length=1,
        max_length=1000,
        json_schema_extra={"title_zh": "IMAP 密码"},
    )
    folder: str = Field(
        "INBOX",
        title="Folder",
        min_length=1,
        max_length=200,
        json_schema_extra={"title_zh": "收件文件夹"},
    )
    idle: bool = Field(
        True,
        title="Use IMAP IDLE",
        description="Wait for new mail when the server offers IDLE.",
        json_schema_extra={
            "title_zh": "使用 IMAP IDLE",
            "description_zh": "服务器支持 IDLE 时，等待新邮件推送。",
        },
    )
    idle_seconds: int = Field(
        60,
        title="IDLE wait (seconds)",
        description="How long one poll waits in IDLE.",
        ge=1,
        le=600,
        json_schema_extra={
            "title_zh": "IDLE 等待时长（秒）",
            "description_zh": "每次收取在 IDLE 中等待的时长。",
        },
    )
    poll_seconds: int = Field(
        60,
        title="Poll interval (seconds)",
        description="Between polls without IDLE.",
        ge=5,
        le=86400,
        json_schema_extra={
            "title_zh": "收取间隔（秒）",
            "description_zh": "不使用 IDLE 时两次收取之间的间隔。",
        },
    )
    max_messages: int = Field(
        50,
        title="Messages per poll",
        description="The most one poll takes in.",
        ge=1,
        le=1000,
        json_schema_extra={
            "title_zh": "每次收取邮件数",
            "description_zh": "每次收取最多取入的邮件数。",
        },
    )
    max_message_bytes: int = Field(
        25 * 1024 * 1024,
        title="Largest message (bytes)",
        description="Bigger messages are quarantined (their headers kept).",
        ge=1024,
        le=200 * 1024 * 1024,
        json_schema_extra={
            "title_zh": "邮件大小上限（字节）",
            "description_zh": "超过该大小的邮件将被隔离（保留其邮件头）。",
        },
    )
    max_attachment_bytes: int = Field(
        10 * 1024 * 1024,
        title="Largest attachment (bytes)",
        description="A message with a bigger attachment is quarantined.",
        ge=1,
        le=200 * 1024 * 1024,
        json_schema_extra={
            "title_zh": "附件大小上限（字节）",
            "description_zh": "附件超过该大小的邮件将被隔离。",
        },
    )
    smtp_host: str = Field(
        title="SMTP server",
        min_length=1,
        max_length=253,
        json_schema_extra={"title_zh": "SMTP 服务器"},
    )
    smtp_port: int = Field(
        465, title="SMTP port", ge=1, le=65535, json_schema_extra={"title_zh": "SMTP 端口"}
    )
    smtp_security: Security = Field(
        "ssl",
        title="SMTP security",
        description="ssl: implicit TLS (465); starttls (587); none.",
        json_schema_extra={
            "title_zh": "SMTP 加密方式",
            "description_zh": "ssl：隐式 TLS（465）；starttls（587）；none：不加密。",
        },
    )
    smtp_user: str | None = Field(
        None, title="SMTP user", max_length=320, json_schema_extra={"title_zh": "SMTP 用户名"}
    )
    smtp_password: str | None = Field(
        None, title="SMTP password", max_length=1000, json_schema_extra={"title_zh": "SMTP 密码"}
    )
    from_address: str | None = Field(
        None,
        title="From address",
        description="Defaults to the mailbox address.",
        max_length=320,
        json_schema_extra={"title_zh": "发件人地址", "description_zh": "默认为邮箱地址。"},
    )
    from_name: str = Field(
        "", title="From name", max_length=200, json_schema_extra={"title_zh": "发件人名称"}
    )
    signature: str = Field(
        "{agent}",
        title="Signature",
        description="Below every reply; {agent} is the agent's name. An agent's own signature "
        "(their user attribute email_signature) is used instead when set.",
        max_length=4000,
        json_schema_extra={
            "title_zh": "签名",
            "description_zh": "附在每封回复的末尾；{agent} 为客服人员的姓名。"
            "客服人员设置了个人签名（用户属性 email_signature）时，改用其个人签名。",
        },
    )
    sender_cap_per_hour: int = Field(
        20,
        title="Messages per sender per hour",
        description="More from one sender within an hour are ignored (mail loops).",
        ge=1,
        le=10000,
        json_schema_extra={
            "title_zh": "每个发件人每小时邮件数",
            "description_zh": "同一发件人一小时内超出该数量的邮件将被忽略（防止邮件循环）。",
        },
    )
    ticket_pattern: str = Field(
        DEFAULT_TICKET_PATTERN,
        title="Ticket number in subjects",
        description="A regular expression; its first group is the ticket number.",
        max_length=300,
        json_schema_extra={
            "title_zh": "主题中的工单号",
            "description_zh": "正则表达式；其第一个分组即为工单号。",
        },
    )
    tls_ca_pem: str | None = Field(
        None,
        title="Trusted certificate (PEM)",
        description="For servers with a private certificate authority.",
        max_length=100_000,
        json_schema_extra={
            "title_zh": "受信任的证书（PEM）",
            "description_zh": "用于使用私有证书颁发机构的服务器。",
        },
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
