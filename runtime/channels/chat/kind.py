"""The ``chat`` channel kind: the website's chat widget."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.channels.chat import service
from runtime.channels.intake import Outbound
from runtime.channels.models import Channel
from runtime.channels.registry import ChannelKind


class ChatSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed_origins: list[str] = Field(
        default_factory=list,
        max_length=50,
        title="Allowed origins",
        description="Sites that may embed the widget, e.g. https://www.example.cn "
        "(this server's own origin is always allowed).",
        json_schema_extra={
            "title_zh": "允许的来源",
            "description_zh": "可嵌入网页在线客服窗口的网站，例如 https://www.example.cn"
            "（本服务器自身的来源始终允许）。",
        },
    )
    greeting_zh: str = Field(
        "您好，有什么可以帮您？",
        max_length=500,
        title="Greeting (中文)",
        json_schema_extra={"title_zh": "欢迎语（中文）"},
    )
    greeting_en: str = Field(
        "Hello! How can we help?",
        max_length=500,
        title="Greeting (English)",
        json_schema_extra={"title_zh": "欢迎语（英文）"},
    )
    offline_zh: str = Field(
        "客服暂时不在线，请留言，我们会通过邮件回复您。",
        max_length=500,
        title="Offline text (中文)",
        json_schema_extra={"title_zh": "离线提示（中文）"},
    )
    offline_en: str = Field(
        "No one is online right now. Leave a message and we will answer by e-mail.",
        max_length=500,
        title="Offline text (English)",
        json_schema_extra={"title_zh": "离线提示（英文）"},
    )
    ask_email: bool = Field(
        True,
        title="Ask for the visitor's e-mail",
        json_schema_extra={"title_zh": "请访客填写邮箱地址"},
    )
    ask_phone: bool = Field(
        False,
        title="Ask for the visitor's phone",
        json_schema_extra={"title_zh": "请访客填写电话号码"},
    )
    secret: str | None = Field(
        None,
        max_length=200,
        title="Identity secret",
        description="Optional: the site signs a signed-in visitor's e-mail with it "
        "(HMAC-SHA256, hex, data-email and data-signature on the script tag).",
        json_schema_extra={
            "title_zh": "身份验证密钥",
            "description_zh": "可选：网站用它对已登录访客的邮箱地址签名（HMAC-SHA256，十六进制，"
            "放在 script 标签的 data-email 和 data-signature 属性中）。",
        },
    )

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        result = []
        for value in values:
            origin = value.strip().rstrip("/").lower()
            if not origin:
                continue
            scheme, sep, host = origin.partition("://")
            if scheme not in ("http", "https") or not sep or not host or "/" in host:
                raise ValueError(f"not an origin (scheme://host[:port]): {value}")
            result.append(origin)
        return result


class ChatKind(ChannelKind):
    type = "chat"
    label = ("Web chat", "网页在线客服")
    settings_model = ChatSettings
    secret_fields = ("secret",)
    delivers = True

    async def deliver(self, db: AsyncSession, channel: Channel, message: Outbound) -> None:
        await service.deliver(db, channel, message)
