"""Channels in the builder: an app's mailboxes, WeChat accounts, chat, forms, telephony and
webhooks — add one (its kind's settings as a form; secrets write-only), change, switch off,
remove, and read its message log (quarantined messages taken in again after a fix).

Everything goes through ``runtime.channels.service`` (the API's own checks, audit and 409 on a
stale row version)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.web.channel_settings import read_settings, setting_inputs
from builder.web.context import DesignContext, Designing
from builder.web.pages import builder_page
from runtime.channels import service
from runtime.channels.models import QUARANTINED, STATUSES, Channel, ChannelMessage
from runtime.channels.registry import ChannelKind, channel_kinds
from runtime.channels.schemas import ChannelIn, ChannelPatch
from runtime.deps import SessionDep
from runtime.errors import FieldError, ProblemError, field_errors_from_pydantic
from runtime.records.writer import commit_and_dispatch
from runtime.web.forms import FormErrors
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)
Body = TypeVar("Body", ChannelIn, ChannelPatch)
PAGE = 50
STATUS_LABELS = {
    "accepted": N_("accepted"),
    "duplicate": N_("duplicate"),
    "ignored": N_("ignored"),
    "quarantined": N_("quarantined"),
    "sent": N_("sent"),
    "failed": N_("failed"),
}


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


def kinds() -> list[tuple[ChannelKind, str]]:
    """Every kind with its label in the page's language."""
    from runtime.i18n import current_locale

    zh = current_locale.get() == "zh-CN"
    return [(k, (k.label[1] if zh else k.label[0]) or k.type) for k in channel_kinds]


def kind_label(kind_type: str) -> str:
    return next((label for k, label in kinds() if k.type == kind_type), kind_type)


def intakes(design: DesignContext) -> list[str]:
    """The intake mappings a channel may feed (the published app's, else the draft's)."""
    definition = design.status.published_definition or design.status.draft_definition
    return [spec.key for spec in definition.intake]


def _base(design: DesignContext) -> str:
    return f"/build/apps/{design.app.key}/channels"


def _submitted(form: Any) -> dict[str, str]:
    return {name: str(value) for name, value in form.items()}


def _problem_errors(problem: ProblemError, extra: FormErrors) -> FormErrors:
    """The problem's field errors on the page's inputs (``settings.x`` → ``s_x``)."""
    for item in problem.errors:
        if item.field.startswith("settings."):
            item.field = "s_" + item.field.removeprefix("settings.").split(".")[0]
    errors = FormErrors.from_problem(problem)
    for name, messages in extra.fields.items():
        for message in messages:
            errors.add(name, message)
    return errors


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _checked(
    kind: ChannelKind,
    settings: dict[str, Any],
    typed: FormErrors,
    build: Callable[[], Body],
    *,
    secrets_stored: set[str] | None = None,
) -> Body:
    """The request body, or every problem at once (the body's, the settings' and what could
    not be read) as one 422 — before anything is written."""
    problems: list[FieldError] = []
    body: Body | None = None
    try:
        body = build()
    except ValidationError as exc:
        problems += field_errors_from_pydantic(exc.errors())
    placeholders = {name: "stored" for name in secrets_stored or ()}
    try:
        service.split(kind, {**placeholders, **settings})
    except ProblemError as exc:
        unread = {name.removeprefix("s_") for name in typed.fields}
        problems += [
            p for p in exc.errors if p.field.removeprefix("settings.").split(".")[0] not in unread
        ]
    if problems or typed or body is None:
        raise ProblemError("validation_failed", errors=problems)
    return body


async def _counts(db: AsyncSession, channel_ids: list[int]) -> dict[int, dict[str, int]]:
    """Messages per channel and status (one query)."""
    if not channel_ids:
        return {}
    rows = await db.execute(
        select(ChannelMessage.channel_id, ChannelMessage.status, func.count())
        .where(ChannelMessage.channel_id.in_(channel_ids))
        .group_by(ChannelMessage.channel_id, ChannelMessage.status)
    )
    counts: dict[int, dict[str, int]] = {}
    for channel_id, status, count in rows:
        counts.setdefault(channel_id, {})[status] = count
    return counts


@router.get("/build/apps/{app_key}/channels", name="builder_channels")
async def channels_page(
    request: Request, design: Designing, db: SessionDep, done: str | None = None
) -> Response:
    channels = await service.list_channels(db, design.app.id)
    return builder_page(
        request,
        "builder/pages/channels.html",
        design,
        "channels",
        channels=channels,
        counts=await _counts(db, [c.id for c in channels]),
        kinds=kinds(),
        kind_label=kind_label,
        intakes=intakes(design),
        done=done,
    )


def _editor(
    request: Request,
    design: DesignContext,
    kind: ChannelKind,
    channel: Channel | None,
    *,
    errors: FormErrors | None = None,
    submitted: dict[str, str] | None = None,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    stored = set(service.out(channel).secrets_set) if channel else set()
    values.setdefault("done", None)
    return builder_page(
        request,
        "builder/pages/channel.html",
        design,
        "channels",
        kind=kind,
        kind_label=kind_label(kind.type),
        channel=channel,
        inputs=setting_inputs(kind, channel.settings if channel else None, stored, submitted),
        intakes=intakes(design),
        errors=errors or FormErrors(),
        submitted=submitted or {},
        status_code=status_code,
        **values,
    )


@router.get("/build/apps/{app_key}/channels/new", name="builder_channel_new")
async def new_channel_page(request: Request, design: Designing, kind: str = "") -> Response:
    found = channel_kinds.find(kind)
    if found is None:
        return RedirectResponse(_base(design), 303)
    return _editor(request, design, found, None)


@router.post("/build/apps/{app_key}/channels", name="builder_channel_create")
async def create_channel(request: Request, design: Designing, db: SessionDep) -> Response:
    form = _submitted(await request.form())
    kind = channel_kinds.find(form.get("kind", ""))
    if kind is None:
        return RedirectResponse(_base(design), 303)
    typed = FormErrors()
    settings = read_settings(kind, form, errors=typed)
    try:
        body = _checked(
            kind,
            settings,
            typed,
            lambda: ChannelIn(
                kind=kind.type,
                key=form.get("key", "").strip(),
                name=form.get("name", "").strip(),
                enabled="enabled" in form,
                intake=form.get("intake") or None,
                settings=settings,
            ),
        )
        async with db.begin_nested():
            channel = await service.create_channel(db, design.principal, design.app.id, body)
        key = channel.key
        await commit_and_dispatch(db)
    except ProblemError as exc:
        return _editor(
            request,
            design,
            kind,
            None,
            errors=_problem_errors(exc, typed),
            submitted=form,
            status_code=exc.status,
        )
    return RedirectResponse(f"{_base(design)}/{key}?done=created", 303)


async def _messages(
    db: AsyncSession, channel: Channel, status: str | None, before: int | None
) -> tuple[list[Any], int | None]:
    query = select(ChannelMessage, func.length(ChannelMessage.raw)).where(
        ChannelMessage.channel_id == channel.id
    )
    if status in STATUSES:
        query = query.where(ChannelMessage.status == status)
    if before is not None:
        query = query.where(ChannelMessage.id < before)
    rows = (await db.execute(query.order_by(ChannelMessage.id.desc()).limit(PAGE + 1))).all()
    cursor = rows[PAGE - 1][0].id if len(rows) > PAGE else None
    return list(rows[:PAGE]), cursor


def _record_links(design: DesignContext, channel: Channel) -> dict[str, str]:
    """URL prefixes of the channel's customer and ticket records (by its intake mapping)."""
    definition = design.status.published_definition
    if definition is None or not definition.intake:
        return {}
    spec = next((s for s in definition.intake if s.key == channel.intake), definition.intake[0])
    base = f"/apps/{design.app.key}/forms"
    return {
        "customer": f"{base}/{spec.customer.form}/records/",
        "ticket": f"{base}/{spec.ticket.form}/records/",
    }


@router.get("/build/apps/{app_key}/channels/{key}", name="builder_channel")
async def channel_page(
    request: Request,
    design: Designing,
    db: SessionDep,
    key: str,
    status: str | None = None,
    before: Annotated[int | None, Query(ge=1)] = None,
    done: str | None = None,
) -> Response:
    channel = await service.get_channel(db, design.app.id, key)
    return await _channel_editor(request, design, db, channel, status, before, done=done)


async def _channel_editor(
    request: Request,
    design: DesignContext,
    db: AsyncSession,
    channel: Channel,
    status: str | None = None,
    before: int | None = None,
    **values: Any,
) -> HTMLResponse:
    """A channel's page: its settings and its message log."""
    messages, cursor = await _messages(db, channel, status, before)
    return _editor(
        request,
        design,
        service.kind_of(channel.kind),
        channel,
        messages=messages,
        next_cursor=cursor,
        status_filter=status if status in STATUSES else None,
        statuses=STATUSES,
        status_label=status_label,
        record_links=_record_links(design, channel),
        **values,
    )


@router.post("/build/apps/{app_key}/channels/{key}", name="builder_channel_update")
async def update_channel(request: Request, design: Designing, db: SessionDep, key: str) -> Response:
    form = _submitted(await request.form())
    channel = await service.get_channel(db, design.app.id, key)
    kind = service.kind_of(channel.kind)
    typed = FormErrors()
    settings = read_settings(kind, form, errors=typed)
    try:
        body = _checked(
            kind,
            {**channel.settings, **settings},
            typed,
            lambda: ChannelPatch(
                row_version=_int(form.get("row_version")),
                name=form.get("name", "").strip(),
                enabled="enabled" in form,
                intake=form.get("intake") or None,
                settings=settings,
            ),
            secrets_stored=set(service.out(channel).secrets_set),
        )
        async with db.begin_nested():
            await service.update_channel(db, design.principal, design.app.id, key, body)
        await commit_and_dispatch(db)
    except ProblemError as exc:
        channel = await service.get_channel(db, design.app.id, key)
        return await _channel_editor(
            request,
            design,
            db,
            channel,
            errors=_problem_errors(exc, typed),
            submitted=form,
            status_code=exc.status,
        )
    return RedirectResponse(f"{_base(design)}/{key}?done=saved", 303)


@router.post("/build/apps/{app_key}/channels/{key}/delete", name="builder_channel_delete")
async def delete_channel(request: Request, design: Designing, db: SessionDep, key: str) -> Response:
    form = _submitted(await request.form())
    channel = await service.get_channel(db, design.app.id, key)
    if form.get("confirm", "").strip() != channel.key:
        return RedirectResponse(f"{_base(design)}/{key}?done=not_deleted", 303)
    await service.delete_channel(db, design.principal, design.app.id, key)
    await db.commit()
    return RedirectResponse(f"{_base(design)}?done=deleted", 303)


@router.post(
    "/build/apps/{app_key}/channels/{key}/messages/{message_id}/reprocess",
    name="builder_channel_reprocess",
)
async def reprocess(
    request: Request, design: Designing, db: SessionDep, key: str, message_id: int
) -> Response:
    channel = await service.get_channel(db, design.app.id, key)
    logged = await db.get(ChannelMessage, message_id)
    outcome = "reprocessed"
    if logged is None or logged.channel_id != channel.id or logged.status != QUARANTINED:
        outcome = "not_reprocessable"
    else:
        try:
            await service.kind_of(channel.kind).reprocess(db, channel, logged)
            await commit_and_dispatch(db)
        except (NotImplementedError, ProblemError):
            await db.rollback()
            outcome = "not_reprocessable"
    return RedirectResponse(f"{_base(design)}/{key}?done={outcome}#log", 303)


@router.get("/build/apps/{app_key}/channels/{key}/messages/{message_id}/raw", name="builder_raw")
async def raw_message(design: Designing, db: SessionDep, key: str, message_id: int) -> Response:
    """The message as it came (kept for quarantined and logged messages), for download."""
    channel = await service.get_channel(db, design.app.id, key)
    logged = await db.get(ChannelMessage, message_id)
    if logged is None or logged.channel_id != channel.id:
        raise ProblemError("not_found")
    if logged.raw is None and logged.raw_file_id is not None:
        return RedirectResponse(f"/api/v1/files/{logged.raw_file_id}/content", 303)
    if logged.raw is None:
        raise ProblemError("not_found")
    return Response(
        logged.raw,
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="message-{logged.id}.raw"'},
    )
