"""Who is making a request, and how they proved it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from runtime.auth.models import User, UserSession


@dataclass
class Principal:
    user: User
    via: Literal["session", "token", "system"]
    session: UserSession | None = None
    token_id: int | None = None
    #: The session's or token's "last used" time is old enough to be refreshed.
    stale_seen: bool = False

    @property
    def user_id(self) -> int:
        return self.user.id

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin
