"""Bodies of the saved views API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from runtime.records.schemas import StrictModel

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Key = Annotated[str, StringConstraints(max_length=63)]


class ViewIn(StrictModel):
    name: Name
    columns: list[Key] = Field(default_factory=list, max_length=200)
    filter: Any = Field(default=None, description="A JsonLogic condition over field keys")
    sort: str | None = Field(default=None, max_length=300, examples=["-created_at"])
    shared: bool = Field(default=False, description="Offer it to every user (administrators)")


class ViewPatchIn(StrictModel):
    row_version: int = Field(description="The version you read; a stale one gets 409")
    name: Name | None = None
    columns: list[Key] | None = Field(default=None, max_length=200)
    filter: Any = None
    sort: str | None = Field(default=None, max_length=300)
    shared: bool | None = None


class ViewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    columns: list[str]
    filter: Any
    sort: str | None
    shared: bool
    owner_id: int
    row_version: int
    created_at: datetime
    updated_at: datetime
