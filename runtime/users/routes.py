"""/api/v1/users: user administration (administrators only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm.exc import StaleDataError

from runtime.auth.schemas import UserOut
from runtime.deps import AdminUser, IdPath, SessionDep
from runtime.errors import ProblemError, Text
from runtime.users import service
from runtime.users.schemas import (
    PasswordResetIn,
    UserCreatedOut,
    UserCreateIn,
    UserPage,
    UserUpdateIn,
)

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("", response_model=UserPage)
async def list_users(
    admin: AdminUser,
    db: SessionDep,
    q: Annotated[Text | None, Query(max_length=100)] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> UserPage:
    users, total = await service.list_users(db, q=q, active=active, limit=limit, offset=offset)
    return UserPage(
        items=[UserOut.model_validate(u) for u in users], total=total, limit=limit, offset=offset
    )


@router.post("", response_model=UserCreatedOut, status_code=status.HTTP_201_CREATED)
async def create_user(body: UserCreateIn, admin: AdminUser, db: SessionDep) -> UserCreatedOut:
    user, generated = await service.create_user(db, admin, **body.model_dump())
    await db.commit()
    return UserCreatedOut(user=UserOut.model_validate(user), password=generated)


@router.get("/{user_id}", response_model=UserOut)
async def get_user(user_id: IdPath, admin: AdminUser, db: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.get_user(db, user_id))


@router.patch("/{user_id}", response_model=UserOut)
async def update_user(
    user_id: IdPath, body: UserUpdateIn, admin: AdminUser, db: SessionDep
) -> UserOut:
    """Change a user; send the ``row_version`` you read (409 if someone changed it since)."""
    changes = body.model_dump(exclude_unset=True, exclude={"row_version"})
    user = await service.update_user(db, admin, user_id, body.row_version, changes)
    try:
        await db.commit()
    except StaleDataError as exc:
        await db.rollback()
        current = await service.get_user(db, user_id)
        raise ProblemError("conflict", extra={"current_row_version": current.row_version}) from exc
    return UserOut.model_validate(user)


@router.post("/{user_id}/password", response_model=UserCreatedOut)
async def reset_password(
    user_id: IdPath, body: PasswordResetIn, admin: AdminUser, db: SessionDep
) -> UserCreatedOut:
    """Set a user's password (or generate one) and sign them out everywhere."""
    generated = await service.reset_password(db, admin, user_id, body.password, body.must_change)
    await db.commit()
    user = await service.get_user(db, user_id)
    return UserCreatedOut(user=UserOut.model_validate(user), password=generated)
