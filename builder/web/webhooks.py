"""Webhooks in the builder: the app's outbound subscriptions (list, create, edit, delete),
their delivery log with a replay button, and its inbound hooks (URL, a secret revealed once,
a curl example with the signature recipe). Server-rendered forms over the same services as
the API (``runtime.subscriptions``, ``runtime.channels``)."""

from __future__ import annotations

import secrets as tokens
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from builder.web.context import DesignContext, Designing
from builder.web.pages import builder_page
from runtime.channels import service as channels
from runtime.channels.models import Channel
from runtime.channels.schemas import ChannelIn, ChannelPatch
from runtime.deps import SessionDep
from runtime.errors import FieldError, ProblemError, field_errors_from_pydantic
from runtime.i18n import current_locale
from runtime.records.writer import commit_and_dispatch
from runtime.subscriptions import delivery, service
from runtime.subscriptions.routes import deliveries_page
from runtime.subscriptions.schemas import SubscriptionIn, SubscriptionPatch
from runtime.web.forms import FormErrors
from runtime.web.i18n import N_

router = APIRouter(include_in_schema=False)
EVENT_LABELS = {
    "created": N_("A record is created"),
    "updated": N_("A record is updated"),
    "deleted": N_("A record is deleted"),
}
OUTCOME_LABELS = {
    "delivered": N_("Delivered"),
    "failed": N_("Failed (retried)"),
    "rejected": N_("Rejected by the receiver"),
    "refused": N_("Refused by the egress policy"),
}
DONE = {
    "created": N_("The subscription is saved."),
    "saved": N_("The subscription is saved."),
    "deleted": N_("The subscription is deleted."),
    "replayed": N_("The delivery was sent again; its attempt is at the top of the log."),
}


def _base(design: DesignContext) -> str:
    return f"/build/apps/{design.app.key}/webhooks"


async def _hooks(db: Any, app_id: int) -> list[Channel]:
    rows = await db.execute(
        select(Channel)
        .where(Channel.app_id == app_id, Channel.kind == "webhook")
        .order_by(Channel.key)
    )
    return list(rows.scalars())


async def _page(
    request: Request,
    design: DesignContext,
    db: Any,
    *,
    form: str | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    for name in ("revealed", "revealed_for", "revealed_hook", "editing", "done"):
        values.setdefault(name, None)
    app_id = design.app.id
    subscription = values.pop("subscription_filter", None)
    log = await deliveries_page(db, app_id, subscription, None, None, 50)
    all_errors = {name: FormErrors() for name in ("subscription", "hook")}
    if form is not None and errors is not None:
        all_errors[form] = errors
    return builder_page(
        request,
        "builder/pages/webhooks.html",
        design,
        "webhooks",
        subscriptions=await service.list_subscriptions(db, app_id),
        forms=await service.app_forms(db, app_id),
        hooks=await _hooks(db, app_id),
        deliveries=log.items,
        subscription_filter=subscription,
        event_labels=EVENT_LABELS,
        outcome_labels=OUTCOME_LABELS,
        done_messages=DONE,
        form_errors=all_errors,
        submitted=values.pop("submitted", {}),
        hook_url=str(request.base_url).rstrip("/") + "/api/v1/hooks/" + design.app.key + "/",
        status_code=status_code,
        **values,
    )


def _subscription_values(form: Any) -> dict[str, Any]:
    form_id = str(form.get("form_id") or "").strip()
    return {
        "name": str(form.get("name") or "").strip(),
        "url": str(form.get("url") or "").strip(),
        "events": [e for e in form.getlist("events") if isinstance(e, str)],
        "form_id": int(form_id) if form_id.isdigit() else None,
        "active": form.get("active") == "on",
    }


def _problem(exc: ValidationError) -> ProblemError:
    errors = field_errors_from_pydantic(exc.errors())
    for error in errors:
        error.field = error.field.split("[")[0].split(".")[0]
    return ProblemError("validation_failed", errors=errors)


@router.get("/build/apps/{app_key}/webhooks", name="builder_webhooks")
async def webhooks_page(
    request: Request,
    design: Designing,
    db: SessionDep,
    done: str | None = None,
    subscription: int | None = None,
) -> Response:
    return await _page(request, design, db, done=done, subscription_filter=subscription)


@router.post("/build/apps/{app_key}/webhooks", name="builder_webhook_create")
async def create(request: Request, design: Designing, db: SessionDep) -> Response:
    form = await request.form()
    values = _subscription_values(form)
    try:
        try:
            body = SubscriptionIn(**values)
        except ValidationError as exc:
            raise _problem(exc) from exc
        async with db.begin_nested():
            made, secret = await service.create_subscription(
                db, design.principal, design.app.id, body
            )
        await db.commit()
    except ProblemError as exc:
        return await _page(
            request,
            design,
            db,
            form="subscription",
            errors=FormErrors.from_problem(exc),
            submitted={k: str(v) for k, v in form.items()},
            status_code=exc.status,
        )
    # The generated secret is shown on this answer only (reveal once).
    return await _page(request, design, db, done="created", revealed=secret, revealed_for=made.name)


@router.get("/build/apps/{app_key}/webhooks/{subscription_id:int}", name="builder_webhook")
async def edit_page(
    request: Request, design: Designing, db: SessionDep, subscription_id: int
) -> Response:
    subscription = await service.get_subscription(db, design.app.id, subscription_id)
    return await _page(
        request, design, db, editing=subscription, subscription_filter=subscription.id
    )


@router.post("/build/apps/{app_key}/webhooks/{subscription_id:int}", name="builder_webhook_save")
async def save(
    request: Request, design: Designing, db: SessionDep, subscription_id: int
) -> Response:
    form = await request.form()
    values = _subscription_values(form)
    secret = str(form.get("secret") or "").strip() or None
    rotate = form.get("rotate") == "on"
    generated = tokens.token_urlsafe(32) if rotate and secret is None else None
    try:
        try:
            body = SubscriptionPatch(
                row_version=int(str(form.get("row_version") or "0")),
                secret=secret or generated,
                **values,
            )
        except (ValidationError, ValueError) as exc:
            if isinstance(exc, ValidationError):
                raise _problem(exc) from exc
            raise ProblemError("validation_failed") from exc
        async with db.begin_nested():
            await service.update_subscription(
                db, design.principal, design.app.id, subscription_id, body
            )
        await db.commit()
    except ProblemError as exc:
        editing = await service.get_subscription(db, design.app.id, subscription_id)
        return await _page(
            request,
            design,
            db,
            form="subscription",
            errors=FormErrors.from_problem(exc),
            editing=editing,
            submitted={k: str(v) for k, v in form.items()},
            status_code=exc.status,
        )
    if generated:
        return await _page(
            request, design, db, done="saved", revealed=generated, revealed_for=values["name"]
        )
    return RedirectResponse(f"{_base(design)}?done=saved", 303)


@router.post(
    "/build/apps/{app_key}/webhooks/{subscription_id:int}/delete", name="builder_webhook_delete"
)
async def delete(
    request: Request, design: Designing, db: SessionDep, subscription_id: int
) -> Response:
    await service.delete_subscription(db, design.principal, design.app.id, subscription_id)
    await db.commit()
    return RedirectResponse(f"{_base(design)}?done=deleted", 303)


@router.post(
    "/build/apps/{app_key}/webhooks/deliveries/{delivery_id}/replay",
    name="builder_webhook_replay",
)
async def replay(request: Request, design: Designing, db: SessionDep, delivery_id: int) -> Response:
    await delivery.replay(db, request.app.state.settings, design.app.id, delivery_id)
    await db.commit()
    return RedirectResponse(f"{_base(design)}?done=replayed", 303)


# --- inbound hooks ------------------------------------------------------------------------------


def _mapping(text: str) -> dict[str, dict[str, Any]]:
    """``field = /pointer`` or ``field = "constant"`` lines (``field = /pointer | constant``)."""
    fields: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, source = line.partition("=")
        if not sep or not key.strip():
            raise ProblemError(
                "validation_failed",
                errors=[
                    FieldError(
                        "mapping",
                        "invalid_line",
                        f"第 {number} 行：应为 字段 = /指针"
                        if current_locale.get() == "zh-CN"
                        else f"Line {number}: write field = /pointer.",
                    )
                ],
            )
        pointer, _, default = source.strip().partition("|")
        spec: dict[str, Any] = {}
        if pointer.strip().startswith("/") or pointer.strip() == "":
            spec["pointer"] = pointer.strip() or None
        else:
            default = pointer
        if default.strip():
            spec["default"] = default.strip()
        fields[key.strip()] = spec
    return fields


@router.post("/build/apps/{app_key}/webhooks/hooks", name="builder_hook_create")
async def create_hook(request: Request, design: Designing, db: SessionDep) -> Response:
    form = await request.form()
    secret = tokens.token_urlsafe(32)
    try:
        settings = {
            "form": str(form.get("hook_form") or "").strip(),
            "fields": _mapping(str(form.get("mapping") or "")),
            "secret": secret,
            "idempotency_header": str(form.get("idempotency_header") or "").strip() or None,
        }
        try:
            body = ChannelIn(
                kind="webhook",
                key=str(form.get("hook_key") or "").strip(),
                name=str(form.get("hook_name") or "").strip() or str(form.get("hook_key") or ""),
                settings=settings,
            )
        except ValidationError as exc:
            errors = field_errors_from_pydantic(exc.errors())
            for error in errors:
                error.field = f"hook_{error.field.split('.')[0]}"
            raise ProblemError("validation_failed", errors=errors) from exc
        async with db.begin_nested():
            made = await channels.create_channel(db, design.principal, design.app.id, body)
        await commit_and_dispatch(db)
    except ProblemError as exc:
        for error in exc.errors:
            if error.field.startswith("settings.fields"):
                error.field = "mapping"
            elif error.field.startswith("settings.form"):
                error.field = "hook_form"
            elif error.field.startswith("settings."):
                error.field = "mapping"
            elif error.field == "key":
                error.field = "hook_key"
        return await _page(
            request,
            design,
            db,
            form="hook",
            errors=FormErrors.from_problem(exc),
            submitted={k: str(v) for k, v in form.items()},
            status_code=exc.status,
        )
    return await _page(
        request, design, db, revealed=secret, revealed_for=made.name, revealed_hook=made.key
    )


@router.post("/build/apps/{app_key}/webhooks/hooks/{hook_key}/secret", name="builder_hook_secret")
async def rotate_hook_secret(
    request: Request, design: Designing, db: SessionDep, hook_key: str
) -> Response:
    """A new secret for the inbound hook, shown once; the old one stops working at once."""
    hook = await channels.get_channel(db, design.app.id, hook_key)
    if hook.kind != "webhook":
        raise ProblemError("channel_not_found", params={"key": hook_key})
    secret = tokens.token_urlsafe(32)
    await channels.update_channel(
        db,
        design.principal,
        design.app.id,
        hook_key,
        ChannelPatch(row_version=hook.row_version, settings={"secret": secret}),
    )
    await db.commit()
    return await _page(
        request, design, db, revealed=secret, revealed_for=hook.name, revealed_hook=hook.key
    )
