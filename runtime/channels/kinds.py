"""Every channel kind, registered in one place (DESIGN §10.1)."""

from __future__ import annotations

from runtime.channels.email.kind import EmailKind
from runtime.channels.registry import channel_kinds

channel_kinds.register(EmailKind())

__all__ = ["channel_kinds"]
