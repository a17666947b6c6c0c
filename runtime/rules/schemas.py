"""Request and response bodies of the rules and notifications API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RuleOut(BaseModel):
    key: str
    name: dict[str, str]
    form: str
    trigger: dict[str, Any]
    #: Whether it fires now: the published switch, unless switched at run time.
    enabled: bool
    switched: bool
    actions: list[str]


class SwitchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool


class TestRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    record_id: int = Field(ge=1, le=2**63 - 1)
    #: The event to imagine (default: the trigger's own kind; "updated" for field changes).
    kind: Literal["created", "updated", "deleted"] | None = None
    #: Field key → [from, to] (default for a field-change trigger: the field changing from the
    #: trigger's ``from`` to the record's current value).
    changes: dict[str, list[Any]] | None = None


class TestRunOut(BaseModel):
    rule: str
    record_id: int
    kind: str
    trigger_matches: bool
    condition: bool
    fires: bool
    #: What the actions would do (nothing is written; mail and webhooks are not sent).
    status: str | None = None
    changes: dict[str, Any] = Field(default_factory=dict)
    actions: list[dict[str, Any]] = Field(default_factory=list)
    error: str | None = None


class RunOut(BaseModel):
    id: int
    rule: str
    form_id: int
    record_id: int | None
    trigger: str
    status: str
    depth: int
    changes: dict[str, Any]
    actions: list[dict[str, Any]]
    error: str | None
    actor_id: int | None
    created_at: datetime


class RunPage(BaseModel):
    items: list[RunOut]
    #: Pass as ``before`` for the next (older) page.
    next_before: int | None


class NotificationOut(BaseModel):
    id: int
    title: str
    body: str
    subject: dict[str, Any]
    read: bool
    created_at: datetime


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    unread: int
    next_before: int | None


class SlaTargetOut(BaseModel):
    due_at: datetime | None
    warn_at: datetime | None
    breached: bool
    overdue: bool


class SlaOut(BaseModel):
    policy: str
    started_at: datetime
    paused: bool
    paused_seconds: int
    responded_at: datetime | None
    resolved_at: datetime | None
    response: SlaTargetOut
    resolution: SlaTargetOut
