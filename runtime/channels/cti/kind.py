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

    #: Signs the events the telephony system posts (``X-Tangram-Signature``). Secret.
    secret: str = Field(min_length=16, max_length=200)
    #: Agent extension → user name: whose page pops when the extension rings, whose extension
    #: click-to-call dials from.
    extensions: dict[str, str] = Field(default_factory=dict, max_length=2000)
    #: Where click-to-call posts (the telephony system's call API); None: no click-to-call.
    call_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    #: Signs the click-to-call requests. Secret; None: the installation's webhook secret.
    call_secret: str | None = Field(default=None, min_length=16, max_length=200)
    #: The ticket a call is logged on: the customer's open ticket (else a new one), or always
    #: a new ticket.
    ticket: Literal["open", "new"] = "open"


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
