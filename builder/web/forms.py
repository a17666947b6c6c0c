"""Form designer pages: the draft's forms (add one, open one) and one form's designer — a
palette of field types, a canvas of sections, a properties panel, linkage and form rules —
edited in the draft (static/form_designer.js)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy import MetaData

from builder.web.context import DesignContext, Designing
from builder.web.fieldtypes import field_types, palette
from builder.web.pages import builder_page
from engines.form.schema import FormSchema
from engines.form.tables import build_table, child_tables
from engines.form.validate import FormValidator
from runtime.deps import SessionDep
from runtime.errors import field_errors_from_pydantic, problem_response
from runtime.permissions.access import Access
from runtime.records.forms import FormHandle
from runtime.web.forms import FormErrors
from runtime.web.record_form import FormView
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


#: Types the preview leaves out: their pickers read the published target tables.
NOT_PREVIEWED = frozenset({"relation", "multirelation", "lookup"})


@router.post("/build/apps/{app_key}/forms/{form_key}/preview", name="builder_form_preview")
async def form_preview(
    request: Request,
    design: Designing,
    db: SessionDep,
    form_key: str,
    form: dict[str, Any] = Body(embed=True),
) -> JSONResponse:
    """The fields HTML of the posted draft form, as end users would get it (no data read)."""
    try:
        schema = FormSchema.model_validate(form)
    except ValidationError as exc:
        errors = field_errors_from_pydantic(exc.errors())
        return problem_response("validation_failed", request=request, errors=errors)
    skipped = [f.key for f in schema.fields if f.type in NOT_PREVIEWED]
    shown = schema.model_copy(
        update={"fields": [f for f in schema.fields if f.type not in NOT_PREVIEWED]}
    )
    try:
        validator = FormValidator(shown)
    except (ValueError, KeyError) as exc:
        return problem_response("validation_failed", request=request, detail=str(exc))
    table = build_table(shown, MetaData())
    app = design.status.app
    handle = FormHandle(
        app.id,
        app.key,
        design.status.draft.id,
        shown,
        table,
        validator,
        child_tables(shown, table),
        f"preview-{design.status.draft.id}",
    )
    rights = Access(handle, design.principal, admin=True, grants=())
    view = await FormView.build(db, handle, design.principal, rights=rights)
    html = ENV.get_template("builder/preview.html").render(
        context_for(request, view=view, errors=FormErrors(), skipped=skipped)
    )
    return JSONResponse({"html": html})
