"""Configuring an app's channels: settings checked by the kind, secrets sealed, changes audited,
concurrent edits refused (409)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit import service as audit
from runtime.auth.principal import Principal
from runtime.channels import secrets
from runtime.channels.models import Channel
from runtime.channels.registry import ChannelKind, channel_kinds
from runtime.channels.schemas import ChannelIn, ChannelOut, ChannelPatch
from runtime.db import utcnow
from runtime.errors import FieldError, ProblemError, field_errors_from_pydantic
from runtime.i18n import current_locale


def kind_of(kind: str) -> ChannelKind:
    found = channel_kinds.find(kind)
    if found is None:
        known = ", ".join(channel_kinds.types())
        message = (
            f"未知的渠道类型，可选：{known}"
            if current_locale.get() == "zh-CN"
            else f"Unknown channel kind; use one of: {known}."
        )
        raise ProblemError(
            "validation_failed", errors=[FieldError("kind", "unknown_kind", message)]
        )
    return found


def split(kind: ChannelKind, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Validated settings: the plain ones and the secrets (422 with per-field errors)."""
    try:
        model = kind.settings_model.model_validate(values)
    except ValidationError as exc:
        errors = field_errors_from_pydantic(exc.errors())
        for error in errors:
            error.field = f"settings.{error.field}" if error.field else "settings"
        raise ProblemError("validation_failed", errors=errors) from None
    dumped = model.model_dump(mode="json")
    hidden = {k: str(dumped.pop(k)) for k in kind.secret_fields if dumped.get(k) is not None}
    for name in kind.secret_fields:
        dumped.pop(name, None)
    return dumped, hidden


def out(channel: Channel) -> ChannelOut:
    kind = channel_kinds.find(channel.kind)
    try:
        sealed = secrets.unseal(channel.secrets)
    except secrets.SecretsUnreadable:
        sealed = {}
    return ChannelOut(
        id=channel.id,
        app_id=channel.app_id,
        kind=channel.kind,
        key=channel.key,
        name=channel.name,
        enabled=channel.enabled,
        intake=channel.intake,
        settings=channel.settings,
        secrets_set=sorted(k for k in sealed if kind is None or k in kind.secret_fields),
        row_version=channel.row_version,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


async def list_channels(db: AsyncSession, app_id: int) -> list[Channel]:
    rows = await db.execute(
        select(Channel).where(Channel.app_id == app_id).order_by(Channel.kind, Channel.key)
    )
    return list(rows.scalars())


async def get_channel(
    db: AsyncSession, app_id: int, key: str, *, for_update: bool = False
) -> Channel:
    query = select(Channel).where(Channel.app_id == app_id, Channel.key == key)
    if for_update:  # the row version check and the write see the same row
        query = query.with_for_update()
    found = (await db.execute(query)).scalar_one_or_none()
    if found is None:
        raise ProblemError("channel_not_found", params={"key": key})
    return found


async def create_channel(
    db: AsyncSession, principal: Principal, app_id: int, body: ChannelIn
) -> Channel:
    kind = kind_of(body.kind)
    plain, hidden = split(kind, body.settings)
    exists = await db.execute(
        select(Channel.id).where(Channel.app_id == app_id, Channel.key == body.key)
    )
    if exists.scalar_one_or_none() is not None:
        raise ProblemError("already_exists", params={"what": body.key})
    now = utcnow()
    channel = Channel(
        app_id=app_id,
        kind=body.kind,
        key=body.key,
        name=body.name,
        enabled=body.enabled,
        intake=body.intake,
        settings=plain,
        secrets=secrets.seal(hidden),
        state={},
        row_version=1,
        created_at=now,
        updated_at=now,
    )
    db.add(channel)
    await db.flush()
    audit.record(
        db, principal, "channel.create", "channel", channel.id, {"kind": body.kind, "key": body.key}
    )
    if channel.enabled:
        await kind.saved(db, channel)
    return channel


async def update_channel(
    db: AsyncSession, principal: Principal, app_id: int, key: str, body: ChannelPatch
) -> Channel:
    channel = await get_channel(db, app_id, key, for_update=True)
    if channel.row_version != body.row_version:
        raise ProblemError("conflict", extra={"row_version": channel.row_version})
    kind = kind_of(channel.kind)
    changed: dict[str, Any] = {}
    if body.settings is not None:
        try:
            stored = secrets.unseal(channel.secrets)
        except secrets.SecretsUnreadable:
            stored = {}
        given = {
            k: v for k, v in body.settings.items() if not (k in kind.secret_fields and v is None)
        }
        merged = {**channel.settings, **stored, **given}
        plain, hidden = split(kind, merged)
        channel.settings = plain
        channel.secrets = secrets.seal(hidden)
        changed["settings"] = sorted(body.settings)
    for name in ("name", "enabled", "intake"):
        value = getattr(body, name)
        if name in body.model_fields_set and (value is not None or name == "intake"):
            setattr(channel, name, value)
            changed[name] = value
    channel.row_version += 1
    channel.updated_at = utcnow()
    await db.flush()
    audit.record(db, principal, "channel.update", "channel", channel.id, changed)
    if channel.enabled:
        await kind.saved(db, channel)
    return channel


async def delete_channel(db: AsyncSession, principal: Principal, app_id: int, key: str) -> None:
    channel = await get_channel(db, app_id, key)
    audit.record(
        db, principal, "channel.delete", "channel", channel.id, {"kind": channel.kind, "key": key}
    )
    await db.delete(channel)


def secrets_of(channel: Channel) -> dict[str, str]:
    """The channel's secret settings, decrypted (empty when none are set)."""
    return secrets.unseal(channel.secrets)


def settings_of(channel: Channel) -> Any:
    """The channel's settings as its kind's model, secrets included."""
    kind = kind_of(channel.kind)
    return kind.settings_model.model_validate({**channel.settings, **secrets_of(channel)})
