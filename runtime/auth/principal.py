"""Who is making a request, and how they proved it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from runtime.auth.models import User, UserSession

if TYPE_CHECKING:
    from runtime.org.membership import Membership


@dataclass
class Principal:
    user: User
    via: Literal["session", "token", "system"]
    session: UserSession | None = None
    token_id: int | None = None
    #: The session's or token's "last used" time is old enough to be refreshed.
    stale_seen: bool = False
    #: Where the user belongs (loaded once per request for non-administrators; None means
    #: not loaded, and then no role, group or department grant matches).
    membership: Membership | None = None
    #: The organisation's version when the request began (``epoch:version``, read with the
    #: token or session; None when unknown): a membership cached at this version is current.
    org_stamp: str | None = None
    #: A narrowed API token: the app keys and actions it may use (None: no narrowing).
    token_apps: frozenset[str] | None = None
    token_actions: frozenset[str] | None = None
    #: Rights per (published version, form), computed once per request.
    access_cache: dict[tuple[str, int], Any] = field(default_factory=dict)

    @property
    def user_id(self) -> int:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin
