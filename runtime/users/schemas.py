"""Bodies of the user administration API."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from runtime.auth.passwords import MAX_LENGTH
from runtime.auth.schemas import StrictModel, UserOut

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
Locale = Literal["en", "zh-CN"]


def _username(value: str) -> str:
    value = value.strip().lower()
    if not USERNAME_RE.match(value):
        raise ValueError("use lowercase letters, digits and . _ @ - (at most 64)")
    return value


def _email(value: str | None) -> str | None:
    if value is None or value == "":
        return None
    value = value.strip()
    if not EMAIL_RE.match(value) or len(value) > 320:
        raise ValueError("not a valid e-mail address")
    return value.lower()


class UserCreateIn(StrictModel):
    username: str = Field(min_length=1, max_length=64)
    password: str | None = Field(
        default=None,
        max_length=MAX_LENGTH,
        description="Leave out to generate one; it is returned once.",
    )
    display_name: str = Field(default="", max_length=200)
    email: str | None = Field(default=None, max_length=320)
    is_admin: bool = False
    locale: Locale | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] = Field(default_factory=dict)

    _check_username = field_validator("username")(_username)
    _check_email = field_validator("email")(_email)


class UserUpdateIn(StrictModel):
    row_version: int = Field(description="The version you read; a stale one gets 409.")
    display_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    is_admin: bool | None = None
    is_active: bool | None = None
    locale: Locale | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] | None = None

    _check_email = field_validator("email")(_email)


class PasswordResetIn(StrictModel):
    password: str | None = Field(
        default=None, max_length=MAX_LENGTH, description="Leave out to generate one."
    )
    must_change: bool = True


class UserCreatedOut(BaseModel):
    user: UserOut
    password: str | None = Field(description="Generated password, shown only here.")


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int
