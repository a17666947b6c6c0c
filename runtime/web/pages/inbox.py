"""The task inbox (my tasks, my groups' tasks, done, started, CC'd), a task's page with its
step's form and actions, and an instance's history. Every action goes through the flows
services, exactly as ``/api/v1/tasks`` does."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.deps import MAX_ID, IdPath, SessionDep
from runtime.errors import ProblemError
from runtime.flows import inbox, tasks
from runtime.flows import routes as flow_api
from runtime.flows.models import FlowInstance
from runtime.flows.records import form_handle, task_record
from runtime.flows.schemas import TaskDetailOut
from runtime.records.forms import FormHandle
from runtime.web.deps import PageUser, page_time_zone, safe_next
from runtime.web.forms import FormErrors
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _
from runtime.web.inbox_view import (
    TASK_STATUSES,
    Names,
    instance_history,
    instance_position,
    node_name,
    revive,
    status_label,
)
from runtime.web.nav import nav_for
from runtime.web.record_form import FormView, row_change
from runtime.web.templating import label_text, render
from runtime.web.uploads import form_uploads

router = APIRouter(include_in_schema=False)

Box = Literal["mine", "group", "done", "started", "cc"]
PAGE = 25
AppKey = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Before = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Comment = Annotated[str, Form(max_length=10_000)]
#: Messages shown after an action succeeded (``?done=``).
DONE = {
    "claim": N_("You claimed the task."),
    "release": N_("You released the task to its group."),
    "complete": N_("The task is done."),
    "approve": N_("You approved."),
    "reject": N_("You rejected."),
    "transfer": N_("The task was transferred."),
    "add_signer": N_("The signer was added."),
    "return": N_("The process was returned to the earlier step."),
}


async def _nav(db: AsyncSession, principal: Principal, app: str | None) -> Any:
    if app is None:
        return None
    try:
        return await nav_for(db, principal, app)
    except ProblemError:
        return None


async def _task_rows(
    db: AsyncSession, principal: Principal, box: Box, app: str | None, before: int | None
) -> list[dict[str, Any]]:
    names = Names(db)
    if box == "started":
        found = await inbox.started(db, principal, before_id=before, limit=PAGE)
        if app is not None:
            found = [i for i in found if i["app"] == app]
        instance_ids = [i["id"] for i in found]
    else:
        found = await inbox.list_tasks(db, principal, box, app=app, before_id=before, limit=PAGE)
        instance_ids = [t["instance_id"] for t in found]
    rows = await db.execute(select(FlowInstance).where(FlowInstance.id.in_(instance_ids)))
    instances = {i.id: i for i in rows.scalars()}
    await names.load_forms({i["form_id"] for i in found if i["form_id"]})
    await names.load_users({i.get("assignee_id") or i.get("started_by") or 0 for i in found} - {0})
    items = []
    for item in found:
        instance = instances[item["id"] if box == "started" else item["instance_id"]]
        flow = await names.flow_of(instance)
        items.append(
            {
                **item,
                "flow_name": label_text(flow.name) or item["flow"],
                "task_name": label_text(item.get("name")) or node_name(flow, item.get("node")),
                "record_href": names.record_href(item["app"], item["form_id"], item["record_id"]),
                "assignee": names.user(item.get("assignee_id")),
                "starter": names.user(item.get("started_by")),
                "status_text": status_label(item["status"])
                if box == "started"
                else status_label(item["status"], TASK_STATUSES),
            }
        )
    return items


@router.get("/inbox", name="inbox")
async def inbox_page(
    request: Request,
    principal: PageUser,
    db: SessionDep,
    box: Box = "mine",
    app: AppKey = None,
    before: Before = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return await _inbox(request, db, principal, box=box, app=app, before=before, done=done)


async def _inbox(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    *,
    box: Box = "mine",
    app: str | None = None,
    before: int | None = None,
    done: str | None = None,
    status_code: int = 200,
    error: str | None = None,
) -> Response:
    items = await _task_rows(db, principal, box, app, before)
    return render(
        request,
        "pages/inbox.html",
        status_code=status_code,
        nav=await _nav(db, principal, app),
        box=box,
        app=app,
        items=items,
        counts=await inbox.counts(db, principal),
        next_before=items[-1]["id"] if len(items) == PAGE else None,
        before=before,
        done=_(DONE[done]) if done in DONE else None,
        error=error,
    )


# --- a task -------------------------------------------------------------------------------------


def _working(detail: TaskDetailOut) -> bool:
    """Whether the viewer may complete (or decide) the task now."""
    return "complete" in detail.actions or "approve" in detail.actions


async def _task_form(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    detail: TaskDetailOut,
    handle: FormHandle | None,
    values: dict[str, Any] | None = None,
) -> FormView | None:
    """The record's form as the task's step shows it: the fields the step lets its worker edit
    as controls (the form page's), the others as values; all values once the task is not
    theirs to work. None for a process without a record."""
    if handle is None or detail.record_id is None:
        return None
    record = await task_record(db, handle, detail.record_id)
    if record is None:
        return None
    working = _working(detail)
    rights = detail.fields if working else {k: r for k, r in detail.fields.items() if r == "hidden"}
    return await FormView.build(
        db,
        handle,
        principal,
        record=record,
        overrides=rights,
        values=values,
        time_zone=page_time_zone(request),
        options_query=f"task={detail.id}" if working else "",
    )


async def _task_page(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    task_id: int,
    *,
    errors: FormErrors | None = None,
    status_code: int = 200,
    values: dict[str, str] | None = None,
    fields: dict[str, Any] | None = None,
    change: tuple[str, int] | None = None,
    done: str | None = None,
) -> Response:
    """The task with its step's form; ``values`` are the page's own inputs (comment, user
    names) and ``fields`` the record values submitted, shown again with ``errors``."""
    detail = await flow_api.task_detail(db, principal, task_id)
    instance = await db.get(FlowInstance, detail.instance_id)
    assert instance is not None
    names = Names(db)
    flow = await names.flow_of(instance)
    handle = await form_handle(db, instance.form_id)
    view = await _task_form(request, db, principal, detail, handle, fields)
    if view is not None and change is not None:
        view.with_rows(*change)
    await names.load_users(
        {detail.assignee_id or 0, detail.completed_by or 0, instance.started_by or 0} - {0}
    )
    errors = errors or FormErrors()
    return render(
        request,
        "pages/task.html",
        status_code=status_code,
        nav=await _nav(db, principal, detail.app),
        task=detail,
        task_name=label_text(detail.name) or node_name(flow, detail.node),
        flow_name=label_text(flow.name) or detail.flow,
        status_text=status_label(detail.status, TASK_STATUSES),
        assignee=names.user(detail.assignee_id),
        completed_by=names.user(detail.completed_by),
        starter=names.user(instance.started_by),
        record_href=(
            f"/apps/{detail.app}/forms/{handle.form.key}/records/{detail.record_id}"
            if handle is not None and detail.record_id
            else None
        ),
        view=view,
        working=_working(detail),
        unplaced=view.unplaced(errors) if view is not None else [],
        multipart=view is not None and any(f.widget == "files" for f in view.editable()),
        targets=[(t, node_name(flow, t)) for t in detail.return_targets],
        errors=errors,
        values=values or {},
        done=_(DONE[done]) if done in DONE else None,
        countersign=detail.countersign,
        signer_names=await _signer_names(names, detail.countersign),
    )


async def _signer_names(names: Names, countersign: dict[str, Any] | None) -> list[str]:
    if not countersign:
        return []
    await names.load_users(set(countersign.get("signers") or []))
    return [names.user(s) for s in countersign.get("signers") or []]


@router.get("/inbox/tasks/{task_id}", name="inbox_task")
async def task_page(
    request: Request,
    task_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return await _task_page(request, db, principal, task_id, done=done)


def _field_errors(problem: ProblemError) -> FormErrors:
    """The problem's message, and its field errors under the fields (``fields.x`` → ``x``)."""
    errors = FormErrors.from_problem(problem)
    codes = {
        "field_not_editable": _("This field cannot be changed at this step."),
        "required": _("This field is required at this step."),
    }
    fields: dict[str, list[str]] = {}
    for item in problem.errors:
        name = item.field.removeprefix("fields.")
        message = (
            codes.get(item.code, item.message)
            if problem.code == "task_fields_invalid"
            else item.message
        )
        fields.setdefault(name, []).append(message)
    errors.fields = fields
    if problem.code == "task_not_open":
        errors.form = _("This task is already done or was withdrawn; nothing was changed.")
    elif problem.code == "task_not_yours":
        errors.form = _("This task is not yours to work on: it is assigned to someone else.")
    elif problem.code == "conflict":
        errors.form = _(
            "Someone else acted on this process at the same moment. Check it and try again."
        )
    return errors


async def _act(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    task_id: int,
    done: str,
    work: Any,
    values: dict[str, str] | None = None,
    back: str | None = None,
    fields: dict[str, Any] | None = None,
) -> Response:
    """Run ``work`` as one transition; a problem is shown on the task page with its status
    (with the submitted ``values`` and ``fields``)."""
    try:
        async with flow_api.transition(db):
            await work()
    except ProblemError as exc:
        if exc.code == "not_found":
            raise
        await revive(db, principal)
        errors = _field_errors(exc)
        try:
            return await _task_page(
                request,
                db,
                principal,
                task_id,
                errors=errors,
                status_code=exc.status,
                values=values,
                fields=fields,
            )
        except ProblemError as hidden:  # the task is no longer the viewer's to see
            if hidden.code != "not_found":
                raise
            return await _inbox(request, db, principal, status_code=exc.status, error=errors.form)
    target = safe_next(back, "") if back else ""
    if target:
        separator = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{separator}done={done}", status_code=303)
    return RedirectResponse(f"/inbox/tasks/{task_id}?done={done}", status_code=303)


@router.post("/inbox/tasks/{task_id}/complete", name="inbox_task_complete")
async def complete_task(
    request: Request,
    task_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    action: Annotated[Literal["complete", "approve", "reject"], Form(alias="_action")] = "complete",
    comment: Annotated[str, Form(alias="_comment", max_length=10_000)] = "",
) -> Response:
    """Complete, approve or reject with the step's fields and a comment (``_action`` and
    ``_comment``: no field key starts with ``_``, so a field may be called ``comment``)."""
    form = await request.form()
    detail = await flow_api.task_detail(db, principal, task_id)
    handle = await form_handle(db, detail.form_id)
    view = await _task_form(request, db, principal, detail, handle)
    fields: dict[str, Any] = {}
    problems = FormErrors()
    if view is not None:
        uploaded, problems = await form_uploads(request, db, principal, view, form)
        fields = view.parse(form, uploaded)
    change = row_change(form)
    if change is not None or problems:
        if problems:
            problems.form = _("Check the highlighted fields.")
        return await _task_page(
            request,
            db,
            principal,
            task_id,
            errors=problems,
            status_code=422 if problems else 200,
            values={"comment": comment},
            fields=fields,
            change=change,
        )

    async def work() -> None:
        await tasks.complete(
            db,
            principal,
            task_id,
            action=action,
            fields=fields,
            variables={},
            comment=comment.strip() or None,
        )

    return await _act(
        request, db, principal, task_id, action, work, values={"comment": comment}, fields=fields
    )


async def _user_named(db: AsyncSession, username: str, field: str) -> tuple[int | None, FormErrors]:
    errors = FormErrors()
    name = username.strip().lstrip("@")
    found = None
    if name:
        found = await db.scalar(
            select(User.id).where(User.username == name.lower(), User.is_active.is_(True))
        )
    if found is None:
        errors.add(field, _("Choose an active user by their username."))
        errors.form = _("Check the highlighted fields.")
    return found, errors


@router.post("/inbox/tasks/{task_id}/transfer", name="inbox_task_transfer")
async def transfer_task(
    request: Request,
    task_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    to: Annotated[str, Form(max_length=320)] = "",
    comment: Comment = "",
) -> Response:
    """Hand the task to someone else 转交."""
    user_id, errors = await _user_named(db, to, "to")
    if user_id is None:
        return await _task_page(
            request, db, principal, task_id, errors=errors, status_code=422, values={"to": to}
        )

    async def work() -> None:
        await tasks.act(db, principal, task_id, "transfer", to=user_id, comment=comment or None)

    back = "/inbox" if user_id != principal.user_id else None
    return await _act(request, db, principal, task_id, "transfer", work, back=back)


@router.post("/inbox/tasks/{task_id}/signers", name="inbox_task_signer")
async def add_signer(
    request: Request,
    task_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    signer: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Add a signer to the countersign 加签."""
    user_id, errors = await _user_named(db, signer, "signer")
    if user_id is None:
        return await _task_page(
            request,
            db,
            principal,
            task_id,
            errors=errors,
            status_code=422,
            values={"signer": signer},
        )

    async def work() -> None:
        await tasks.act(db, principal, task_id, "add_signer", signer=user_id)

    return await _act(request, db, principal, task_id, "add_signer", work)


@router.post("/inbox/tasks/{task_id}/return", name="inbox_task_return")
async def return_task(
    request: Request,
    task_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    target: Annotated[str, Form(max_length=100)] = "",
    comment: Comment = "",
) -> Response:
    """Send the process back to an earlier step 退回."""

    async def work() -> None:
        await tasks.act(db, principal, task_id, "return_to", target=target, comment=comment or None)

    return await _act(request, db, principal, task_id, "return", work)


@router.post("/inbox/tasks/{task_id}/claim", name="inbox_task_claim")
async def claim_task(
    request: Request,
    task_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    async def work() -> None:
        await tasks.act(db, principal, task_id, "claim")

    return await _act(request, db, principal, task_id, "claim", work, back=back or None)


@router.post("/inbox/tasks/{task_id}/release", name="inbox_task_release")
async def release_task(
    request: Request,
    task_id: IdPath,
    principal: PageUser,
    db: SessionDep,
    back: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    async def work() -> None:
        await tasks.act(db, principal, task_id, "release")

    return await _act(request, db, principal, task_id, "release", work, back=back or None)


# --- an instance --------------------------------------------------------------------------------


@router.get("/inbox/instances/{instance_id}", name="inbox_instance")
async def instance_page(
    request: Request, instance_id: IdPath, principal: PageUser, db: SessionDep
) -> Response:
    """Where a process stands and everything it did."""
    row = await flow_api.readable_instance(db, principal, instance_id)
    names = Names(db)
    position = await instance_position(db, principal, instance_id, names)
    flow = await names.flow_of(row)
    history = await instance_history(db, instance_id, flow, names)
    app_key = position["detail"].app
    return render(
        request,
        "pages/instance.html",
        nav=await _nav(db, principal, app_key),
        item=position,
        history=history,
    )
