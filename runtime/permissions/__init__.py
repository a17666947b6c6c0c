"""Permissions: who may do what with which records and fields (DESIGN §6)."""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.org.membership import Membership, memberships

#: Memberships kept per process (least recently used dropped first).
MEMBERSHIP_CACHE_SIZE = 10_000

_cache: OrderedDict[int, tuple[str, Membership]] = OrderedDict()
_lock = Lock()


async def load_membership(db: AsyncSession, principal: Principal) -> None:
    """Where the principal's user belongs, once per request (administrators need no grants,
    so nothing is read for them). Everything that checks rights reads it from the principal,
    so a change in the organisation counts from the caller's next request.

    The membership is read from the database unless this process read it at the
    organisation version the request started with (``principal.org_stamp``, read with the
    token or session): every committed write to departments, roles, groups or their members
    raises that version (database triggers, :class:`runtime.org.models.OrgVersion`), so a
    membership cached at the current version is the current one."""
    if principal.membership is not None or principal.is_admin:
        return
    stamp = principal.org_stamp
    if stamp is not None:
        with _lock:
            found = _cache.get(principal.user_id)
            if found is not None and found[0] == stamp:
                _cache.move_to_end(principal.user_id)
                principal.membership = found[1]
                return
    membership = await memberships(db, principal.user_id)
    principal.membership = membership
    if stamp is not None:
        with _lock:
            _cache[principal.user_id] = (stamp, membership)
            _cache.move_to_end(principal.user_id)
            while len(_cache) > MEMBERSHIP_CACHE_SIZE:
                _cache.popitem(last=False)


def clear_membership_cache() -> None:
    """Forget every cached membership (tests that rebuild the database call it)."""
    with _lock:
        _cache.clear()
