"""Public forms: their links (designers' CRUD, 409 on stale edits) and submissions.

A submission is written through the one write path (``RecordWriter``) as the public service
principal: no user (``actor`` None), source ``public_form``, and only the fields the link
shows. When the form is the ticket form of an app's intake mapping the submission goes through
:func:`runtime.channels.intake.ingest` on the app's ``web_form`` channel instead: the customer
is matched (or created) by e-mail / phone, and the ticket gets channel ``web``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.intake import IntakeSpec
from builder.apps.models import App
from builder.apps.service import get_app
from engines.form.registry import FIELD_TYPES
from runtime.audit import service as audit
from runtime.auth.principal import Principal
from runtime.channels.intake import Identity, Inbound, ingest, normal_email, normal_phone
from runtime.db import utcnow
from runtime.errors import FieldError, ProblemError
from runtime.i18n import current_locale, pick
from runtime.jobs import queue
from runtime.publicforms.kind import channel_of
from runtime.publicforms.models import PublicForm, PublicSubmission
from runtime.publicforms.schemas import Contact, PublicFormIn, PublicFormOut, PublicFormPatch
from runtime.records.errors import invalid
from runtime.records.forms import FormHandle, PublishedApp, resolve_app
from runtime.records.writer import RecordWriter

SOURCE = "public_form"
MAIL_JOB = "public_forms.mail_link"
#: Field types a public form can show (no pickers: they would show the app's data; no files,
#: sub-tables or computed values).
PUBLIC_TYPES = frozenset(
    {
        "text",
        "email",
        "phone",
        "url",
        "textarea",
        "integer",
        "decimal",
        "currency",
        "percent",
        "date",
        "datetime",
        "boolean",
        "select",
        "multiselect",
    }
)
#: The whole form takes this many times the per-address rate.
FORM_RATE_FACTOR = 20


def _zh() -> bool:
    return current_locale.get() == "zh-CN"


@dataclass
class Published:
    """A public form with what it needs to run: the published app, the form's handle, the
    intake mapping it feeds (if it is that mapping's ticket form) and the fields shown."""

    row: PublicForm
    app: PublishedApp
    handle: FormHandle
    intake: IntakeSpec | None
    shown: list[str]

    def title(self) -> str:
        return pick(self.row.title) if self.row.title else pick(self.handle.form.label)

    def text(self, name: str) -> str:
        value = getattr(self.row, name) or {}
        return pick(value) if value else ""


def intake_of(app: PublishedApp, form_key: str) -> IntakeSpec | None:
    return next((s for s in app.definition.intake if s.ticket.form == form_key), None)


def eligible(handle: FormHandle, intake: IntakeSpec | None) -> list[str]:
    """The fields a submitter may fill: public types, client-writable, and (for an intake
    ticket form) not the ones the intake sets (customer, channel, status, number)."""
    taken: set[str] = set()
    if intake is not None:
        mapping = intake.ticket
        taken = {
            k for k in (mapping.customer, mapping.channel, mapping.status, mapping.number) if k
        }
    return [
        spec.key
        for spec in handle.form.fields
        if spec.type in PUBLIC_TYPES
        and FIELD_TYPES.get(spec.type).client_writable
        and spec.key not in taken
    ]


def default_fields(handle: FormHandle, intake: IntakeSpec | None) -> list[str]:
    allowed = eligible(handle, intake)
    if intake is None:
        return allowed
    wanted = [intake.ticket.subject, intake.ticket.description]
    return [k for k in wanted if k and k in allowed]


def shown_fields(row: PublicForm, handle: FormHandle, intake: IntakeSpec | None) -> list[str]:
    allowed = eligible(handle, intake)
    keys = default_fields(handle, intake) if row.fields is None else row.fields
    shown = [k for k in keys if k in allowed]
    if intake is not None and intake.ticket.subject not in shown:
        shown.insert(0, intake.ticket.subject)  # a ticket needs its subject
    return shown


def _check_fields(fields: list[str] | None, handle: FormHandle, intake: IntakeSpec | None) -> None:
    if fields is None:
        return
    allowed = set(eligible(handle, intake))
    errors = []
    for index, key in enumerate(fields):
        if key not in allowed:
            message = (
                f"字段 {key!r} 不能出现在公开表单中（不存在、系统字段或类型不支持）"
                if _zh()
                else f"field {key!r} cannot be shown on a public form "
                "(unknown, set by the system, or of a type public forms do not show)"
            )
            errors.append(FieldError(f"fields[{index}]", "not_public", message))
    if len(set(fields)) != len(fields):
        errors.append(
            FieldError("fields", "duplicate", "字段重复" if _zh() else "a field is listed twice")
        )
    if errors:
        raise ProblemError("validation_failed", errors=errors)


# --- designers' CRUD ----------------------------------------------------------------------------


async def _published(db: AsyncSession, app: App) -> PublishedApp:
    if app.published_version_id is None:
        raise ProblemError(
            "public_form_unusable",
            params={"form": "", "reason": "应用尚未发布" if _zh() else "the app is not published"},
        )
    return await resolve_app(db, app.key)


def _handle(published: PublishedApp, form_key: str) -> FormHandle:
    handle = published.handles.get(form_key)
    if handle is None:
        reason = "已发布的版本中没有此表单" if _zh() else "the published version has no such form"
        raise ProblemError("public_form_unusable", params={"form": form_key, "reason": reason})
    return handle


def out(row: PublicForm, published: PublishedApp | None) -> PublicFormOut:
    handle = published.handles.get(row.form_key) if published is not None else None
    intake = intake_of(published, row.form_key) if published is not None else None
    shown = shown_fields(row, handle, intake) if handle is not None else []
    return PublicFormOut(
        id=row.id,
        app_id=row.app_id,
        form=row.form_key,
        slug=row.slug,
        url=f"/p/{row.slug}",
        enabled=row.enabled,
        title=row.title or {},
        intro=row.intro or {},
        success=row.success or {},
        fields=row.fields,
        shown=shown,
        collect_email=row.collect_email,
        rate_limit=row.rate_limit,
        intake=intake is not None,
        row_version=row.row_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def published_of(db: AsyncSession, app_id: int) -> PublishedApp | None:
    app = await get_app(db, app_id)
    if app.published_version_id is None:
        return None
    return await resolve_app(db, app.key)


async def list_forms(db: AsyncSession, app_id: int) -> list[PublicForm]:
    rows = await db.execute(
        select(PublicForm).where(PublicForm.app_id == app_id).order_by(PublicForm.form_key)
    )
    return list(rows.scalars())


async def get_form(
    db: AsyncSession, app_id: int, public_form_id: int, *, for_update: bool = False
) -> PublicForm:
    query = select(PublicForm).where(PublicForm.app_id == app_id, PublicForm.id == public_form_id)
    if for_update:
        query = query.with_for_update()
    found = (await db.execute(query)).scalar_one_or_none()
    if found is None:
        raise ProblemError("public_form_not_found")
    return found


async def for_form(db: AsyncSession, app_id: int, form_key: str) -> PublicForm | None:
    query = select(PublicForm).where(PublicForm.app_id == app_id, PublicForm.form_key == form_key)
    return (await db.execute(query)).scalar_one_or_none()


async def _slug_free(db: AsyncSession, slug: str, own_id: int | None = None) -> None:
    found = (
        await db.execute(select(PublicForm.id).where(PublicForm.slug == slug))
    ).scalar_one_or_none()
    if found is not None and found != own_id:
        raise ProblemError(
            "public_form_slug_taken",
            params={"slug": slug},
            errors=[FieldError("slug", "taken", "已被使用" if _zh() else "taken")],
        )


async def _flush(db: AsyncSession, slug: str) -> None:
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:  # a concurrent create took the slug
        raise ProblemError("public_form_slug_taken", params={"slug": slug}) from None


async def create_form(
    db: AsyncSession, principal: Principal | None, app_id: int, body: PublicFormIn
) -> PublicForm:
    """A public link of ``body.form`` (``principal`` None: the command line)."""
    app = await get_app(db, app_id)
    published = await _published(db, app)
    handle = _handle(published, body.form)
    _check_fields(body.fields, handle, intake_of(published, body.form))
    if await for_form(db, app_id, body.form) is not None:
        raise ProblemError("already_exists", params={"what": body.form})
    await _slug_free(db, body.slug)
    now = utcnow()
    row = PublicForm(
        app_id=app_id,
        form_key=body.form,
        slug=body.slug,
        enabled=body.enabled,
        title=body.title,
        intro=body.intro,
        success=body.success,
        fields=body.fields,
        collect_email=body.collect_email,
        rate_limit=body.rate_limit,
        row_version=1,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    await _flush(db, body.slug)
    audit.record(
        db,
        principal,
        "public_form.create",
        "public_form",
        row.id,
        {"form": body.form, "slug": body.slug},
    )
    return row


async def update_form(
    db: AsyncSession, principal: Principal, app_id: int, public_form_id: int, body: PublicFormPatch
) -> PublicForm:
    row = await get_form(db, app_id, public_form_id, for_update=True)
    if row.row_version != body.row_version:
        raise ProblemError("conflict", extra={"row_version": row.row_version})
    if "fields" in body.model_fields_set:
        app = await get_app(db, app_id)
        published = await _published(db, app)
        handle = _handle(published, row.form_key)
        _check_fields(body.fields, handle, intake_of(published, row.form_key))
        row.fields = body.fields
    if body.slug is not None and body.slug != row.slug:
        await _slug_free(db, body.slug, row.id)
        row.slug = body.slug
    changed = sorted(body.model_fields_set - {"row_version"})
    for name in ("enabled", "title", "intro", "success", "collect_email", "rate_limit"):
        value = getattr(body, name)
        if value is not None:
            setattr(row, name, value)
    row.row_version += 1
    row.updated_at = utcnow()
    await _flush(db, row.slug)
    audit.record(db, principal, "public_form.update", "public_form", row.id, {"changed": changed})
    return row


async def delete_form(
    db: AsyncSession, principal: Principal, app_id: int, public_form_id: int
) -> None:
    row = await get_form(db, app_id, public_form_id)
    audit.record(db, principal, "public_form.delete", "public_form", row.id, {"slug": row.slug})
    await db.delete(row)


async def revoke(
    db: AsyncSession, principal: Principal, app_id: int, public_form_id: int, record_id: int
) -> int:
    """Revoke the tracking links of the submissions that made record ``record_id``."""
    row = await get_form(db, app_id, public_form_id)
    found = list(
        (
            await db.execute(
                select(PublicSubmission).where(
                    PublicSubmission.public_form_id == row.id,
                    PublicSubmission.record_id == record_id,
                )
            )
        ).scalars()
    )
    for item in found:
        await db.delete(item)
    audit.record(
        db, principal, "public_form.revoke", "public_form", row.id, {"record_id": record_id}
    )
    return len(found)


# --- the public side ----------------------------------------------------------------------------


async def load(db: AsyncSession, slug: str) -> Published:
    """The enabled public form at ``slug`` (404 ``public_form_not_found`` otherwise, also when
    its app or form is no longer published)."""
    row = (await db.execute(select(PublicForm).where(PublicForm.slug == slug))).scalar_one_or_none()
    if row is None or not row.enabled:
        raise ProblemError("public_form_not_found")
    app = await db.get(App, row.app_id)
    if app is None or app.deleted_at is not None or app.published_version_id is None:
        raise ProblemError("public_form_not_found")
    published = await resolve_app(db, app.key)
    handle = published.handles.get(row.form_key)
    if handle is None:
        raise ProblemError("public_form_not_found")
    intake = intake_of(published, row.form_key)
    return Published(row, published, handle, intake, shown_fields(row, handle, intake))


def contact_fields(pub: Published) -> list[str]:
    """What the form asks about the submitter: name, e-mail and phone for a ticket (the
    customer is found by them), else the e-mail when the link collects it."""
    if pub.intake is not None:
        return ["name", "email", "phone"]
    return ["email"] if pub.row.collect_email else []


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Submitted:
    submission: PublicSubmission
    token: str
    record_id: int


def _contact_problems(pub: Published, contact: Contact) -> list[FieldError]:
    errors = []
    if contact.email and normal_email(contact.email) is None:
        message = "请输入有效的电子邮箱地址" if _zh() else "Enter a valid e-mail address."
        errors.append(FieldError("contact.email", "invalid_email", message))
    if contact.phone and normal_phone(contact.phone) is None:
        message = "请输入有效的电话号码" if _zh() else "Enter a valid phone number."
        errors.append(FieldError("contact.phone", "invalid_phone", message))
    if pub.intake is not None and not (contact.email or contact.phone):
        message = (
            "请填写电子邮箱或电话，以便我们联系您"
            if _zh()
            else "Give an e-mail address or a phone number so we can reach you."
        )
        errors.append(FieldError("contact.email", "required", message))
    return errors


async def submit(
    db: AsyncSession,
    pub: Published,
    values: dict[str, Any],
    contact: Contact,
    *,
    nonce: str,
    base_url: str,
) -> Submitted:
    """Write a submission (in the caller's transaction; the caller commits with
    ``commit_and_dispatch``). 422 with per-field errors for bad values; the challenge's nonce
    is taken first, so a replayed challenge writes nothing."""
    errors = [
        FieldError(key, "unknown_field", "此表单没有该字段" if _zh() else "no such field here")
        for key in values
        if key not in pub.shown
    ]
    errors.extend(_contact_problems(pub, contact))
    if errors:
        raise ProblemError("validation_failed", errors=errors)
    token = secrets.token_urlsafe(24)
    submission = PublicSubmission(
        public_form_id=pub.row.id,
        token_hash=hash_token(token),
        nonce=nonce[:64],
        record_id=0,
        created_at=utcnow(),
    )
    try:
        async with db.begin_nested():
            db.add(submission)
            await db.flush()
    except IntegrityError:
        raise ProblemError("public_form_challenge_used") from None
    if pub.intake is not None:
        record_id = await _through_intake(db, pub, pub.intake, values, contact, nonce)
    else:
        writer = RecordWriter(db, pub.handle, None, source=SOURCE)
        record_id = int((await writer.create(values))["id"])
    submission.record_id = record_id
    await db.flush()
    email = normal_email(contact.email)
    if email is not None and (pub.row.collect_email or pub.intake is not None):
        await queue.enqueue(
            db,
            MAIL_JOB,
            {
                "to": email,
                "title": pub.title(),
                "url": f"{base_url.rstrip('/')}/p/{pub.row.slug}/t/{token}",
                "locale": current_locale.get(),
            },
            idempotency_key=f"public-form-mail-{submission.id}",
        )
    return Submitted(submission, token, record_id)


async def _through_intake(
    db: AsyncSession,
    pub: Published,
    intake: IntakeSpec,
    values: dict[str, Any],
    contact: Contact,
    nonce: str,
) -> int:
    """A ticket through the intake: the values are checked as the ticket form would (so a
    bad value writes no customer), then ``ingest`` matches or creates the customer and makes
    the ticket; the other shown fields are set on it through the writer."""
    mapping = intake.ticket
    checked = pub.handle.validator.check(values, context={})
    if checked.problems:
        raise invalid(checked.problems)
    subject = str(values.get(mapping.subject) or "").strip()
    body = str(values.get(mapping.description) or "") if mapping.description else ""
    channel = await channel_of(db, pub.app.app_id)
    message = Inbound(
        channel="web",
        identity=Identity(email=contact.email, phone=contact.phone, name=contact.name),
        subject=subject,
        body=body or subject,
        external_id=f"web-form:{nonce}",
        join_open=False,
        sender=normal_email(contact.email) or normal_phone(contact.phone),
    )
    result = await ingest(db, channel, message)
    extras = {k: v for k, v in values.items() if k not in (mapping.subject, mapping.description)}
    if extras:
        table = pub.handle.table
        row_version = (
            await db.execute(select(table.c.row_version).where(table.c.id == result.ticket_id))
        ).scalar_one()
        writer = RecordWriter(db, pub.handle, None, source=SOURCE)
        await writer.update(result.ticket_id, row_version, extras)
    return result.ticket_id


async def tracked(db: AsyncSession, slug: str, token: str) -> tuple[Published, dict[str, Any]]:
    """The public form and the record a tracking token points at (404 ``tracking_not_found``
    for an unknown or revoked token, or a deleted record)."""
    pub = await load(db, slug)
    submission = (
        await db.execute(
            select(PublicSubmission).where(
                PublicSubmission.token_hash == hash_token(token),
                PublicSubmission.public_form_id == pub.row.id,
            )
        )
    ).scalar_one_or_none()
    if submission is None:
        raise ProblemError("tracking_not_found")
    table = pub.handle.table
    row = (
        (
            await db.execute(
                select(table).where(
                    table.c.id == submission.record_id, table.c.deleted_at.is_(None)
                )
            )
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise ProblemError("tracking_not_found")
    return pub, pub.handle.to_api(row)


def option_label(handle: FormHandle, key: str, value: Any) -> str:
    """A select's value as its label in the caller's language."""
    options = getattr(
        FIELD_TYPES.get(handle.spec(key).type).settings(handle.spec(key)), "options", None
    )
    for option in options or []:
        if option.value == value:
            return (
                pick(option.label)
                if isinstance(option.label, dict) and option.label
                else str(value)
            )
    return "" if value is None else str(value)


async def tracking(db: AsyncSession, slug: str, token: str) -> dict[str, Any]:
    """What the tracking page shows: the record's public fields, its status and (a ticket)
    its number and the agents' replies, oldest first."""
    pub, record = await tracked(db, slug, token)
    values = record["values"]
    shown = {k: values.get(k) for k in pub.shown}
    status = number = None
    replies: list[dict[str, Any]] = []
    if pub.intake is not None:
        mapping = pub.intake.ticket
        if mapping.status:
            status = option_label(pub.handle, mapping.status, values.get(mapping.status))
        if mapping.number:
            number = values.get(mapping.number)
        replies = await _replies(db, pub, pub.intake, int(record["id"]))
    else:
        for spec in pub.handle.form.fields:  # a plain form's status: its first "status" select
            if spec.key == "status" and spec.type == "select":
                status = option_label(pub.handle, spec.key, values.get(spec.key))
    return {
        "pub": pub,
        "record_id": int(record["id"]),
        "created_at": record["created_at"],
        "status": status,
        "number": number,
        "values": shown,
        "replies": replies,
    }


async def _replies(
    db: AsyncSession, pub: Published, intake: IntakeSpec, ticket_id: int
) -> list[dict[str, Any]]:
    mapping = intake.message
    handle = pub.app.handles.get(mapping.form)
    if handle is None:
        return []
    table = handle.table
    rows = (
        (
            await db.execute(
                select(table)
                .where(
                    handle.column(mapping.ticket) == ticket_id,
                    handle.column(mapping.direction) == mapping.outbound,
                    table.c.deleted_at.is_(None),
                )
                .order_by(table.c.created_at, table.c.id)
                .limit(200)
            )
        )
        .mappings()
        .all()
    )
    return [
        {"at": row["created_at"], "body": handle.to_api(row)["values"].get(mapping.body) or ""}
        for row in rows
    ]
