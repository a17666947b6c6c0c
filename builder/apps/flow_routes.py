"""/api/v1/apps/{id}/flows: a draft's flows as BPMN 2.0 XML, out and in.

Export gives the file bpmn.io or Camunda Modeler opens; import reads one back (defusedxml:
no DTDs, no entities), reports every element it cannot run by id and type, checks the flow
against the draft's forms, and — when the caller sends the draft's ``row_version`` and the
file imported whole — puts the flow into the draft (replacing the flow with the same key).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel

from builder.apps import service
from builder.apps.designers import Designer
from engines.flow.bpmn import from_bpmn, to_bpmn
from runtime.deps import IdPath, SessionDep, SettingsDep
from runtime.errors import FieldError, ProblemError

router = APIRouter(prefix="/api/v1/apps", tags=["apps"])
FlowKey = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
XML_TYPES = ("application/xml", "text/xml", "application/bpmn+xml", "application/octet-stream")


class BpmnImportOut(BaseModel):
    #: The file imported whole (a valid flow, nothing left out, no check problems).
    ok: bool
    #: The flow as far as the file gave it (for the designer to complete).
    flow: dict[str, Any] | None
    #: What was imported differently or left out: code, message, element id and type.
    problems: list[dict[str, Any]]
    #: What the whole-flow check found (unreachable nodes, unknown fields …).
    check_problems: list[dict[str, Any]]
    #: Set when the flow was saved into the draft.
    draft_row_version: int | None = None


@router.get("/{app_id}/flows/{flow_key}/bpmn", response_class=Response)
async def export_bpmn(
    app_id: IdPath, flow_key: FlowKey, designer: Designer, db: SessionDep
) -> Response:
    """The draft's flow ``flow_key`` as BPMN 2.0 XML with its diagram."""
    definition = service.parse_definition((await service.get_draft(db, app_id)).definition)
    flow = definition.flow(flow_key)
    if flow is None:
        raise ProblemError("not_found", detail=f"flow {flow_key!r}")
    return Response(
        to_bpmn(flow),
        media_type="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{flow_key}.bpmn"'},
    )


@router.post("/{app_id}/flows/bpmn", response_model=BpmnImportOut)
async def import_bpmn(
    app_id: IdPath,
    request: Request,
    designer: Designer,
    db: SessionDep,
    settings: SettingsDep,
    row_version: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Save into the draft")
    ] = None,
) -> BpmnImportOut:
    """Read a BPMN 2.0 file (the request body, ``application/xml``)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in XML_TYPES:
        raise ProblemError("unsupported_media_type", detail="send the BPMN file as application/xml")
    draft = await service.get_draft(db, app_id)
    definition = service.parse_definition(draft.definition)
    context = service.flow_context(definition, settings, {f.key for f in definition.flows})
    result = from_bpmn(await request.body(), check=True, context=context)
    out = BpmnImportOut(
        ok=result.ok,
        flow=result.document,
        problems=[p.as_dict() for p in result.problems],
        check_problems=[p.as_dict() for p in result.check_problems],
    )
    if row_version is None:
        return out
    if not result.ok or result.flow is None:
        raise ProblemError(
            "bpmn_invalid",
            errors=[FieldError(p.element_id or "file", p.code, p.message) for p in result.problems]
            + [FieldError(p.path, p.code, p.message) for p in result.check_problems],
            extra={"import": out.model_dump()},
        )
    flows = [f for f in definition.flows if f.key != result.flow.key] + [result.flow]
    document = {**draft.definition, "flows": [f.model_dump(mode="json") for f in flows]}
    saved = await service.save_draft(db, designer, app_id, row_version, document)
    await db.commit()
    out.draft_row_version = saved.row_version
    return out
