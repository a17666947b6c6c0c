"""Rule run log, run-time switches, round-robin positions and in-app notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, JsonType, utcnow

#: How a firing ended.
RUN_STATUSES = ("done", "failed", "loop", "too_deep", "test")


class RuleRun(Base):
    """One firing of a rule on a record: what it changed and what each action did.

    Written in the triggering transaction (a rolled-back write leaves no run); a failed
    firing is written by itself after the write's savepoint rolled back (see
    :mod:`runtime.rules.service`), so the log shows it while the write goes on."""

    __tablename__ = "rule_runs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    rule_key: Mapped[str] = mapped_column(String(64))
    form_id: Mapped[int] = mapped_column(IdType)
    record_id: Mapped[int | None] = mapped_column(IdType)
    trigger: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    #: How many rule firings led to this one (0: a user's or a flow's write).
    depth: Mapped[int] = mapped_column(default=0)
    #: Field key → [before, after] of the writes the rule made to its record.
    changes: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    #: Per action: {"type", "ok", "detail"}.
    actions: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_rule_runs_rule", "app_id", "rule_key", "id"),
        Index("ix_rule_runs_record", "form_id", "record_id", "id"),
    )


class RuleSwitch(Base):
    """A rule switched off (or on again) at run time, overriding its published ``enabled``."""

    __tablename__ = "rule_switches"

    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    rule_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    enabled: Mapped[bool]
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RuleTurn(Base):
    """Whose turn it is: the user a round-robin assignment gave the last record to."""

    __tablename__ = "rule_turns"

    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    rule_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: ``actions[i]`` or ``actions[i].keywords[j]``.
    slot: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_user_id: Mapped[int | None] = mapped_column(IdType)


class Notification(Base):
    """An in-app notification for one user (rules' ``notify``; later flows and channels)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    #: What it is about: {"app", "form", "record_id", "rule"}.
    subject: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    read_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_notifications_user", "user_id", "read_at", "id"),)


class RuleMark(Base):
    """A scanned rule fired on a record for one period: ``anchor_at`` is the value of the
    time trigger's field it fired for (the scan skips marked periods; a record whose field
    moves on starts a new period). Inserted before the firing, in its transaction, so two
    workers scanning at once fire a record once."""

    __tablename__ = "rule_marks"

    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    rule_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    anchor_at: Mapped[datetime] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaState(Base):
    """A record's SLA clock (``engines.rules.sla.SlaClock``), recomputed on every write of the
    record: due and warning times are indexed, so finding breaches is a range query."""

    __tablename__ = "sla_states"

    form_id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    record_id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=False)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    policy: Mapped[str] = mapped_column(String(64))
    #: The app version the clock was computed under: after a publish the scan recomputes the
    #: clocks of an older version (a changed calendar, target or policy).
    version_id: Mapped[int] = mapped_column(IdType)
    started_at: Mapped[datetime]
    paused_seconds: Mapped[int] = mapped_column(default=0)
    paused_since: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    response_due_at: Mapped[datetime | None] = mapped_column(index=True)
    resolution_due_at: Mapped[datetime | None] = mapped_column(index=True)
    response_warn_at: Mapped[datetime | None] = mapped_column(index=True)
    resolution_warn_at: Mapped[datetime | None] = mapped_column(index=True)
    response_warned: Mapped[bool] = mapped_column(default=False)
    resolution_warned: Mapped[bool] = mapped_column(default=False)
    response_breached: Mapped[bool] = mapped_column(default=False)
    resolution_breached: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
