"""Bodies of the webhook delivery log API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_kind: str
    source_key: str
    source_id: int | None
    step: str | None
    job_id: int | None
    attempt: int
    idempotency_key: str | None
    method: str
    url: str
    address: str | None
    request_bytes: int
    outcome: str
    status_code: int | None
    response_excerpt: str | None
    error: str | None
    duration_ms: int
    created_at: datetime


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    #: Pass as ``cursor`` for the next (older) page; null on the last page.
    next_cursor: str | None
