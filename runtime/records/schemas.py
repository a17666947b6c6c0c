"""Bodies of the records API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runtime.records.writer import MAX_BULK


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordOut(BaseModel):
    id: int
    row_version: int
    created_at: datetime
    created_by: int | None
    updated_at: datetime
    updated_by: int | None
    owner_id: int | None
    department_id: int | None
    deleted_at: datetime | None
    values: dict[str, Any]


class RecordPage(BaseModel):
    items: list[RecordOut]
    next_cursor: str | None
    total: int | None = None


class RecordCreateIn(StrictModel):
    values: dict[str, Any] = Field(description="Field values by key")


class RecordPatchIn(StrictModel):
    row_version: int = Field(description="The version you read; a stale one gets 409")
    values: dict[str, Any]


class BulkUpdateItem(StrictModel):
    id: int = Field(ge=1)
    row_version: int
    values: dict[str, Any]


class BulkIn(StrictModel):
    """Create or update up to 1,000 records atomically: all succeed or none is written."""

    create: list[dict[str, Any]] = Field(default_factory=list, max_length=MAX_BULK)
    update: list[BulkUpdateItem] = Field(default_factory=list, max_length=MAX_BULK)


class BulkOut(BaseModel):
    created: list[RecordOut]
    updated: list[RecordOut]


class QueryIn(StrictModel):
    filter: Any = Field(default=None, description="A JsonLogic condition over field keys")
    sort: str | None = Field(default=None, max_length=300, examples=["-created_at,subject"])
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=200)
    fields: str | None = Field(default=None, max_length=2000)
    total: bool = False
    deleted: bool = False
    q: str | None = Field(
        default=None, max_length=200, description="Words to find in the searchable fields"
    )


class CommentIn(StrictModel):
    body: str = Field(min_length=1, max_length=20000)
    internal: bool = Field(default=False, description="An internal note, not for customers")
    attachments: list[int] = Field(default_factory=list, max_length=20)


class TimelineEntry(BaseModel):
    kind: str  # "history" or "comment"
    id: int
    at: datetime
    actor_id: int | None
    action: str | None = None
    source: str | None = None
    changes: dict[str, Any] | None = None
    body: str | None = None
    internal: bool | None = None
    mentions: list[int] | None = None
    attachments: list[int] | None = None


class OverviewSourceOut(BaseModel):
    """A form on a record's overview timeline (only those the caller may read)."""

    index: int
    form: str
    label: dict[str, str]
    fields: list[str]
    title: str | None


class OverviewEntryOut(BaseModel):
    source: int
    form: str
    id: int
    at: datetime
    title: Any = None
    values: dict[str, Any]


class OverviewFigureOut(BaseModel):
    key: str
    label: dict[str, str]
    form: str
    agg: str
    field: str | None
    value: Any = None


class OverviewOut(BaseModel):
    """A record's 360° view: key figures (first page only) and a page of the timeline,
    newest first; follow ``next_cursor`` with ``before=``."""

    figures: list[OverviewFigureOut] | None = None
    sources: list[OverviewSourceOut]
    items: list[OverviewEntryOut]
    next_cursor: str | None
