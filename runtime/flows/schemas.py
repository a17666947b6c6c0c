"""Bodies of the flows API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from runtime.errors import reject_nul

MAX_ID = 2**63 - 1


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")
    _no_nul = field_validator("*")(reject_nul)


class StartIn(_In):
    record_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    variables: dict[str, Any] = Field(default_factory=dict)


class CompleteIn(_In):
    #: ``complete`` for a plain step; ``approve`` / ``reject`` for approvals and countersigns.
    action: Literal["complete", "approve", "reject"] = "complete"
    #: Record fields the step lets you edit (field key → value).
    fields: dict[str, Any] = Field(default_factory=dict)
    #: Flow variables (conditions further on can read them).
    variables: dict[str, Any] = Field(default_factory=dict)
    comment: str | None = Field(default=None, max_length=10_000)


class TransferIn(_In):
    to: int = Field(ge=1, le=MAX_ID, description="The user who gets the task")
    comment: str | None = Field(default=None, max_length=10_000)


class SignerIn(_In):
    user: int = Field(ge=1, le=MAX_ID, description="The user to add as a signer")


class ReturnIn(_In):
    target: str = Field(min_length=1, max_length=100, description="An earlier user task's node id")
    comment: str | None = Field(default=None, max_length=10_000)


class CancelIn(_In):
    reason: str | None = Field(default=None, max_length=10_000)


class TaskOut(BaseModel):
    id: int
    instance_id: int
    app: str
    flow: str
    instance_status: str
    node: str
    name: dict[str, Any]
    status: str
    assignee_id: int | None
    candidates: list[Any]
    signer: int | None
    outcome: str | None
    comment: str | None
    form_id: int | None
    record_id: int | None
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    completed_at: datetime | None
    completed_by: int | None


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_before_id: int | None


class TaskDetailOut(TaskOut):
    #: What you may do with it now.
    actions: list[str]
    #: Field key → editable / required / readonly / hidden at this step.
    fields: dict[str, str]
    #: The record's values this step shows (hidden fields left out).
    record: dict[str, Any] | None
    #: For countersigns: signers, approvals and rejections so far, and the rule.
    countersign: dict[str, Any] | None
    #: Nodes this task may be returned to.
    return_targets: list[str]


class InstanceOut(BaseModel):
    id: int
    app: str
    flow: str
    status: str
    form_id: int | None
    record_id: int | None
    started_by: int | None
    started_at: datetime
    ended_at: datetime | None
    error: dict[str, Any] | None
    row_version: int


class PositionOut(BaseModel):
    node: str
    type: str
    name: dict[str, Any]
    tokens: int


class InstanceDetailOut(InstanceOut):
    variables: dict[str, Any]
    position: list[PositionOut]
    tasks: list[TaskOut]
    children: list[int]
    parent_id: int | None


class InstancePage(BaseModel):
    items: list[InstanceOut]
    next_before_id: int | None


class HistoryOut(BaseModel):
    id: int
    at: datetime
    action: str
    actor_id: int | None
    node: str | None
    task_seq: int | None
    data: dict[str, Any] | None


class HistoryPage(BaseModel):
    items: list[HistoryOut]
    next_after_id: int | None


class CountsOut(BaseModel):
    mine: int
    group: int
    cc: int
    overdue: int


class FlowOut(BaseModel):
    key: str
    name: dict[str, Any]
    form: str | None
    triggers: list[dict[str, Any]]
