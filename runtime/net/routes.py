"""/api/v1/webhook-deliveries: the webhook delivery log, for administrators."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy import and_, or_, select

from runtime.deps import MAX_ID, AdminUser, IdQuery, SessionDep
from runtime.errors import FieldError, ProblemError, Text
from runtime.net.models import WebhookDelivery
from runtime.net.schemas import DeliveryOut, DeliveryPage

router = APIRouter(prefix="/api/v1/webhook-deliveries", tags=["webhooks"])
SourceKind = Literal["flow", "rule", "subscription"]
Outcome = Literal["delivered", "failed", "rejected", "refused"]  # models.OUTCOMES


def encode_cursor(row: WebhookDelivery) -> str:
    raw = f"{row.created_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, row_id = raw.partition("|")
        at, after = datetime.fromisoformat(stamp), int(row_id)
        if not 1 <= after <= MAX_ID or at.tzinfo is None:
            raise ValueError(raw)
        return at, after
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise ProblemError(
            "validation_failed",
            errors=[FieldError("query.cursor", "invalid_cursor", "Pass a next_cursor as it came.")],
        ) from None


@router.get("", response_model=DeliveryPage)
async def list_deliveries(
    admin: AdminUser,
    db: SessionDep,
    source_kind: SourceKind | None = None,
    source: Annotated[
        Text | None, Query(max_length=200, description="The sender's key: <app>/<flow>")
    ] = None,
    source_id: IdQuery = None,  # the sender's row: the flow instance
    outcome: Outcome | None = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """Every attempt, newest first: refusals by the egress policy, failures and retries too."""
    query = (
        select(WebhookDelivery)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
        .limit(limit)
    )
    if source_kind:
        query = query.where(WebhookDelivery.source_kind == source_kind)
    if source:
        query = query.where(WebhookDelivery.source_key == source)
    if source_id:
        query = query.where(WebhookDelivery.source_id == source_id)
    if outcome:
        query = query.where(WebhookDelivery.outcome == outcome)
    if cursor:
        at, row_id = decode_cursor(cursor)
        query = query.where(
            or_(
                WebhookDelivery.created_at < at,
                and_(WebhookDelivery.created_at == at, WebhookDelivery.id < row_id),
            )
        )
    rows = list((await db.execute(query)).scalars())
    return DeliveryPage(
        items=[DeliveryOut.model_validate(r) for r in rows],
        next_cursor=encode_cursor(rows[-1]) if len(rows) == limit else None,
    )
