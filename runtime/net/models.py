"""The webhook delivery log: one row per attempt, refusals and failures included."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, utcnow

DELIVERED, FAILED, REJECTED, REFUSED = "delivered", "failed", "rejected", "refused"
#: ``delivered``: answered 2xx; ``failed``: no answer or 5xx/429 (retried while attempts
#: remain); ``rejected``: answered 3xx/4xx (not retried); ``refused``: the egress policy or the
#: URL forbade the call, nothing was sent (not retried).
OUTCOMES = (DELIVERED, FAILED, REJECTED, REFUSED)


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: What sent it: ``flow`` (a service task) now, ``rule`` (an automation rule) later.
    source_kind: Mapped[str] = mapped_column(String(16))
    #: The sender by key: ``<app>/<flow>`` for flows.
    source_key: Mapped[str] = mapped_column(String(200))
    #: The sender's row: the flow instance.
    source_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    #: The step within the sender: the flow node.
    step: Mapped[str | None] = mapped_column(String(64))
    job_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    attempt: Mapped[int]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(8))
    #: The URL as configured (a user name or password in it is masked); headers are not kept.
    url: Mapped[str] = mapped_column(String(2000))
    #: The address connected to (after the policy check), when the call got that far.
    address: Mapped[str | None] = mapped_column(String(64))
    request_bytes: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None]
    #: The first 2 KB of the answer (UTF-8, damaged bytes replaced).
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_webhook_deliveries_source", "source_kind", "source_key", "created_at"),
        Index("ix_webhook_deliveries_created_at", "created_at"),
    )
