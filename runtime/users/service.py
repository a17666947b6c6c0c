"""Creating, changing and listing users (admin only), with audit entries."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit import service as audit
from runtime.auth import passwords
from runtime.auth import service as auth
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.errors import FieldError, ProblemError
from runtime.i18n import pick

_PUBLIC_FIELDS = (
    "display_name",
    "email",
    "is_admin",
    "is_active",
    "locale",
    "time_zone",
    "attributes",
)


def _check_time_zone(value: str | None) -> None:
    if value is None:
        return
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        message = pick({"en": "Unknown time zone.", "zh-CN": "未知的时区。"})
        raise ProblemError(
            "validation_failed", errors=[FieldError("time_zone", "unknown_time_zone", message)]
        ) from exc


async def _ensure_unique(
    db: AsyncSession, username: str | None, email: str | None, exclude_id: int | None = None
) -> None:
    errors = []
    if username is not None:
        query = select(User.id).where(User.username == username)
        if (await db.execute(query)).first():
            message = pick({"en": "This username is taken.", "zh-CN": "该用户名已被使用。"})
            errors.append(FieldError("username", "already_exists", message))
    if email is not None:
        query = select(User.id).where(User.email == email)
        if exclude_id is not None:
            query = query.where(User.id != exclude_id)
        if (await db.execute(query)).first():
            message = pick({"en": "This e-mail is taken.", "zh-CN": "该邮箱已被使用。"})
            errors.append(FieldError("email", "already_exists", message))
    if errors:
        raise ProblemError("validation_failed", errors=errors)


async def create_user(
    db: AsyncSession,
    actor: Principal | None,
    *,
    username: str,
    password: str | None,
    display_name: str = "",
    email: str | None = None,
    is_admin: bool = False,
    locale: str | None = None,
    time_zone: str | None = None,
    attributes: dict[str, Any] | None = None,
    must_change_password: bool = False,
    without_password: bool = False,
    password_hash: str | None = None,
) -> tuple[User, str | None]:
    """Create a user; returns the generated password when none was given.

    ``without_password`` creates an account that cannot sign in until an administrator sets
    a password (``POST /api/v1/users/{id}/password``); nothing is generated then.
    ``password_hash`` is the hash of ``password`` computed by the caller (demo users sharing
    one password are hashed once); the password is still checked against the policy.
    """
    username = auth.normalise_username(username)
    generated = None
    if password_hash is not None and password is not None:
        passwords.check_policy(password, username=username)
    elif without_password:
        password_hash = None
        must_change_password = True
    else:
        if password is None:
            password = generated = passwords.generate_password()
            must_change_password = True
        else:
            passwords.check_policy(password, username=username)
        password_hash = passwords.hash_password(password)
    _check_time_zone(time_zone)
    await _ensure_unique(db, username, email)
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=password_hash,
        is_admin=is_admin,
        locale=locale,
        time_zone=time_zone,
        attributes=attributes or {},
        must_change_password=must_change_password,
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:  # a concurrent insert won the race
        await db.rollback()
        raise ProblemError("already_exists", params={"what": username}) from exc
    audit.record(
        db,
        actor,
        "user.create",
        "user",
        user.id,
        {
            "username": username,
            "is_admin": is_admin,
            "email": email,
            **({"without_password": True} if without_password else {}),
        },
    )
    return user, generated


async def get_user(db: AsyncSession, user_id: int) -> User:
    user = await db.get(User, user_id)
    if user is None:
        raise ProblemError("not_found")
    return user


#: Columns a PATCH may change but not clear (``null`` would break their NOT NULL).
_NOT_NULL = ("display_name", "is_admin", "is_active", "attributes")


async def update_user(
    db: AsyncSession, actor: Principal, user_id: int, row_version: int, changes: dict[str, Any]
) -> User:
    nulls = [key for key in _NOT_NULL if key in changes and changes[key] is None]
    if nulls:
        message = pick({"en": "This field cannot be empty.", "zh-CN": "此字段不能为空。"})
        raise ProblemError(
            "validation_failed",
            errors=[FieldError(key, "null_not_allowed", message) for key in nulls],
        )
    user = await get_user(db, user_id)
    if user.row_version != row_version:
        raise ProblemError("conflict", extra={"current_row_version": user.row_version})
    _check_time_zone(changes.get("time_zone"))
    if "email" in changes:
        await _ensure_unique(db, None, changes["email"], exclude_id=user.id)
    if user.id == actor.user.id and (
        changes.get("is_admin") is False or changes.get("is_active") is False
    ):
        message = pick(
            {
                "en": "You cannot demote or disable yourself.",
                "zh-CN": "不能取消自己的管理员权限或停用自己。",
            }
        )
        raise ProblemError("forbidden", detail=message)
    before = {k: getattr(user, k) for k in _PUBLIC_FIELDS}
    for key, value in changes.items():
        setattr(user, key, value)
    audit.record(
        db,
        actor,
        "user.update",
        "user",
        user.id,
        audit.diff(before, {k: getattr(user, k) for k in _PUBLIC_FIELDS}),
    )
    return user


async def reset_password(
    db: AsyncSession, actor: Principal, user_id: int, password: str | None, must_change: bool
) -> str | None:
    user = await get_user(db, user_id)
    generated = None
    if password is None:
        password = generated = passwords.generate_password()
    else:
        passwords.check_policy(password, username=user.username)
    await auth.set_password(db, user, password, must_change=must_change)
    audit.record(db, actor, "user.password_reset", "user", user.id, {"must_change": must_change})
    return generated


async def list_users(
    db: AsyncSession, *, q: str | None, active: bool | None, limit: int, offset: int
) -> tuple[list[User], int]:
    query = select(User)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                User.username.like(like),
                func.lower(User.display_name).like(like),
                User.email.like(like),
            )
        )
    if active is not None:
        query = query.where(User.is_active == active)
    total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = await db.execute(query.order_by(User.id).limit(limit).offset(offset))
    return list(rows.scalars()), total
