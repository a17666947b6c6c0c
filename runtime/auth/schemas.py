"""Request and response bodies of the auth API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from runtime.auth.passwords import MAX_LENGTH
from runtime.errors import reject_nul


class StrictModel(BaseModel):
    """Request bodies reject unknown fields."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    # NUL in any text (also inside JSON objects) is a 422, not a PostgreSQL error (500).
    _no_nul = field_validator("*")(reject_nul)


class LoginIn(StrictModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    email: str | None
    is_admin: bool
    is_active: bool
    locale: str | None
    time_zone: str | None
    must_change_password: bool
    attributes: dict[str, Any]
    last_login_at: datetime | None
    created_at: datetime
    row_version: int


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str
    expires_at: datetime


class PasswordChangeIn(StrictModel):
    current_password: str = Field(min_length=1, max_length=MAX_LENGTH)
    new_password: str = Field(min_length=1, max_length=MAX_LENGTH)


TokenAction = Literal["create", "read", "update", "delete", "export", "import", "design"]


class TokenCreateIn(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    expires_at: datetime | None = None
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    #: Narrow the token to these apps (keys) and actions; omitted: everything its user may do.
    apps: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]] | None = Field(
        default=None, max_length=100
    )
    actions: list[TokenAction] | None = Field(default=None, max_length=7)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    apps: list[str] | None = None
    actions: list[str] | None = None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The secret; shown only in this response.")
