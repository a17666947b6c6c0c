"""The channels API's bodies and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engines.form.schema import KEY_PATTERN


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(min_length=1, max_length=32)
    key: str = Field(pattern=KEY_PATTERN, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    enabled: bool = True
    intake: str | None = Field(default=None, pattern=KEY_PATTERN, max_length=63)
    #: The kind's settings, secret ones included (they are stored encrypted).
    settings: dict[str, Any] = Field(default_factory=dict)


class ChannelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    row_version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    enabled: bool | None = None
    intake: str | None = Field(default=None, pattern=KEY_PATTERN, max_length=63)
    #: Settings to change; a secret left out (or null) keeps its stored value.
    settings: dict[str, Any] | None = None


class ChannelOut(BaseModel):
    id: int
    app_id: int
    kind: str
    key: str
    name: str
    enabled: bool
    intake: str | None
    #: Settings without the secrets.
    settings: dict[str, Any]
    #: Which secret settings are set (their values are never returned).
    secrets_set: list[str]
    row_version: int
    created_at: datetime
    updated_at: datetime


class ChannelList(BaseModel):
    items: list[ChannelOut]


class KindOut(BaseModel):
    kind: str
    label: dict[str, str]
    #: JSON Schema of the kind's settings.
    settings_schema: dict[str, Any]
    secret_fields: list[str]


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel_id: int
    direction: str
    external_id: str | None
    status: str
    code: str | None
    detail: str | None
    raw_bytes: int | None = None
    raw_file_id: int | None
    customer_id: int | None
    ticket_id: int | None
    communication_id: int | None
    created_at: datetime


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: int | None = None
