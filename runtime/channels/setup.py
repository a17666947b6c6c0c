"""The channels' routers (the app includes them) and their kinds, hooks and job handlers."""

from __future__ import annotations

from runtime.channels import identity, kinds, outbound  # noqa: F401  (kinds, hooks)
from runtime.channels.chat.routes import router as chat_router
from runtime.channels.cti.routes import calls_router as cti_calls_router
from runtime.channels.cti.routes import me_router as cti_me_router
from runtime.channels.cti.routes import public_router as cti_public_router
from runtime.channels.routes import kinds_router, router
from runtime.channels.webhook.routes import router as hooks_router
from runtime.channels.wechat.routes import router as wechat_router
from runtime.live.routes import router as live_router
from runtime.subscriptions.routes import router as subscriptions_router

#: The API and the channels' public endpoints (callbacks, webhooks, the chat socket).
ROUTERS = (
    router,
    kinds_router,
    hooks_router,
    subscriptions_router,
    cti_public_router,
    cti_calls_router,
    cti_me_router,
    live_router,
    chat_router,
    wechat_router,
)
