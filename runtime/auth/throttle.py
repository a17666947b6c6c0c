"""Failed sign-in throttling per account and per address, shared by all web processes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.models import AuthFailure
from runtime.config import Settings
from runtime.db import utcnow
from runtime.errors import ProblemError


def keys_for(username: str, ip: str | None) -> list[tuple[str, str]]:
    keys = [("account", f"user:{username.lower()}")]
    if ip:
        keys.append(("ip", f"ip:{ip}"))
    return keys


async def check(session: AsyncSession, settings: Settings, username: str, ip: str | None) -> None:
    """Raise ``too_many_attempts`` (429, Retry-After) while a key is over its limit."""
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    limits = {
        "account": settings.login_max_failures_per_account,
        "ip": settings.login_max_failures_per_ip,
    }
    for kind, key in keys_for(username, ip):
        count, oldest = (
            await session.execute(
                select(func.count(), func.min(AuthFailure.at)).where(
                    AuthFailure.key == key, AuthFailure.at > since
                )
            )
        ).one()
        if count >= limits[kind]:
            # Locked until the oldest failure in the window leaves it.
            elapsed = (utcnow() - oldest).total_seconds()
            retry_after = max(1, int(settings.login_window_seconds - elapsed) + 1)
            raise ProblemError(
                "too_many_attempts",
                params={"retry_after": retry_after},
                headers={"Retry-After": str(retry_after)},
                extra={"retry_after": retry_after, "scope": kind},
            )


def record_failure(session: AsyncSession, username: str, ip: str | None, reason: str) -> None:
    for _kind, key in keys_for(username, ip):
        session.add(AuthFailure(key=key, detail=reason))


async def clear_account(session: AsyncSession, username: str) -> None:
    await session.execute(delete(AuthFailure).where(AuthFailure.key == f"user:{username.lower()}"))


async def purge_old(session: AsyncSession, settings: Settings) -> int:
    cutoff = utcnow() - timedelta(seconds=settings.login_window_seconds * 4)
    result = await session.execute(delete(AuthFailure).where(AuthFailure.at < cutoff))
    return result.rowcount or 0  # type: ignore[attr-defined]
