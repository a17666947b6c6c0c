"""Form designer pages: the draft's forms (add one, open one) and one form's designer — a
palette of field types, a canvas of sections, a properties panel, linkage and form rules —
edited in the draft (static/form_designer.js)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession

from builder.web.context import DesignContext, Designing
from builder.web.fieldtypes import field_types, palette
from builder.web.pages import builder_page
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FormSchema
from engines.form.tables import build_table, child_tables
from engines.form.validate import FormValidator
from runtime.auth.principal import Principal
from runtime.deps import IdPath, SessionDep
from runtime.errors import ProblemError, field_errors_from_pydantic, problem_response
from runtime.permissions.access import Access
from runtime.records.forms import FormHandle, published_form
from runtime.web.forms import FormErrors
from runtime.web.i18n import gettext as _
from runtime.web.record_form import (
    FormView,
    picker_choices,
    picker_spec,
    record_choices,
)
from runtime.web.templating import ENV, context_for

router = APIRouter(include_in_schema=False)


def draft_forms(design: DesignContext) -> list[dict[str, Any]]:
    """The draft's forms as stored (JSON), in order."""
    definition = design.status.draft.definition or {}
    return [f for f in definition.get("forms") or [] if isinstance(f, dict)]


@router.get("/build/apps/{app_key}/forms", name="builder_forms")
async def forms_page(request: Request, design: Designing) -> Response:
    return builder_page(
        request, "builder/pages/forms.html", design, "forms", forms=draft_forms(design)
    )


@router.get("/build/apps/{app_key}/forms/{form_key}", name="builder_form")
async def form_page(request: Request, design: Designing, form_key: str) -> Response:
    form = next((f for f in draft_forms(design) if f.get("key") == form_key), None)
    if form is None:
        raise HTTPException(404)
    return builder_page(
        request,
        "builder/pages/form.html",
        design,
        "forms",
        form=form,
        types=field_types(),
        palette=palette(),
    )


#: Picker types whose choices are the records of another form.
RELATIONS = frozenset({"relation", "multirelation"})


@dataclass
class PreviewView(FormView):
    """The end users' view of a draft form: relation pickers search the *published* target
    form (through :func:`preview_options`); a target only in the draft has no records yet, so
    its picker comes without a search (disabled by forms.js) and with a note instead of help."""

    async def _load_choices(self, db: AsyncSession, principal: Principal) -> None:
        columns = [c for v in self.fields.values() for c in v.columns]
        for view in [*self.all_fields(), *columns]:
            if view.widget not in ("picker", "multipicker"):
                continue
            spec = picker_spec(self.handle, view.source or view.key)
            if spec is None or spec.type not in RELATIONS:
                if "__i__" not in view.name:
                    view.choices = await picker_choices(
                        db, self.handle, principal, view.source or view.key, view.values
                    )
                continue
            reference = FIELD_TYPES.get(spec.type).reference(spec)
            target = await published_form(db, int(reference[1])) if reference else None
            if target is None or target.app_id != self.handle.app_id:
                view.search_url = ""
                note = _("Its form is only in the draft: publish the app to choose records here.")
                view.help = {"en": note, "zh-CN": note}
                view.choices = []
                continue
            view.search_url = (
                f"/build/apps/{self.handle.app_key}/preview/forms/{target.form_id}/options"
            )
            if "__i__" not in view.name:
                view.choices = await record_choices(db, target, principal, None, [])


@router.post("/build/apps/{app_key}/forms/{form_key}/preview", name="builder_form_preview")
async def form_preview(
    request: Request,
    design: Designing,
    db: SessionDep,
    form_key: str,
    form: dict[str, Any] = Body(embed=True),
) -> JSONResponse:
    """The fields HTML of the posted draft form, as end users would get it (no data read but
    the published target forms' records in relation pickers)."""
    try:
        schema = FormSchema.model_validate(form)
    except ValidationError as exc:
        errors = field_errors_from_pydantic(exc.errors())
        return problem_response("validation_failed", request=request, errors=errors)
    try:
        validator = FormValidator(schema)
    except (ValueError, KeyError) as exc:
        return problem_response("validation_failed", request=request, detail=str(exc))
    table = build_table(schema, MetaData())
    app = design.status.app
    handle = FormHandle(
        app.id,
        app.key,
        design.status.draft.id,
        schema,
        table,
        validator,
        child_tables(schema, table),
        f"preview-{design.status.draft.id}",
    )
    rights = Access(handle, design.principal, admin=True, grants=())
    view = await PreviewView.build(db, handle, design.principal, rights=rights)
    html = ENV.get_template("builder/preview.html").render(
        context_for(request, view=view, errors=FormErrors())
    )
    return JSONResponse({"html": html})


@router.get("/build/apps/{app_key}/preview/forms/{form_id}/options", name="builder_preview_options")
async def preview_options(
    design: Designing,
    db: SessionDep,
    form_id: IdPath,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    """The preview's relation pickers search here: records of the app's published form
    ``form_id`` the designer may read, by title (404 for a form the app does not publish)."""
    target = await published_form(db, form_id)
    if target is None or target.app_id != design.status.app.id:
        raise ProblemError("not_found")
    choices = await record_choices(db, target, design.principal, q, [])
    return JSONResponse(
        {"items": [{"value": c.value, "label": str(c.label)} for c in choices]},
        headers={"Cache-Control": "no-store"},
    )
