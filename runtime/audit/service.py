"""Writing audit entries: in the same transaction as the change they describe."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit.models import AuditEntry
from runtime.auth.principal import Principal
from runtime.requestctx import client_ip_var, request_id_var

_SECRET_FIELDS = {"password", "password_hash", "token", "token_hash", "csrf_token"}


def _scrub(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: ("***" if k in _SECRET_FIELDS else v) for k, v in changes.items()}


def record(
    session: AsyncSession,
    actor: Principal | None,
    action: str,
    entity_type: str,
    entity_id: object | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to ``session``; it commits (or not) with the change itself."""
    entry = AuditEntry(
        actor_id=actor.user.id if actor and actor.via != "system" else None,
        actor_name=actor.user.username if actor else None,
        token_id=actor.token_id if actor else None,
        ip=client_ip_var.get(),
        request_id=request_id_var.get(),
        action=action,
        entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id),
        changes=_scrub(changes or {}),
    )
    session.add(entry)
    return entry


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{field: [old, new]}`` for the fields whose value changed."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
