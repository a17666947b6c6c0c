"""The channels' routers (the app includes them) and their kinds, hooks and job handlers."""

from __future__ import annotations

from runtime.channels import kinds, outbound  # noqa: F401  (register kinds and the reply hook)
from runtime.channels.cti.routes import calls_router as cti_calls_router
from runtime.channels.cti.routes import me_router as cti_me_router
from runtime.channels.cti.routes import public_router as cti_public_router
from runtime.channels.routes import kinds_router, router
from runtime.live.routes import router as live_router

#: The API and the channels' public endpoints (callbacks, webhooks, the chat socket).
ROUTERS = (
    router,
    kinds_router,
    cti_public_router,
    cti_calls_router,
    cti_me_router,
    live_router,
)
