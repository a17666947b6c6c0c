"""The "Public link" page of a form's designer: publish the (published) form at ``/p/<slug>``,
choose the fields shown, the texts, whether an e-mail is asked for and the rate limit; copy the
link. Saves through :mod:`runtime.publicforms.service` (the same checks and 409 as the API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from builder.web.context import DesignContext, Designing
from builder.web.pages import builder_page
from runtime.deps import SessionDep
from runtime.errors import ProblemError, field_errors_from_pydantic
from runtime.publicforms import service
from runtime.publicforms.models import PublicForm
from runtime.publicforms.schemas import PublicFormIn, PublicFormPatch
from runtime.web.forms import FormErrors

router = APIRouter(include_in_schema=False)
TEXTS = ("title", "intro", "success")
LOCALES = (("zh-CN", "zh"), ("en", "en"))


def _texts(form: Any, name: str) -> dict[str, str]:
    values = {loc: str(form.get(f"{name}_{suffix}") or "").strip() for loc, suffix in LOCALES}
    return {loc: value for loc, value in values.items() if value}


async def _page(
    request: Request,
    design: DesignContext,
    db: Any,
    form_key: str,
    *,
    errors: FormErrors | None = None,
    submitted: dict[str, Any] | None = None,
    done: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    published = await service.published_of(db, design.app.id)
    handle = published.handles.get(form_key) if published is not None else None
    row = await service.for_form(db, design.app.id, form_key)
    choices: list[dict[str, Any]] = []
    shown: list[str] = []
    intake = False
    if handle is not None and published is not None:
        spec = service.intake_of(published, form_key)
        intake = spec is not None
        if row is not None:
            shown = service.shown_fields(row, handle, spec)
        else:
            shown = service.default_fields(handle, spec)
        choices = [
            {"key": key, "label": handle.spec(key).label} for key in service.eligible(handle, spec)
        ]
    base = str(request.base_url).rstrip("/")
    checked = {
        name: (submitted or {}).get(name) == "on"
        if submitted is not None
        else (getattr(row, name) if row is not None else True)
        for name in ("enabled", "collect_email")
    }
    return builder_page(
        request,
        "builder/pages/public_form.html",
        design,
        "forms",
        form_key=form_key,
        form_label=handle.form.label if handle is not None else {},
        published=handle is not None,
        row=row,
        link=f"{base}/p/{row.slug}" if row is not None else None,
        choices=choices,
        shown=shown,
        intake=intake,
        errors=errors or FormErrors(),
        submitted=submitted,
        checked=checked,
        done=done,
        status_code=status_code,
    )


@router.get("/build/apps/{app_key}/forms/{form_key}/public", name="builder_public_form")
async def public_form_page(
    request: Request, design: Designing, db: SessionDep, form_key: str, done: str | None = None
) -> Response:
    return await _page(request, design, db, form_key, done=done == "saved")


def _values(form: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "slug": str(form.get("slug") or "").strip(),
        "enabled": form.get("enabled") == "on",
        "collect_email": form.get("collect_email") == "on",
        "rate_limit": str(form.get("rate_limit") or "").strip() or "10/hour",
        "fields": [str(v) for v in form.getlist("fields")],
    }
    for name in TEXTS:
        values[name] = _texts(form, name)
    return values


@router.post("/build/apps/{app_key}/forms/{form_key}/public", name="builder_public_form_save")
async def save_public_form(
    request: Request, design: Designing, db: SessionDep, form_key: str
) -> Response:
    form = await request.form()
    submitted: dict[str, Any] = {name: str(value) for name, value in form.items()}
    submitted["fields"] = [str(v) for v in form.getlist("fields")]
    values = _values(form)
    try:
        row: PublicForm | None = await service.for_form(db, design.app.id, form_key)
        try:
            if row is None:
                body_in = PublicFormIn(form=form_key, **values)
                async with db.begin_nested():
                    await service.create_form(db, design.principal, design.app.id, body_in)
            else:
                version = int(str(form.get("row_version") or "0") or 0)
                patch = PublicFormPatch(row_version=max(version, 1), **values)
                async with db.begin_nested():
                    await service.update_form(db, design.principal, design.app.id, row.id, patch)
        except ValidationError as exc:
            raise ProblemError(
                "validation_failed", errors=field_errors_from_pydantic(exc.errors())
            ) from exc
        await db.commit()
    except ProblemError as exc:  # the savepoint rolled back: nothing of it is kept
        return await _page(
            request,
            design,
            db,
            form_key,
            errors=FormErrors.from_problem(exc),
            submitted=submitted,
            status_code=exc.status,
        )
    url = f"/build/apps/{design.app.key}/forms/{form_key}/public?done=saved"
    return RedirectResponse(url, status_code=303)


@router.post("/build/apps/{app_key}/forms/{form_key}/public/delete")
async def delete_public_form(
    request: Request, design: Designing, db: SessionDep, form_key: str
) -> Response:
    row = await service.for_form(db, design.app.id, form_key)
    if row is None:
        raise HTTPException(404)
    await service.delete_form(db, design.principal, design.app.id, row.id)
    await db.commit()
    return RedirectResponse(f"/build/apps/{design.app.key}/forms/{form_key}/public", 303)
