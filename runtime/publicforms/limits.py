"""Rate limits of public forms' submissions: per client address and per form, in the same
GCRA store as the platform's request limits (``runtime.ratelimit``; shared through Redis when
configured). Counted only for submissions, before anything is read from the body."""

from __future__ import annotations

from typing import cast

from fastapi import Request

from runtime.errors import ProblemError
from runtime.publicforms.models import PublicForm
from runtime.publicforms.service import FORM_RATE_FACTOR
from runtime.ratelimit.backends import Backend, Check, MemoryBackend
from runtime.ratelimit.limiter import UNKNOWN_IP
from runtime.ratelimit.rates import parse_rate
from runtime.requestctx import client_ip_var


def _backend(request: Request) -> Backend:
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        return cast(Backend, limiter.backend)
    backend = getattr(request.app.state, "public_form_limits", None)
    if backend is None:  # request limits are off: public forms keep their own buckets
        backend = request.app.state.public_form_limits = MemoryBackend()
    return cast(Backend, backend)


async def check(request: Request, row: PublicForm) -> None:
    """429 ``public_form_rate_limited`` when this address or the form is over its rate."""
    rate = parse_rate(row.rate_limit)
    ip = client_ip_var.get() or (request.client.host if request.client else None) or UNKNOWN_IP
    checks = [
        Check(f"public_form:{row.id}:ip:{ip}", rate, "ip"),
        Check(f"public_form:{row.id}:all", rate.scaled(FORM_RATE_FACTOR), "principal"),
    ]
    decision = await _backend(request).hit(checks)
    if not decision.allowed:
        raise ProblemError(
            "public_form_rate_limited",
            params={"retry_after": decision.retry_after},
            headers=decision.headers(),
            extra={"retry_after": decision.retry_after},
        )
