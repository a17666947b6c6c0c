"""Bodies of the apps API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engines.form.schema import KEY_PATTERN, Labels, _check_labels
from runtime.errors import reject_nul


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # NUL in any text (also inside definitions) is a 422, not a PostgreSQL error (500).
    _no_nul = field_validator("*")(reject_nul)


class AppCreateIn(StrictModel):
    key: str = Field(pattern=KEY_PATTERN)
    name: Labels
    description: Labels = Field(default_factory=dict)
    icon: str | None = Field(default=None, max_length=64)


class AppOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: dict[str, Any]
    description: dict[str, Any]
    icon: str | None
    published_version_id: int | None
    created_at: datetime
    updated_at: datetime
    row_version: int


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    status: str
    schema_version: int
    note: str
    created_at: datetime
    published_at: datetime | None
    published_by: int | None


class DraftOut(BaseModel):
    app_id: int
    row_version: int
    definition: dict[str, Any]
    updated_at: datetime | None = None


class DraftIn(StrictModel):
    row_version: int
    definition: dict[str, Any]


class FormCreateIn(StrictModel):
    key: str = Field(pattern=KEY_PATTERN)
    label: Labels
    row_version: int = Field(description="The draft's row_version you read")

    # Checked here like FormSchema checks it, so a bad label is a 422 and not a 500 later.
    _label = field_validator("label")(_check_labels)


class ProblemOut(BaseModel):
    path: str
    code: str
    message: str


class ValidationOut(BaseModel):
    ok: bool
    problems: list[ProblemOut]


class PurgeIn(StrictModel):
    form_id: int
    field_id: int


class PlanOut(BaseModel):
    #: Each with ``summary`` in the caller's language (and ``values`` for archive and purge:
    #: the records holding a value of the field now).
    operations: list[dict[str, Any]]
    #: Each with ``summary``.
    blockers: list[dict[str, Any]]
    #: What changes against the published version, part by part: {"added", "removed",
    #: "changed"} lists per part (as in a version diff).
    parts: dict[str, dict[str, list[dict[str, Any]]]] = Field(default_factory=dict)
    #: ``parts`` in sentences.
    summary: list[str] = Field(default_factory=list)
    #: The number of the published version the plan starts from (None: never published).
    published_version: int | None = None


class PublishIn(StrictModel):
    row_version: int = Field(description="The draft's row_version you validated")
    note: str = Field(default="", max_length=1000)
    purge: list[PurgeIn] = Field(default_factory=list, description="Archived fields to delete")


class PublishOut(BaseModel):
    version: VersionOut
    operations: list[dict[str, Any]]
