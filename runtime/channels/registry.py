"""Channel kinds: what a mailbox, a WeChat account, the web chat or a telephony connector is.

Each kind is one class: its settings model (validated when a channel is saved; the secret
fields are stored encrypted and never shown), and hooks the platform calls. Kinds are
registered in one place, ``runtime/channels/kinds.py`` (DESIGN §10.1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from engines.registry import Registry

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from runtime.channels.intake import Outbound
    from runtime.channels.models import Channel, ChannelMessage


class NoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelKind:
    """The base of a channel kind. ``type`` names it in the API and the database."""

    type: ClassVar[str]
    #: The name shown in the admin pages (en, zh-CN).
    label: ClassVar[tuple[str, str]] = ("", "")
    #: The settings a channel of this kind has, secret ones included (see ``secret_fields``).
    settings_model: ClassVar[type[BaseModel]] = NoSettings
    #: Settings that are stored encrypted and never returned (passwords, app secrets, keys).
    secret_fields: ClassVar[tuple[str, ...]] = ()
    #: Whether agents' replies on tickets that came by this channel go back through it.
    delivers: ClassVar[bool] = False

    async def deliver(self, db: AsyncSession, channel: Channel, message: Outbound) -> None:
        """Send an agent's reply back through the channel (enqueue the kind's send job, in the
        caller's transaction). Called after the reply is committed."""
        raise NotImplementedError

    async def reprocess(self, db: AsyncSession, channel: Channel, logged: ChannelMessage) -> Any:
        """Take in a quarantined message again (after its cause was fixed)."""
        raise NotImplementedError

    async def saved(self, db: AsyncSession, channel: Channel) -> None:
        """Called in the transaction that created, changed or re-enabled ``channel`` (a mailbox
        schedules its first poll)."""


channel_kinds: Registry[ChannelKind] = Registry("channel kinds")
