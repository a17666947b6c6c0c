"""Flow designer pages: the draft's flows, and one flow drawn with the bpmn-js Modeler
(static/flows.js) with our own properties panel; saved as BPMN through the import endpoint."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from builder.web.context import Designing
from builder.web.fieldtypes import field_types
from builder.web.org import org_choices
from builder.web.pages import builder_page
from engines.rules.calendar import load_calendar, shipped_calendars
from runtime.deps import SessionDep
from runtime.errors import FieldError, ProblemError
from runtime.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)

#: The bpmn-moddle descriptor of the ``tangram:`` namespace (for the Modeler).
MODDLE_DESCRIPTOR = Path(__file__).parents[2] / "engines" / "flow" / "bpmn" / "tangram.json"
FLOW_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def calendar_choices(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The calendars a business-hours timer may count on: the draft's own, then the shipped."""
    own = [
        {"key": c.get("key"), "name": c.get("name") or {}}
        for c in definition.get("calendars") or []
        if isinstance(c, dict) and c.get("key")
    ]
    taken = {c["key"] for c in own}
    shipped = [
        {"key": key, "name": load_calendar(key).name}
        for key in shipped_calendars()
        if key not in taken
    ]
    return own + shipped


def moddle_descriptor() -> dict[str, Any]:
    """The ``tangram:`` bpmn-moddle extension, as bpmn-js takes it."""
    descriptor: dict[str, Any] = json.loads(MODDLE_DESCRIPTOR.read_text(encoding="utf-8"))
    return descriptor


@router.get("/build/apps/{app_key}/flows", name="builder_flows")
async def flows_page(request: Request, design: Designing) -> Response:
    definition = design.status.draft.definition
    return builder_page(
        request,
        "builder/pages/flows.html",
        design,
        "flows",
        flows=definition.get("flows") or [],
        forms=definition.get("forms") or [],
    )


@router.get("/build/apps/{app_key}/flows/new", name="builder_new_flow")
async def new_flow(design: Designing, key: str = "", form: str = "") -> Response:
    """The "new flow" form: opens the designer on an empty flow with that key."""
    if not FLOW_KEY.match(key):
        raise ProblemError(
            "validation_failed", errors=[FieldError("key", "pattern", _("Use a-z, 0-9 and _."))]
        )
    query = f"?{urlencode({'form': form})}" if form else ""
    return RedirectResponse(f"/build/apps/{design.status.app.key}/flows/{key}{query}", 303)


@router.get("/build/apps/{app_key}/flows/{flow_key}", name="builder_flow")
async def flow_page(
    request: Request, design: Designing, db: SessionDep, flow_key: str, form: str | None = None
) -> Response:
    if not FLOW_KEY.match(flow_key):
        raise ProblemError("not_found", detail=f"flow {flow_key!r}")
    definition = design.status.draft.definition
    flow = next((f for f in definition.get("flows") or [] if f.get("key") == flow_key), None)
    forms = definition.get("forms") or []
    return builder_page(
        request,
        "builder/pages/flow.html",
        design,
        "flows",
        flow_key=flow_key,
        flow_exists=flow is not None,
        flow_form=(flow or {}).get("form") or form,
        forms=forms,
        roles=definition.get("roles") or [],
        flows=[f.get("key") for f in definition.get("flows") or []],
        calendars=calendar_choices(definition),
        org=await org_choices(db),
        types=field_types(),
        moddle=moddle_descriptor(),
    )
