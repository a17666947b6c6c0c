"""The ``cti`` channel kind: a telephony system (PBX, cloud call centre) connected by webhooks."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.models import User
from runtime.channels.models import Channel, ChannelMessage
from runtime.channels.registry import ChannelKind
from runtime.errors import FieldError, ProblemError
from runtime.i18n import current_locale

EXTENSION = r"^[0-9A-Za-z*#+_\-]{1,32}$"


class CtiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str = Field(
        min_length=16,
        max_length=200,
        title="Signing secret",
        description="Signs the events the telephony system posts (the X-Tangram-Signature header).",
        json_schema_extra={
            "title_zh": "签名密钥",
            "description_zh": "用于校验电话系统推送事件的签名（X-Tangram-Signature 请求头）。",
        },
    )
    extensions: dict[str, str] = Field(
        default_factory=dict,
        max_length=2000,
        title="Agent extensions",
        description='Extension → user name, e.g. {"8001": "alice"}: whose page pops up when the '
        "extension rings, and whose extension click-to-call dials from.",
        json_schema_extra={
            "title_zh": "坐席分机",
            "description_zh": '分机号 → 用户名，例如 {"8001": "alice"}：该分机振铃时为该用户弹屏，'
            "点击呼叫时从该用户的分机外呼。",
        },
    )
    call_url: str | None = Field(
        default=None,
        max_length=2000,
        pattern=r"^https?://",
        title="Click-to-call URL",
        description="Where click-to-call requests go (the telephony system's call API); empty: no "
        "click-to-call.",
        json_schema_extra={
            "title_zh": "点击呼叫地址",
            "description_zh": "点击呼叫请求的发送地址（电话系统的呼叫接口）；"
            "留空则不启用点击呼叫。",
        },
    )
    call_secret: str | None = Field(
        default=None,
        min_length=16,
        max_length=200,
        title="Click-to-call secret",
        description="Signs the click-to-call requests; empty: the installation's webhook secret.",
        json_schema_extra={
            "title_zh": "点击呼叫签名密钥",
            "description_zh": "用于对点击呼叫请求签名；留空则使用本系统的 Webhook 密钥。",
        },
    )
    ticket: Literal["open", "new"] = Field(
        "open",
        title="Ticket for calls",
        description="open: the customer's open ticket (else a new one); new: always a new ticket.",
        json_schema_extra={
            "title_zh": "通话记录所在工单",
            "description_zh": "open：记入客户未关闭的工单（没有则新建）；new：总是新建工单。",
        },
    )


def _zh() -> bool:
    return current_locale.get() == "zh-CN"


class CtiKind(ChannelKind):
    type = "cti"
    label = ("Telephony (CTI)", "电话（CTI）")
    settings_model = CtiSettings
    secret_fields = ("secret", "call_secret")
    delivers = False

    async def saved(self, db: AsyncSession, channel: Channel) -> None:
        """Every extension must name an active user."""
        mapped = dict(channel.settings.get("extensions") or {})
        errors = []
        for extension in mapped:
            if not re.match(EXTENSION, extension):
                message = "分机号无效" if _zh() else "Not a valid extension."
                errors.append(FieldError(f"settings.extensions.{extension}", "invalid", message))
        names = set(mapped.values())
        if names:
            rows = await db.execute(
                select(User.username).where(User.username.in_(names), User.is_active.is_(True))
            )
            known = set(rows.scalars())
            for extension, name in mapped.items():
                if name not in known:
                    message = f"没有启用的用户 {name!r}" if _zh() else f"No active user {name!r}."
                    errors.append(
                        FieldError(f"settings.extensions.{extension}", "unknown_user", message)
                    )
        if errors:
            raise ProblemError("validation_failed", errors=errors)

    async def reprocess(self, db: AsyncSession, channel: Channel, logged: ChannelMessage) -> Any:
        from runtime.channels.cti import service
        from runtime.channels.cti.schemas import CallEvent

        if logged.raw is None or logged.code == "cti.bad_signature":
            raise ProblemError("not_reprocessable")  # a forged event stays refused
        try:
            data = json.loads(logged.raw)
            call = CallEvent.model_validate(data)
        except ValueError:
            raise ProblemError("not_reprocessable") from None
        return await service.receive(db, channel, call, logged.raw, reprocess=logged)
