"""Sign-in, sessions, password changes and API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit import service as audit
from runtime.auth import passwords, throttle
from runtime.auth.models import ApiToken, User, UserSession
from runtime.auth.principal import Principal
from runtime.auth.secrets import digest, new_api_token, new_secret
from runtime.config import Settings
from runtime.db import utcnow
from runtime.errors import FieldError, ProblemError
from runtime.i18n import pick
from runtime.org.models import org_stamp_column

#: A session's last_seen_at is refreshed at most this often (avoids a write per request).
SEEN_REFRESH = timedelta(minutes=5)


@dataclass
class NewSession:
    token: str
    record: UserSession


def normalise_username(username: str) -> str:
    return username.strip().lower()


async def login(
    db: AsyncSession,
    settings: Settings,
    username: str,
    password: str,
    *,
    ip: str | None,
    user_agent: str | None,
) -> tuple[User, NewSession]:
    """Check credentials under throttling; on success open a session (caller commits)."""
    name = normalise_username(username)
    await throttle.check(db, settings, name, ip)
    user = (await db.execute(select(User).where(User.username == name))).scalar_one_or_none()
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None:
        throttle.record_failure(db, name, ip, "bad_password" if user else "unknown_user")
        await db.commit()
        raise ProblemError("invalid_credentials")
    if not user.is_active:
        raise ProblemError("account_disabled")
    await throttle.clear_account(db, name)
    if user.password_hash and passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    new = open_session(db, settings, user, ip=ip, user_agent=user_agent)
    audit.record(db, Principal(user, "session"), "auth.login", "user", user.id)
    return user, new


def open_session(
    db: AsyncSession, settings: Settings, user: User, *, ip: str | None, user_agent: str | None
) -> NewSession:
    token = new_secret()
    record = UserSession(
        token_hash=digest(token),
        csrf_token=new_secret(),
        user_id=user.id,
        expires_at=utcnow() + timedelta(hours=settings.session_ttl_hours),
        ip=ip,
        user_agent=(user_agent or "")[:400] or None,
    )
    db.add(record)
    return NewSession(token, record)


#: The organisation's version as one string (``epoch:version``), read with the caller's token
#: or session so that a cached membership costs no query of its own (``runtime.permissions``);
#: NULL when the row is missing.
_ORG_STAMP = org_stamp_column()


async def session_principal(db: AsyncSession, token: str) -> Principal | None:
    """The principal of a valid session cookie, or None."""
    row = (
        await db.execute(
            select(UserSession, User, _ORG_STAMP)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == digest(token))
        )
    ).one_or_none()
    if row is None:
        return None
    record, user, org_stamp = row
    now = utcnow()
    if record.expires_at <= now or not user.is_active:
        return None
    principal = Principal(user, "session", session=record, org_stamp=org_stamp)
    principal.stale_seen = now - record.last_seen_at > SEEN_REFRESH
    return principal


#: The token lookup, built once (it runs on every token request): the user's columns and the
#: token columns it checks, as plain Core columns (no ORM loading).
_TOKEN_QUERY = (
    select(
        *User.__table__.c,
        ApiToken.id.label("token_id"),
        ApiToken.revoked_at.label("token_revoked_at"),
        ApiToken.expires_at.label("token_expires_at"),
        ApiToken.last_used_at.label("token_last_used_at"),
        ApiToken.apps.label("token_apps"),
        ApiToken.actions.label("token_actions"),
        _ORG_STAMP,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
_USER_COLUMNS = tuple(column.key for column in User.__table__.c)


async def token_principal(db: AsyncSession, token: str) -> Principal | None:
    """The principal of a valid API token, or None."""
    row = (await db.execute(_TOKEN_QUERY, {"token_hash": digest(token)})).mappings().one_or_none()
    if row is None:
        return None
    now = utcnow()
    expires_at = row["token_expires_at"]
    if row["token_revoked_at"] or (expires_at and expires_at <= now) or not row["is_active"]:
        return None
    user = User(**{name: row[name] for name in _USER_COLUMNS})
    principal = Principal(user, "token", token_id=row["token_id"], org_stamp=row["org_stamp"])
    if row["token_apps"] is not None:
        principal.token_apps = frozenset(row["token_apps"])
    if row["token_actions"] is not None:
        principal.token_actions = frozenset(row["token_actions"])
    last_used = row["token_last_used_at"]
    principal.stale_seen = last_used is None or now - last_used > SEEN_REFRESH
    return principal


async def touch(db: AsyncSession, principal: Principal, *, commit: bool = True) -> None:
    """Record that a session or token was used (run in a write session of its own: a read
    transaction that starts writing can fail on SQLite when another writer came first)."""
    now = utcnow()
    if principal.session is not None:
        await db.execute(
            update(UserSession)
            .where(UserSession.id == principal.session.id)
            .values(last_seen_at=now)
        )
    elif principal.token_id is not None:
        await db.execute(
            update(ApiToken).where(ApiToken.id == principal.token_id).values(last_used_at=now)
        )
    if commit:
        await db.commit()


async def logout(db: AsyncSession, principal: Principal) -> None:
    if principal.session is not None:
        await db.execute(delete(UserSession).where(UserSession.id == principal.session.id))
        audit.record(db, principal, "auth.logout", "user", principal.user.id)
        await db.commit()


async def change_password(db: AsyncSession, principal: Principal, current: str, new: str) -> None:
    user = principal.user
    if not passwords.verify_password(user.password_hash, current):
        message = pick({"en": "The current password is wrong.", "zh-CN": "当前密码不正确。"})
        raise ProblemError(
            "wrong_password", errors=[FieldError("current_password", "wrong_password", message)]
        )
    passwords.check_policy(new, username=user.username, field="new_password")
    await set_password(db, user, new, keep_session=principal.session)
    audit.record(db, principal, "auth.password_change", "user", user.id)
    await db.commit()


async def set_password(
    db: AsyncSession,
    user: User,
    password: str,
    *,
    keep_session: UserSession | None = None,
    must_change: bool = False,
) -> None:
    """Set a new password and end every other session of the user."""
    user = await db.merge(user)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = must_change
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_session is not None:
        query = query.where(UserSession.id != keep_session.id)
    await db.execute(query)


def resolve_expiry(expires_at: datetime | None, expires_in_days: int | None) -> datetime | None:
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= utcnow():
            message = pick({"en": "Pick a time in the future.", "zh-CN": "请选择将来的时间。"})
            raise ProblemError(
                "validation_failed", errors=[FieldError("expires_at", "in_past", message)]
            )
        return expires_at
    if expires_in_days is not None:
        return utcnow() + timedelta(days=expires_in_days)
    return None


async def create_token(
    db: AsyncSession,
    principal: Principal,
    name: str,
    expires_at: datetime | None,
    *,
    apps: list[str] | None = None,
    actions: list[str] | None = None,
) -> tuple[ApiToken, str]:
    """A new token of the caller's. A token made with a narrowed token is at most as narrow."""
    if principal.token_apps is not None:
        apps = sorted(set(apps or principal.token_apps) & principal.token_apps)
    if principal.token_actions is not None:
        actions = sorted(set(actions or principal.token_actions) & principal.token_actions)
    secret = new_api_token()
    record = ApiToken(
        user_id=principal.user.id,
        name=name,
        prefix=secret[:12],
        token_hash=digest(secret),
        expires_at=expires_at,
        apps=sorted(set(apps)) if apps is not None else None,
        actions=sorted(set(actions)) if actions is not None else None,
    )
    db.add(record)
    await db.flush()
    audit.record(db, principal, "token.create", "api_token", record.id, {"name": name})
    await db.commit()
    return record, secret


async def list_tokens(db: AsyncSession, principal: Principal) -> list[ApiToken]:
    result = await db.execute(
        select(ApiToken).where(ApiToken.user_id == principal.user.id).order_by(ApiToken.id)
    )
    return list(result.scalars())


async def revoke_token(db: AsyncSession, principal: Principal, token_id: int) -> None:
    record = await db.get(ApiToken, token_id)
    if record is None or (record.user_id != principal.user.id and not principal.is_admin):
        raise ProblemError("not_found")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        audit.record(db, principal, "token.revoke", "api_token", record.id)
        await db.commit()
