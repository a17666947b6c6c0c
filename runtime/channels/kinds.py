"""Every channel kind, registered in one place (DESIGN §10.1)."""

from __future__ import annotations

from runtime.channels.chat.kind import ChatKind
from runtime.channels.cti.kind import CtiKind
from runtime.channels.email.kind import EmailKind
from runtime.channels.registry import channel_kinds
from runtime.channels.webhook.kind import WebhookKind
from runtime.channels.wechat.kind import WeChatMpKind
from runtime.publicforms.kind import WebFormKind

channel_kinds.register(WebhookKind())
channel_kinds.register(WebFormKind())
channel_kinds.register(CtiKind())
channel_kinds.register(ChatKind())
channel_kinds.register(EmailKind())
channel_kinds.register(WeChatMpKind())

__all__ = ["channel_kinds"]
