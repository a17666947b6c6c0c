"""ASGI middleware: request id, locale, body-size limit, access log, metrics, rate limits."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.errors import problem_response
from runtime.i18n import current_locale, negotiate
from runtime.observability.metrics import IN_FLIGHT, RATE_LIMITED, REQUEST_SECONDS, REQUESTS
from runtime.ratelimit.classify import classify
from runtime.ratelimit.limiter import RateLimiter, principal_key
from runtime.requestctx import client_ip_var, request_id_var

access_log = logging.getLogger("tangram.access")
error_log = logging.getLogger("tangram.errors")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContextMiddleware:
    """Sets request id, locale and client address; limits the body; records metrics."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        instance: str,
        trusted_proxies: list[str],
        upload_prefixes: tuple[str, ...] = (),
        max_upload_bytes: int = 0,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.upload_prefixes = upload_prefixes
        self.max_upload_bytes = max_upload_bytes
        self.instance = instance
        self.trusted_proxies = set(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        incoming = headers.get("x-request-id", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        tokens = [
            request_id_var.set(request_id),
            current_locale.set(negotiate(headers.get("accept-language"))),
            client_ip_var.set(self._client_ip(scope, headers)),
        ]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                raw = list(message.get("headers", []))
                raw.append((b"x-request-id", request_id.encode()))
                raw.append((b"x-tangram-instance", self.instance.encode()))
                message["headers"] = raw
            await send(message)

        IN_FLIGHT.inc()
        limit = self.max_body_bytes
        if self.upload_prefixes and scope["path"].startswith(self.upload_prefixes):
            limit = max(limit, self.max_upload_bytes)
        try:
            length = headers.get("content-length")
            if length and length.isdigit() and int(length) > limit:
                response = problem_response(
                    "payload_too_large", request=Request(scope), params={"limit": limit}
                )
                await response(scope, receive, send_wrapper)
                return
            try:
                await self.app(scope, self._limited(receive, limit), send_wrapper)
            except Exception:
                # Answered here, not by Starlette's ServerErrorMiddleware (which sits outside
                # this middleware), so the 500 still carries the request id, its header and
                # the caller's language.
                if response_started:
                    raise
                error_log.exception("unhandled error on %s %s", scope["method"], scope["path"])
                response = problem_response("internal_error", request=Request(scope))
                await response(scope, receive, send_wrapper)
        finally:
            IN_FLIGHT.dec()
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            REQUEST_SECONDS.labels(scope["method"], route).observe(elapsed)
            access_log.info(
                "%s %s %s %.1fms",
                scope["method"],
                scope["path"],
                status,
                elapsed * 1000,
                extra={"route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)},
            )
            for var, token in zip(
                (request_id_var, current_locale, client_ip_var), tokens, strict=True
            ):
                var.reset(token)  # type: ignore[arg-type]

    def _limited(self, receive: Receive, limit: int) -> Receive:
        received = 0

        async def wrapped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, detail=str(limit))
            return message

        return wrapped

    def _client_ip(self, scope: Scope, headers: Headers) -> str | None:
        """The peer, or — when the peer is a trusted proxy — the nearest address in
        ``X-Forwarded-For`` that is not a trusted proxy (read from the right: proxies append,
        so entries left of the last untrusted one are whatever the client chose to send)."""
        client = scope.get("client")
        peer = client[0] if client else None
        forwarded = headers.get("x-forwarded-for")
        if not forwarded or peer not in self.trusted_proxies:
            return peer
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        for hop in reversed(hops):
            if hop not in self.trusted_proxies:
                return hop
        return hops[0] if hops else peer


class RateLimitMiddleware:
    """Counts each request against its route class's limits; over a limit it answers 429.

    Installed inside :class:`RequestContextMiddleware`, whose client address (with
    ``TANGRAM_TRUSTED_PROXIES`` applied), request id and locale it uses, and before routing
    and authentication, so a refused request costs no database work. Allowed responses carry
    ``RateLimit-Limit``/``-Remaining``/``-Reset``; a 429 also carries ``Retry-After`` and a
    problem+json body (code ``rate_limited``) in the caller's language.
    """

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter, session_cookie: str) -> None:
        self.app = app
        self.limiter = limiter
        self.session_cookie = session_cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        route_class = classify(scope["method"], path)
        if route_class is None:
            await self.app(scope, receive, send)
            return
        principal = principal_key(Headers(scope=scope), self.session_cookie)
        decision = await self.limiter.check(route_class, principal, client_ip_var.get())
        headers = decision.headers()
        if not decision.allowed:
            RATE_LIMITED.labels(route_class, decision.scope).inc()
            response = problem_response(
                "rate_limited",
                request=Request(scope),
                params={"retry_after": decision.retry_after},
                headers=headers,
                extra={
                    "retry_after": decision.retry_after,
                    "route_class": route_class,
                    "scope": decision.scope,
                },
            )
            await response(scope, receive, send)
            return
        raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *raw]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _route_template(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "<unmatched>"
