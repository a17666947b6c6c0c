"""Flow instances and their live parts as rows: tokens, tasks (with the pools that may claim
them), timers, CC notices and history (DESIGN §4: every transition is one transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, JsonType, utcnow


class FlowInstance(Base):
    """One run of a flow; ``row_version`` is the optimistic lock every transition takes."""

    __tablename__ = "flow_instances"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    #: The app version whose definition holds the flow (instances keep their version).
    version_id: Mapped[int] = mapped_column(ForeignKey("app_versions.id", ondelete="RESTRICT"))
    flow_key: Mapped[str] = mapped_column(String(64))
    form_id: Mapped[int | None] = mapped_column(ForeignKey("forms.id", ondelete="SET NULL"))
    record_id: Mapped[int | None] = mapped_column(IdType)
    status: Mapped[str] = mapped_column(String(16))
    variables: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    #: Ids given out so far within the instance (tokens, tasks, timers share one sequence).
    seq: Mapped[int] = mapped_column(default=0)
    #: User-task nodes passed, in order (targets a task may return to).
    visited: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    error: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    #: The instance (and token) that started this one from a call activity.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("flow_instances.id", ondelete="CASCADE")
    )
    parent_token: Mapped[int | None]
    #: The call activity's visit id (a late answer for an earlier visit is ignored).
    parent_call: Mapped[int | None]
    row_version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        Index("ix_flow_instances_record", "form_id", "record_id"),
        Index("ix_flow_instances_started_by", "started_by", "id"),
        Index("ix_flow_instances_app_status", "app_id", "status"),
        Index("ix_flow_instances_parent_id", "parent_id"),
    )


class FlowToken(Base):
    """Where an instance stands: one row per live token."""

    __tablename__ = "flow_tokens"

    instance_id: Mapped[int] = mapped_column(
        ForeignKey("flow_instances.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    node: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    via: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class FlowTask(Base):
    """A user task (one per signer in a countersign); the inbox reads this table."""

    __tablename__ = "flow_tasks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("flow_instances.id", ondelete="CASCADE"))
    seq: Mapped[int]
    token: Mapped[int]
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    node: Mapped[str] = mapped_column(String(100))
    #: The node's name when the task was created (labels per locale).
    name: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    status: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    candidates: Mapped[list[Any]] = mapped_column(JsonType, default=list)
    signer: Mapped[int | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint("instance_id", "seq"),
        Index("ix_flow_tasks_assignee", "assignee_id", "status", "id"),
        Index("ix_flow_tasks_completed_by", "completed_by", "completed_at"),
        Index(
            "ix_flow_tasks_open_due",
            "due_at",
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


class FlowTaskPool(Base):
    """A pool that may claim an unassigned task: a role, group, department (or its subtree),
    a listed user, or the administrators."""

    __tablename__ = "flow_task_pools"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("flow_tasks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int] = mapped_column(IdType, default=0)

    __table_args__ = (
        Index("ix_flow_task_pools_kind_ref", "kind", "ref_id"),
        Index("ix_flow_task_pools_task_id", "task_id"),
    )


class FlowTimer(Base):
    """A timer of an instance; a job fires it at ``due_at``."""

    __tablename__ = "flow_timers"

    instance_id: Mapped[int] = mapped_column(
        ForeignKey("flow_instances.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    node: Mapped[str] = mapped_column(String(100))
    token: Mapped[int]
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    boundary_of: Mapped[int | None]


class FlowCc(Base):
    """A CC notice 抄送: the user may read the task and its instance."""

    __tablename__ = "flow_cc"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("flow_instances.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("flow_tasks.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("task_id", "user_id"),
        Index("ix_flow_cc_user_id", "user_id", "id"),
    )


class FlowHistory(Base):
    """One thing an instance did: who, what, when, which data changed."""

    __tablename__ = "flow_history"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("flow_instances.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    node: Mapped[str | None] = mapped_column(String(100))
    task_seq: Mapped[int | None]
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)

    __table_args__ = (Index("ix_flow_history_instance", "instance_id", "id"),)
