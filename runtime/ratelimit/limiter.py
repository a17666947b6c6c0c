"""The rate-limit policy: which buckets a request is counted in, at which rates."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.requests import cookie_parser

from runtime.config import Settings
from runtime.ratelimit.backends import Backend, Check, Clock, Decision, MemoryBackend
from runtime.ratelimit.rates import ROUTE_CLASSES, Rate, RouteClass, parse_rate

_FINGERPRINT_SALT = b"tangram-rate-limit\x00"
#: Stands in for the address when the server saw none (e.g. a Unix socket without a proxy).
UNKNOWN_IP = "unknown"


def fingerprint(secret: str) -> str:
    """A stable, irreversible 128-bit name for a credential (never the secret itself).

    Salted, so it is not the ``token_hash`` stored in the database either.
    """
    return hashlib.sha256(_FINGERPRINT_SALT + secret.encode()).hexdigest()[:32]


def principal_key(headers: Headers, session_cookie: str) -> str | None:
    """The caller's bucket name from its credential, without a database round trip.

    The limiter runs before routing and before the auth dependency, so it does not know the
    token id or user id yet, and looking them up would cost a query per request and let a
    flood of bad credentials reach the database. Instead the credential itself names the
    bucket, with the same precedence as ``runtime.deps.optional_principal``:
    ``Authorization: Bearer`` → ``token:<fingerprint>``, one bucket per API token exactly as
    the token id would give (the token is 1:1 with its id); else the session cookie →
    ``session:<fingerprint>``, one bucket per sign-in session (finer than per user: a user
    with two browsers has two buckets, and opening more sessions costs sign-ins, which are
    limited per address). Invalid, expired or revoked credentials get buckets of their own
    but still count against their address, and the request then fails with 401 anyway.
    None: anonymous (including a malformed ``Authorization``, which gets 401).
    """
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer" and credentials:
            return "token:" + fingerprint(credentials)
        return None
    cookies = headers.get("cookie")
    if cookies:
        session = cookie_parser(cookies).get(session_cookie)
        if session:
            return "session:" + fingerprint(session)
    return None


class RateLimiter:
    """Counts each request in two buckets of its route class: its principal's and its
    address's. Anonymous callers are their address (``anon:<ip>`` at the principal rate);
    the address bucket (``ip:<ip>``, usually a multiple of the principal rate) caps all
    callers behind one address together."""

    def __init__(
        self,
        backend: Backend,
        per_principal: Mapping[RouteClass, Rate],
        per_ip: Mapping[RouteClass, Rate],
    ) -> None:
        self.backend = backend
        self.per_principal = dict(per_principal)
        self.per_ip = dict(per_ip)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> RateLimiter:
        """In-process buckets, or Redis ones when ``TANGRAM_REDIS_URL`` is set.

        ``clock`` (seconds) replaces the monotonic clock (in-process) or the Redis server's
        clock; tests pass one to drive time.
        """
        per_principal = {c: parse_rate(settings.rate_limits[c]) for c in ROUTE_CLASSES}
        per_ip = {
            c: parse_rate(settings.rate_limits_per_ip[c])
            if c in settings.rate_limits_per_ip
            else per_principal[c].scaled(settings.rate_limit_ip_multiplier)
            for c in ROUTE_CLASSES
        }
        memory = MemoryBackend(
            max_keys=settings.rate_limit_max_keys,
            clock=time.monotonic if clock is None else clock,
        )
        backend: Backend = memory
        if settings.redis_url:
            from runtime.ratelimit.redis_backend import RedisBackend

            backend = RedisBackend.from_url(
                settings.redis_url,
                prefix=settings.rate_limit_key_prefix,
                fallback=memory,
                clock=clock,
            )
        return cls(backend, per_principal, per_ip)

    def checks(self, route_class: RouteClass, principal: str | None, ip: str | None) -> list[Check]:
        address = ip or UNKNOWN_IP
        if route_class == "login":
            # Sign-ins carry their credentials in the body: a made-up cookie or token must not
            # buy a fresh bucket, so they are counted per address only.
            principal = None
        return [
            Check(
                f"{route_class}:{principal or 'anon:' + address}",
                self.per_principal[route_class],
                "principal",
            ),
            Check(f"{route_class}:ip:{address}", self.per_ip[route_class], "ip"),
        ]

    async def check(
        self, route_class: RouteClass, principal: str | None, ip: str | None
    ) -> Decision:
        """Count one request (or refuse it); O(1), no database."""
        return await self.backend.hit(self.checks(route_class, principal, ip))

    async def aclose(self) -> None:
        await self.backend.aclose()
