"""Every channel kind, registered in one place (DESIGN §10.1)."""

from __future__ import annotations

from runtime.channels.registry import channel_kinds
from runtime.channels.wechat import kind as wechat_kind  # noqa: F401  (wechat_mp, wechat.send)

__all__ = ["channel_kinds"]
