"""Every channel kind, registered in one place (DESIGN §10.1)."""

from __future__ import annotations

from runtime.channels.chat.kind import ChatKind
from runtime.channels.registry import channel_kinds

channel_kinds.register(ChatKind())

__all__ = ["channel_kinds"]
