"""/api/v1/apps/{id}/draft/…: previews for designers (a rule's test run, a widget's result,
flow and form checks) and /api/v1/apps/{id}/access-preview ("view as user"). Nothing here
writes anything but the audit entry of an access preview."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import ValidationError

from builder.apps import previews, service
from builder.apps.access_preview import access_preview
from builder.apps.design_schemas import (
    AccessPreviewOut,
    FlowCheckIn,
    FlowCheckOut,
    FormCheckIn,
    FormCheckOut,
    RuleTestIn,
    WidgetPreviewIn,
)
from builder.apps.designers import Designer
from engines.report.spec import Dashboard, Widget
from engines.rules.spec import Rule
from runtime.audit import service as audit
from runtime.deps import MAX_ID, IdPath, SessionDep, SettingsDep
from runtime.errors import ProblemError
from runtime.reports.schemas import WidgetOut
from runtime.rules.schemas import TestRunOut

router = APIRouter(prefix="/api/v1/apps", tags=["apps"])
XML_TYPES = ("application/xml", "text/xml", "application/bpmn+xml")


@router.post("/{app_id}/draft/rules/test", response_model=TestRunOut)
async def test_rule(
    app_id: IdPath, body: RuleTestIn, designer: Designer, db: SessionDep, settings: SettingsDep
) -> TestRunOut:
    """What a rule of the draft (``rule_key``) or a rule being edited (``rule``) would do on a
    published record: whether it fires and what its actions would write. Nothing is written,
    no mail or webhook is sent."""
    if body.rule is not None:
        rule = previews.parse(Rule, body.rule, "rule", "rule_invalid")
    else:
        draft = service.parse_definition((await service.get_draft(db, app_id)).definition)
        found = draft.rule(body.rule_key or "")
        if found is None:
            raise ProblemError("not_found", detail=f"rule {body.rule_key!r}")
        rule = found
    out = await previews.test_rule(
        db, app_id, rule, body.record_id, body.kind, body.changes, settings
    )
    return TestRunOut(**out)


@router.post("/{app_id}/draft/widgets/preview", response_model=WidgetOut)
async def preview_widget(
    app_id: IdPath,
    body: WidgetPreviewIn,
    designer: Designer,
    db: SessionDep,
    settings: SettingsDep,
) -> WidgetOut:
    """A widget's result over the published tables, with the designer's rights and no cache
    (422 ``form_not_published`` when its form has no table yet)."""
    board = Dashboard(key="preview")
    widget = None
    if body.dashboard is not None:
        draft = service.parse_definition((await service.get_draft(db, app_id)).definition)
        found = draft.dashboard(body.dashboard)
        if found is None:
            raise ProblemError("dashboard_not_found", params={"dashboard": body.dashboard})
        board = found
        if body.widget is None:
            widget = next((w for w in found.widgets if w.key == body.widget_key), None)
            if widget is None:
                raise ProblemError(
                    "widget_not_found",
                    params={"dashboard": body.dashboard, "widget": body.widget_key},
                )
    if widget is None:
        widget = previews.parse(Widget, body.widget, "widget")
    result = await previews.preview_widget(
        db, designer, app_id, board, widget, body.filters, settings
    )
    return WidgetOut(**result)


@router.post("/{app_id}/draft/flows/check", response_model=FlowCheckOut)
async def check_flow(
    app_id: IdPath, request: Request, designer: Designer, db: SessionDep, settings: SettingsDep
) -> FlowCheckOut:
    """Every problem of a flow — JSON ``{"flow": {...}}`` or a BPMN 2.0 file
    (``application/xml``) — checked against the draft's forms and roles; each names the node
    or edge it is about."""
    draft = service.parse_definition((await service.get_draft(db, app_id)).definition)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if media in XML_TYPES:
        context = service.flow_context(draft, settings, {f.key for f in draft.flows})
        return FlowCheckOut(**previews.check_flow_xml(raw, context))
    if media != "application/json":
        raise ProblemError("unsupported_media_type")
    try:
        body = FlowCheckIn.model_validate_json(raw)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise ProblemError("malformed_json") from exc
        raise ProblemError("validation_failed", errors=previews.field_errors(exc, "")) from exc
    key = body.flow.get("key")
    context = service.flow_context(draft, settings, {f.key for f in draft.flows} | {str(key)})
    return FlowCheckOut(**previews.check_flow_document(body.flow, context))


@router.post("/{app_id}/draft/forms/check", response_model=FormCheckOut)
async def check_form(
    app_id: IdPath, body: FormCheckIn, designer: Designer, db: SessionDep
) -> FormCheckOut:
    """Every problem of a form definition, with paths (``form.fields[2].options.form_id``)
    and the key of the field concerned; relations are checked against the draft's forms."""
    draft = service.parse_definition((await service.get_draft(db, app_id)).definition)
    return FormCheckOut(**previews.check_form_document(body.form, draft))


@router.get("/{app_id}/access-preview", response_model=AccessPreviewOut)
async def preview_access(
    app_id: IdPath,
    designer: Designer,
    db: SessionDep,
    user_id: Annotated[int, Query(ge=1, le=MAX_ID)],
) -> AccessPreviewOut:
    """What user ``user_id`` could see and do in the published app: per form the actions, the
    rows (in words and as SQL) and the field rights; the dashboards they may open and the
    flows they may start."""
    out = await access_preview(db, app_id, user_id)
    audit.record(db, designer, "app.access_preview", "app", app_id, {"user_id": user_id})
    await db.commit()
    return AccessPreviewOut(**out)
