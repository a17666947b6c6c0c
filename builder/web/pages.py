"""The app builder's home (apps to design, a new app) and an app's overview."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps import service
from builder.apps.designers import designable
from builder.apps.schemas import AppCreateIn
from builder.web.context import AppStatus, DesignContext, Designing, app_status
from builder.web.nav import SECTIONS, section_url
from runtime.auth.principal import Principal
from runtime.deps import SessionDep
from runtime.errors import FieldError, ProblemError, field_errors_from_pydantic
from runtime.web.deps import PageUser
from runtime.web.forms import FormErrors
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _
from runtime.web.templating import render

router = APIRouter(include_in_schema=False)
#: Versions the overview lists (the publish page lists them all).
RECENT_VERSIONS = 5
#: What the overview counts in the draft.
PART_LABELS = (
    ("forms", N_("Forms")),
    ("flows", N_("Flows")),
    ("dashboards", N_("Dashboards")),
    ("rules", N_("Rules")),
    ("sla", N_("SLA policies")),
    ("calendars", N_("Calendars")),
    ("roles", N_("Roles")),
    ("permissions", N_("Permission sets")),
)


def builder_page(
    request: Request, template: str, design: DesignContext, section: str, **values: Any
) -> HTMLResponse:
    """Render a builder page of ``design``'s app with its navigation, ``section`` current."""
    status = design.status
    return render(
        request,
        template,
        app=status.app,
        status=status,
        sections=[(s, section_url(status.app.key, s)) for s in SECTIONS],
        current_section=section,
        builder_config=status.config(),
        **values,
    )


async def _statuses(db: AsyncSession, principal: Principal) -> list[AppStatus]:
    apps = await designable(db, principal, await service.list_apps(db))
    return [await app_status(db, app) for app in apps]


def _home(request: Request, apps: list[AppStatus], **values: Any) -> HTMLResponse:
    values.setdefault("errors", FormErrors())
    values.setdefault("submitted", {})
    return render(request, "builder/pages/home.html", apps=apps, **values)


@router.get("/build", name="builder_home")
async def builder_home(request: Request, principal: PageUser, db: SessionDep) -> Response:
    return _home(request, await _statuses(db, principal))


@router.post("/build", name="builder_create_app")
async def create_app(request: Request, principal: PageUser, db: SessionDep) -> Response:
    """Create an app from the home page's form (administrators), then open its overview."""
    form = await request.form()
    submitted = {name: str(form.get(name) or "").strip() for name in ("key", "name_en", "name_zh")}
    names = {"en": submitted["name_en"], "zh-CN": submitted["name_zh"]}
    try:
        if not principal.is_admin:
            raise ProblemError("forbidden", extra={"action": "create_app"})
        try:
            body = AppCreateIn(key=submitted["key"], name={k: v for k, v in names.items() if v})
        except ValidationError as exc:
            errors = field_errors_from_pydantic(exc.errors())
            for error in errors:
                error.field = "name_en" if error.field.startswith("name") else error.field
            raise ProblemError("validation_failed", errors=errors) from exc
        if not body.name:
            raise ProblemError("validation_failed", errors=[_name_missing()])
        # A savepoint: a refused app rolls back alone, the page's objects stay loaded.
        async with db.begin_nested():
            app = await service.create_app(db, principal, **body.model_dump())
        await db.commit()
    except ProblemError as exc:
        return _home(
            request,
            await _statuses(db, principal),
            errors=FormErrors.from_problem(exc),
            submitted=submitted,
            status_code=exc.status,
        )
    return RedirectResponse(f"/build/apps/{app.key}", status_code=303)


def _name_missing() -> FieldError:
    return FieldError("name_en", "required", _("Give the app a name in at least one language."))


@router.get("/build/apps/{app_key}", name="builder_app")
async def overview(request: Request, design: Designing, db: SessionDep) -> Response:
    """Draft vs published, what the draft contains, its problems and the latest versions."""
    status = design.status
    settings = request.app.state.settings
    problems = service.validate_definition(status.draft_definition, settings)
    versions = (await service.list_versions(db, status.app.id))[:RECENT_VERSIONS]
    return builder_page(
        request,
        "builder/pages/overview.html",
        design,
        "overview",
        problems=problems,
        versions=versions,
        counts=status.counts(),
        parts=[(part, _(label)) for part, label in PART_LABELS],
        part_links={s.part: section_url(status.app.key, s) for s in SECTIONS if s.part is not None},
    )
