"""Bodies of the webhook subscriptions API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from runtime.auth.schemas import StrictModel

Event = Literal["created", "updated", "deleted"]


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("use an http:// or https:// URL")
    return value


class SubscriptionIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    #: The form's stable id; null: every form of the app.
    form_id: int | None = Field(default=None, ge=1)
    events: list[Event] = Field(min_length=1, max_length=3)
    url: str = Field(min_length=8, max_length=2000)
    #: The signing secret; omitted: one is generated and returned once (``secret``).
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    active: bool = True

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value)


class SubscriptionPatch(StrictModel):
    row_version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    form_id: int | None = Field(default=None, ge=1)
    events: list[Event] | None = Field(default=None, min_length=1, max_length=3)
    url: str | None = Field(default=None, min_length=8, max_length=2000)
    #: A new signing secret (rotation); the old one stops working at once.
    secret: str | None = Field(default=None, min_length=16, max_length=200)
    active: bool | None = None

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)


class SubscriptionOut(BaseModel):
    id: int
    app_id: int
    name: str
    form_id: int | None
    events: list[str]
    url: str
    active: bool
    row_version: int
    created_at: datetime
    updated_at: datetime
    #: Only in the answer that created the subscription or set its secret: shown once.
    secret: str | None = None


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]
