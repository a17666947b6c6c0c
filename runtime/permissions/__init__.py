"""Permissions: who may do what with which records and fields (DESIGN §6)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.org.membership import memberships


async def load_membership(db: AsyncSession, principal: Principal) -> None:
    """Read where the principal's user belongs, once per request (administrators need no
    grants, so nothing is read for them). Everything that checks rights reads it from the
    principal, so a change in the organisation counts from the caller's next request."""
    if principal.membership is None and not principal.is_admin:
        principal.membership = await memberships(db, principal.user_id)
