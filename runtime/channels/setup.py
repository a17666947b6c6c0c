"""The channels' routers (the app includes them) and their kinds, hooks and job handlers."""

from __future__ import annotations

from runtime.channels import kinds, outbound  # noqa: F401  (register kinds and the reply hook)
from runtime.channels.routes import kinds_router, router
from runtime.channels.wechat.routes import router as wechat_router

#: The API and the channels' public endpoints (callbacks, webhooks, the chat socket).
ROUTERS = (router, kinds_router, wechat_router)
