"""/api/v1/audit: the audit log, for administrators."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from runtime.audit.models import AuditEntry
from runtime.deps import AdminUser, IdQuery, SessionDep
from runtime.errors import Text

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    token_id: int | None
    ip: str | None
    request_id: str | None
    action: str
    entity_type: str
    entity_id: str | None
    changes: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditOut]
    next_before_id: int | None


@router.get("", response_model=AuditPage)
async def list_audit(
    admin: AdminUser,
    db: SessionDep,
    action: Annotated[Text | None, Query(max_length=100)] = None,
    entity_type: Annotated[Text | None, Query(max_length=64)] = None,
    entity_id: Annotated[Text | None, Query(max_length=64)] = None,
    actor_id: IdQuery = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: IdQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """Newest first; page with ``before_id`` = the previous page's ``next_before_id``."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    filters = {
        AuditEntry.action: action,
        AuditEntry.entity_type: entity_type,
        AuditEntry.entity_id: entity_id,
        AuditEntry.actor_id: actor_id,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    entries = list((await db.execute(query)).scalars())
    next_before = entries[-1].id if len(entries) == limit else None
    return AuditPage(
        items=[AuditOut.model_validate(e) for e in entries], next_before_id=next_before
    )
