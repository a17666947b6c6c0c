"""Every channel kind, registered in one place (DESIGN §10.1)."""

from __future__ import annotations

from runtime.channels.registry import channel_kinds
from runtime.channels.webhook.kind import WebhookKind

channel_kinds.register(WebhookKind())

__all__ = ["channel_kinds"]
