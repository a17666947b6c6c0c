"""The public forms' API bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engines.form.schema import KEY_PATTERN
from runtime.ratelimit.rates import parse_rate

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$"
Texts = dict[str, str]


def _texts(value: Texts | None) -> Texts | None:
    if value is None:
        return None
    unknown = sorted(set(value) - {"en", "zh-CN"})
    if unknown:
        raise ValueError(f"unknown locale {unknown[0]!r}: use en or zh-CN")
    if any(len(text) > 4000 for text in value.values()):
        raise ValueError("at most 4000 characters")
    return value


def _rate(value: str | None) -> str | None:
    if value is None:
        return None
    parse_rate(value)  # raises ValueError saying how
    return value.strip()


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _check_title = field_validator("title", "intro", "success", check_fields=False)(_texts)
    _check_rate = field_validator("rate_limit", check_fields=False)(_rate)


class PublicFormIn(_Common):
    form: str = Field(pattern=KEY_PATTERN, max_length=63)
    slug: str = Field(pattern=SLUG_PATTERN)
    enabled: bool = True
    title: Texts = Field(default_factory=dict)
    intro: Texts = Field(default_factory=dict)
    success: Texts = Field(default_factory=dict)
    fields: list[str] | None = Field(default=None, max_length=200)
    collect_email: bool = True
    rate_limit: str = "10/hour"


class PublicFormPatch(_Common):
    row_version: int = Field(ge=1)
    slug: str | None = Field(default=None, pattern=SLUG_PATTERN)
    enabled: bool | None = None
    title: Texts | None = None
    intro: Texts | None = None
    success: Texts | None = None
    fields: list[str] | None = Field(default=None, max_length=200)
    collect_email: bool | None = None
    rate_limit: str | None = None


class PublicFormOut(BaseModel):
    id: int
    app_id: int
    form: str
    slug: str
    url: str
    enabled: bool
    title: Texts
    intro: Texts
    success: Texts
    fields: list[str] | None
    #: The fields the link shows now (``fields``, or the default).
    shown: list[str]
    collect_email: bool
    rate_limit: str
    #: Submissions go through the app's intake (customer matched, ticket with channel web).
    intake: bool
    row_version: int
    created_at: datetime
    updated_at: datetime


class PublicFormList(BaseModel):
    items: list[PublicFormOut]


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class ChallengeAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(max_length=200)
    answer: str = Field(max_length=10)


class SubmissionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: dict[str, Any] = Field(default_factory=dict)
    contact: Contact = Field(default_factory=Contact)
    challenge: ChallengeAnswer
    #: The honeypot: people leave it empty (the page hides it); bots fill it.
    website: str | None = Field(default=None, max_length=500)


class ChallengeOut(BaseModel):
    question: str
    token: str


class FieldOut(BaseModel):
    key: str
    type: str
    label: Texts
    required: bool
    options: list[dict[str, Any]] = Field(default_factory=list)


class PublicFormView(BaseModel):
    slug: str
    title: str
    intro: str
    fields: list[FieldOut]
    contact: list[str]
    challenge: ChallengeOut


class SubmissionOut(BaseModel):
    record_id: int
    tracking_url: str
    token: str
    message: str
    ticket_number: str | None = None


class TrackingOut(BaseModel):
    title: str
    record_id: int
    created_at: datetime
    status: str | None
    number: str | None
    values: dict[str, Any]
    replies: list[dict[str, Any]]
