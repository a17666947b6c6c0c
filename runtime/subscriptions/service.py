"""Configuring an app's webhook subscriptions: the form checked against the published app,
the secret sealed, changes audited, concurrent edits refused (409)."""

from __future__ import annotations

import secrets as tokens
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from runtime.audit import service as audit
from runtime.auth.principal import Principal
from runtime.channels import secrets
from runtime.db import utcnow
from runtime.errors import FieldError, ProblemError
from runtime.i18n import current_locale
from runtime.records.forms import resolve_app
from runtime.subscriptions.models import WebhookSubscription
from runtime.subscriptions.schemas import SubscriptionIn, SubscriptionOut, SubscriptionPatch


def seal_secret(value: str) -> str:
    sealed = secrets.seal({"secret": value})
    assert sealed is not None
    return sealed


def secret_of(subscription: WebhookSubscription) -> str:
    """The signing secret (``SecretsUnreadable`` after a change of the installation key)."""
    return secrets.unseal(subscription.secret)["secret"]


def out(subscription: WebhookSubscription, secret: str | None = None) -> SubscriptionOut:
    return SubscriptionOut(
        id=subscription.id,
        app_id=subscription.app_id,
        name=subscription.name,
        form_id=subscription.form_id,
        events=list(subscription.events),
        url=subscription.url,
        active=subscription.active,
        row_version=subscription.row_version,
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
        secret=secret,
    )


async def app_forms(db: AsyncSession, app_id: int) -> dict[int, str]:
    """The published app's forms: id → key (empty while unpublished)."""
    key = (await db.execute(select(App.key).where(App.id == app_id))).scalar_one_or_none()
    if key is None:
        raise ProblemError("not_found")
    try:
        app = await resolve_app(db, key)
    except ProblemError:
        return {}
    return {form.id: form.key for form in app.definition.forms}


async def _check_form(db: AsyncSession, app_id: int, form_id: int | None) -> None:
    if form_id is None or form_id in await app_forms(db, app_id):
        return
    message = (
        "此应用的已发布版本中没有该表单。"
        if current_locale.get() == "zh-CN"
        else "The app's published version has no such form."
    )
    raise ProblemError("validation_failed", errors=[FieldError("form_id", "unknown_form", message)])


async def list_subscriptions(db: AsyncSession, app_id: int) -> list[WebhookSubscription]:
    rows = await db.execute(
        select(WebhookSubscription)
        .where(WebhookSubscription.app_id == app_id)
        .order_by(WebhookSubscription.id)
    )
    return list(rows.scalars())


async def get_subscription(
    db: AsyncSession, app_id: int, subscription_id: int, *, for_update: bool = False
) -> WebhookSubscription:
    query = select(WebhookSubscription).where(
        WebhookSubscription.app_id == app_id, WebhookSubscription.id == subscription_id
    )
    if for_update:
        query = query.with_for_update()
    found = (await db.execute(query)).scalar_one_or_none()
    if found is None:
        raise ProblemError("subscription_not_found")
    return found


async def create_subscription(
    db: AsyncSession, principal: Principal, app_id: int, body: SubscriptionIn
) -> tuple[WebhookSubscription, str | None]:
    """The new subscription, and its secret when one was generated (shown once)."""
    await _check_form(db, app_id, body.form_id)
    generated = None if body.secret else tokens.token_urlsafe(32)
    now = utcnow()
    subscription = WebhookSubscription(
        app_id=app_id,
        name=body.name,
        form_id=body.form_id,
        events=sorted(set(body.events)),
        url=body.url,
        secret=seal_secret(body.secret or generated or ""),
        active=body.active,
        row_version=1,
        created_at=now,
        updated_at=now,
    )
    db.add(subscription)
    await db.flush()
    audit.record(
        db,
        principal,
        "webhook_subscription.create",
        "webhook_subscription",
        subscription.id,
        {"url": body.url, "events": subscription.events, "form_id": body.form_id},
    )
    return subscription, generated


async def update_subscription(
    db: AsyncSession,
    principal: Principal,
    app_id: int,
    subscription_id: int,
    body: SubscriptionPatch,
) -> WebhookSubscription:
    subscription = await get_subscription(db, app_id, subscription_id, for_update=True)
    if subscription.row_version != body.row_version:
        raise ProblemError("conflict", extra={"row_version": subscription.row_version})
    changed: dict[str, Any] = {}
    given = body.model_fields_set - {"row_version"}
    if "form_id" in given:
        await _check_form(db, app_id, body.form_id)
        subscription.form_id = body.form_id
        changed["form_id"] = body.form_id
    for name in ("name", "url", "active"):
        value = getattr(body, name)
        if name in given and value is not None:
            setattr(subscription, name, value)
            changed[name] = value
    if body.events is not None:
        subscription.events = sorted(set(body.events))
        changed["events"] = subscription.events
    if body.secret is not None:
        subscription.secret = seal_secret(body.secret)
        changed["secret_changed"] = True
    subscription.row_version += 1
    subscription.updated_at = utcnow()
    await db.flush()
    audit.record(
        db,
        principal,
        "webhook_subscription.update",
        "webhook_subscription",
        subscription.id,
        changed,
    )
    return subscription


async def delete_subscription(
    db: AsyncSession, principal: Principal, app_id: int, subscription_id: int
) -> None:
    subscription = await get_subscription(db, app_id, subscription_id)
    audit.record(
        db,
        principal,
        "webhook_subscription.delete",
        "webhook_subscription",
        subscription.id,
        {"url": subscription.url},
    )
    await db.delete(subscription)
