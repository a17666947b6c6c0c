"""An app's settings in the builder: rename (names and description per language), copy into
a new app, and delete — with its export offered first and its key typed to confirm."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from builder.apps import lifecycle
from builder.apps.design_schemas import AppCopyIn
from builder.web.context import DesignContext, Designing
from builder.web.pages import builder_page
from runtime.deps import SessionDep
from runtime.errors import ProblemError, field_errors_from_pydantic
from runtime.web.forms import FormErrors

router = APIRouter(include_in_schema=False)
LOCALE_FIELDS = (("zh-CN", "zh"), ("en", "en"))


def _labels(form: Any, prefix: str) -> dict[str, str]:
    values = {
        locale: str(form.get(f"{prefix}_{suffix}") or "").strip()
        for locale, suffix in LOCALE_FIELDS
    }
    return {locale: value for locale, value in values.items() if value}


def _page(
    request: Request, design: DesignContext, form: str | None = None, **values: Any
) -> HTMLResponse:
    errors = {name: FormErrors() for name in ("rename", "copy", "delete", "template")}
    if form is not None:
        errors[form] = values.pop("errors")
    return builder_page(
        request,
        "builder/pages/settings.html",
        design,
        "settings",
        form_errors=errors,
        submitted=values.pop("submitted", {}),
        done=values.pop("done", None),
        **values,
    )


@router.get("/build/apps/{app_key}/settings", name="builder_settings")
async def settings_page(request: Request, design: Designing, done: str | None = None) -> Response:
    return _page(request, design, done=done)


@router.post("/build/apps/{app_key}/settings/rename", name="builder_rename")
async def rename(request: Request, design: Designing, db: SessionDep) -> Response:
    form = await request.form()
    submitted = {name: str(value) for name, value in form.items()}
    changes = {"name": _labels(form, "name"), "description": _labels(form, "description")}
    try:
        row_version = int(str(form.get("row_version") or "0"))
        async with db.begin_nested():
            await lifecycle.rename_app(db, design.principal, design.app.id, row_version, changes)
        await db.commit()
    except (ProblemError, ValueError) as exc:
        problem = exc if isinstance(exc, ProblemError) else ProblemError("validation_failed")
        return _page(
            request,
            design,
            "rename",
            errors=FormErrors.from_problem(problem),
            submitted=submitted,
            status_code=problem.status,
        )
    return RedirectResponse(f"/build/apps/{design.app.key}/settings?done=renamed", 303)


@router.post("/build/apps/{app_key}/settings/copy", name="builder_copy")
async def copy(request: Request, design: Designing, db: SessionDep) -> Response:
    form = await request.form()
    submitted = {name: str(value) for name, value in form.items()}
    try:
        if not design.principal.is_admin:
            raise ProblemError("admin_required")
        try:
            body = AppCopyIn(
                key=str(form.get("copy_key") or "").strip(), name=_labels(form, "copy")
            )
        except ValidationError as exc:
            errors = field_errors_from_pydantic(exc.errors())
            for error in errors:
                error.field = "copy_en" if error.field.startswith("name") else f"copy_{error.field}"
            raise ProblemError("validation_failed", errors=errors) from exc
        async with db.begin_nested():
            created = await lifecycle.copy_app(
                db, design.principal, design.app.id, key=body.key, name=body.name, description=None
            )
        key = created.key
        await db.commit()
    except ProblemError as exc:
        for error in exc.errors:
            if error.field in ("key", "name"):
                error.field = "copy_key" if error.field == "key" else "copy_en"
        return _page(
            request,
            design,
            "copy",
            errors=FormErrors.from_problem(exc),
            submitted=submitted,
            status_code=exc.status,
        )
    return RedirectResponse(f"/build/apps/{key}", 303)


@router.post("/build/apps/{app_key}/settings/delete", name="builder_delete")
async def delete(request: Request, design: Designing, db: SessionDep) -> Response:
    form = await request.form()
    confirm = str(form.get("confirm") or "").strip()
    try:
        async with db.begin_nested():
            await lifecycle.delete_app(db, design.principal, design.app.id, confirm)
        await db.commit()
    except ProblemError as exc:
        errors = FormErrors.from_problem(exc)
        errors.add("confirm", errors.form or "")
        return _page(
            request,
            design,
            "delete",
            errors=errors,
            submitted={"confirm": confirm},
            status_code=exc.status,
        )
    return RedirectResponse("/build", 303)
