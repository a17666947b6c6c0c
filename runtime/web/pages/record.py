"""A record's page: its fields (as the viewer may see them), delete, the activity timeline
with comments, internal notes, @mentions and attachments, and the flows running on it."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.types.text import sanitise_html
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.deps import IdPath, SessionDep
from runtime.errors import ProblemError
from runtime.files.storage import FileTooLarge
from runtime.permissions.access import access
from runtime.records import reader, timeline
from runtime.records.forms import FormHandle, resolve
from runtime.records.scope import check_token
from runtime.records.writer import RecordWriter, commit_and_dispatch
from runtime.web.deps import PageUser
from runtime.web.forms import FormErrors
from runtime.web.i18n import gettext as _
from runtime.web.inbox_view import instances_on_record, revive
from runtime.web.nav import nav_for
from runtime.web.record_overview import entries as overview_entries
from runtime.web.record_overview import overview_view
from runtime.web.record_view import Display, record_title, section_rows, user_label
from runtime.web.templating import render
from runtime.web.uploads import posted_files, store_file

router = APIRouter(include_in_schema=False)

Key = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
MAX_FILES = 10
CHANGE_ACTIONS = {"create", "update"}


def record_url(handle: FormHandle, record_id: int) -> str:
    return f"/apps/{handle.app_key}/forms/{handle.form.key}/records/{record_id}"


async def _handle(db: AsyncSession, app: str, form: str, principal: Principal) -> FormHandle:
    handle = await resolve(db, app, form)
    check_token(handle, principal, "read")
    return handle


def _display(request: Request, db: AsyncSession, handle: FormHandle, principal: Principal) -> Any:
    settings = request.app.state.settings
    tz = principal.user.time_zone or settings.time_zone
    return Display(db, handle, principal, tz, settings.currency)


async def _rights(
    db: AsyncSession, handle: FormHandle, principal: Principal, record_id: int
) -> dict[str, bool]:
    """Whether the viewer may update and delete this record (row scopes included)."""
    rights = access(handle, principal)
    result: dict[str, bool] = {}
    for action in ("update", "delete"):
        if not rights.can(action):
            result[action] = False
            continue
        try:
            check_token(handle, principal, action)
        except ProblemError:
            result[action] = False
            continue
        found = await db.execute(
            select(handle.table.c.id).where(handle.table.c.id == record_id, rights.rows(action))
        )
        result[action] = found.first() is not None
    return result


async def activity(
    request: Request,
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    record_id: int,
    display: Display,
) -> list[dict[str, Any]]:
    """The timeline as the page shows it: history with formatted old → new values, and
    comments (sanitised) with their files and mentions."""
    hidden = await access(handle, principal).hidden_on(db, record_id)
    entries = await timeline.timeline(db, handle, record_id, hidden=hidden)
    specs = handle.validator.specs
    pairs = []
    people: set[int] = set()
    files: set[int] = set()
    for entry in entries:
        if entry["actor_id"]:
            people.add(entry["actor_id"])
        for key, change in (entry.get("changes") or {}).items():
            if key in specs and isinstance(change, list) and len(change) == 2:
                pairs += [(specs[key], change[0]), (specs[key], change[1])]
        people.update(entry.get("mentions") or [])
        files.update(entry.get("attachments") or [])
    await display.prepare(pairs, people)
    await display.load_files(files)
    shown = []
    for entry in entries:
        item: dict[str, Any] = {
            "kind": entry["kind"],
            "at": entry["at"],
            "actor": display.users.get(entry["actor_id"], "") if entry["actor_id"] else "",
        }
        if entry["kind"] == "history":
            item["action"] = entry["action"]
            item["source"] = entry["source"]
            item["changes"] = [
                {
                    "label": specs[key].label,
                    "old": display.show(specs[key], change[0]),
                    "new": display.show(specs[key], change[1]),
                }
                for key, change in entry["changes"].items()
                if key in specs and isinstance(change, list) and len(change) == 2
            ]
        else:
            item["id"] = entry["id"]
            item["body"] = display.show_html(entry["body"])
            item["internal"] = entry["internal"]
            item["mentions"] = [display.users.get(u, f"#{u}") for u in entry["mentions"] or []]
            item["files"] = display.show_files(entry["attachments"] or [])
        shown.append(item)
    shown.reverse()  # newest first
    return shown


async def _page_values(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    app: str,
    form: str,
    record_id: int,
) -> dict[str, Any]:
    handle = await _handle(db, app, form, principal)
    nav = await nav_for(db, principal, app)
    record = await reader.get_record(db, handle, principal, record_id)
    hidden = await access(handle, principal).hidden_on(db, record_id)
    values = {k: v for k, v in record["values"].items() if k not in hidden}
    display = _display(request, db, handle, principal)
    specs = handle.validator.specs
    await display.prepare(
        [(specs[k], v) for k, v in values.items() if k in specs],
        {u for u in (record["created_by"], record["updated_by"], record["owner_id"]) if u},
    )
    return {
        "nav": nav,
        "handle": handle,
        "form_label": handle.form.label,
        "record": record,
        "title": record_title(handle, values, record_id),
        "sections": section_rows(handle, display, values),
        "people": display.users,
        "rights": (
            {"update": False, "delete": False}
            if record["deleted_at"]
            else await _rights(db, handle, principal, record_id)
        ),
        "base": record_url(handle, record_id),
        "list_url": f"/apps/{app}/forms/{form}",
        "display": display,
    }


Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("/apps/{app}/forms/{form}/records/{record_id}", name="record")
async def record_page(
    request: Request,
    app: Key,
    form: Key,
    record_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    before: Cursor = None,
) -> Response:
    """The record; with the form's overview, its key figures and timeline (``before``: the
    timeline's next page, the "load more" link without JavaScript)."""
    values = await _page_values(request, db, principal, app, form, record_id)
    handle, display = values["handle"], values["display"]
    return render(
        request,
        "pages/record.html",
        **values,
        overview=await overview_view(db, handle, principal, record_id, display, before or None),
        entries=await activity(request, db, handle, principal, record_id, display),
        flows=await instances_on_record(db, principal, handle.form_id, record_id),
        errors=FormErrors(),
        draft="",
        internal=False,
    )


@router.get("/apps/{app}/forms/{form}/records/{record_id}/overview", name="record_overview")
async def overview_more(
    request: Request,
    app: Key,
    form: Key,
    record_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    before: Cursor = None,
) -> Response:
    """The next entries of the overview's timeline: a fragment for htmx ("load more"); the
    page itself at that cursor for anyone else."""
    if request.headers.get("hx-request") != "true":
        query = f"?{urlencode({'before': before})}" if before else ""
        return RedirectResponse(
            f"/apps/{app}/forms/{form}/records/{record_id}{query}#overview", status_code=303
        )
    handle = await _handle(db, app, form, principal)
    await reader.get_record(db, handle, principal, record_id)
    display = _display(request, db, handle, principal)
    page = await overview_entries(db, handle, principal, record_id, display, before or None)
    return render(
        request,
        "partials/overview_entries.html",
        base=record_url(handle, record_id),
        focus_first=True,
        **page,
    )


@router.get("/apps/{app}/forms/{form}/records/{record_id}/delete", name="record_delete_confirm")
async def confirm_delete(
    request: Request, app: Key, form: Key, record_id: IdPath, principal: PageUser, db: SessionDep
) -> Response:
    values = await _page_values(request, db, principal, app, form, record_id)
    if not values["rights"]["delete"]:
        raise ProblemError("forbidden")
    return render(request, "pages/record_delete.html", **values, error=None)


@router.post("/apps/{app}/forms/{form}/records/{record_id}/delete", name="record_delete")
async def delete_record(
    request: Request,
    app: Key,
    form: Key,
    record_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    row_version: Annotated[int | None, Form(ge=1, le=2**31)] = None,
) -> Response:
    """Soft delete through the records service (the record can be restored)."""
    handle = await resolve(db, app, form)
    check_token(handle, principal, "delete")
    await reader.get_record(db, handle, principal, record_id)
    try:
        await RecordWriter(db, handle, principal).delete(record_id, row_version)
        await commit_and_dispatch(db)
    except ProblemError as exc:
        await db.rollback()
        if exc.code != "conflict":
            raise
        await revive(db, principal)
        values = await _page_values(request, db, principal, app, form, record_id)
        message = _("Someone changed this record meanwhile. Check it, then delete it again.")
        return render(request, "pages/record_delete.html", status_code=409, **values, error=message)
    return RedirectResponse(f"/apps/{app}/forms/{form}?deleted={record_id}", status_code=303)


async def _uploads(request: Request, db: AsyncSession, principal: Principal) -> list[int]:
    """Files sent with a comment form, stored like ``POST /api/v1/files``; their ids."""
    uploads = posted_files(await request.form(), "files")
    if len(uploads) > MAX_FILES:
        raise ProblemError("validation_failed", detail=f"at most {MAX_FILES} files")
    ids = []
    for upload in uploads:
        try:
            ids.append(await store_file(request, db, principal, upload))
        except FileTooLarge as exc:
            limit = request.app.state.settings.max_upload_bytes
            raise ProblemError("payload_too_large", params={"limit": limit}) from exc
    return ids


@router.post("/apps/{app}/forms/{form}/records/{record_id}/comments", name="record_comment")
async def add_comment(
    request: Request,
    app: Key,
    form: Key,
    record_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    body: Annotated[str, Form(max_length=20000)] = "",
    internal: Annotated[bool, Form()] = False,
    attachments: Annotated[list[int] | None, Form()] = None,
) -> Response:
    """A comment or internal note (rich text, sanitised); mentioned users are notified."""
    handle = await _handle(db, app, form, principal)
    await reader.get_record(db, handle, principal, record_id)
    errors = FormErrors()
    clean = sanitise_html(body.replace("\x00", "")).strip()
    if not clean:
        errors.add("body", _("Write something first."))
    else:
        try:
            files = await _uploads(request, db, principal)
            await timeline.add_comment(
                db, handle, principal, record_id, clean, internal, [*(attachments or []), *files]
            )
            await db.commit()
        except ProblemError as exc:
            await db.rollback()
            errors = FormErrors.from_problem(exc)
            if exc.detail and not exc.errors:
                errors.form = exc.detail
    htmx = request.headers.get("hx-request") == "true"
    if not errors and not htmx:
        return RedirectResponse(record_url(handle, record_id) + "#activity", status_code=303)
    await revive(db, principal)
    display = _display(request, db, handle, principal)
    values: dict[str, Any] = {"base": record_url(handle, record_id)}
    if not htmx:
        values = await _page_values(request, db, principal, app, form, record_id)
        values["flows"] = await instances_on_record(db, principal, handle.form_id, record_id)
        values["overview"] = await overview_view(db, handle, principal, record_id, display)
    return render(
        request,
        "partials/record_activity.html" if htmx else "pages/record.html",
        status_code=422 if errors else 200,
        **values,
        entries=await activity(request, db, handle, principal, record_id, display),
        errors=errors,
        draft=body if errors else "",
        internal=internal if errors else False,
    )


@router.get("/people/suggest", name="people_suggest")
async def suggest_people(
    request: Request,
    principal: PageUser,
    db: SessionDep,
    q: Annotated[str, Query(max_length=64)] = "",
    field: Annotated[str, Query(max_length=64, pattern=r"^[a-z0-9_-]*$")] = "",
) -> Response:
    """Active users whose username or name starts with ``q`` (the @mention and user-picker
    suggestions), as a listbox fragment."""
    text = q.strip().lstrip("@").lower()
    users: list[User] = []
    if text:
        pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = (
            select(User)
            .where(
                User.is_active.is_(True),
                or_(
                    func.lower(User.username).like(pattern, escape="\\"),
                    func.lower(User.display_name).like(pattern, escape="\\"),
                ),
            )
            .order_by(User.username)
            .limit(8)
        )
        users = list((await db.execute(query)).scalars())
    people = [{"id": u.id, "username": u.username, "name": user_label(u)} for u in users]
    return render(request, "partials/people_suggest.html", people=people, field=field)
