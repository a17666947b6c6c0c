"""Roles and permissions page: the app's roles, and grants of form, field and row permissions
to roles, groups, departments, users or everyone — edited in the draft (static/roles.js)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from builder.apps.permissions import ACTIONS
from builder.web.context import Designing
from builder.web.fieldtypes import field_types
from builder.web.org import org_choices
from builder.web.pages import builder_page
from runtime.deps import SessionDep
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)

ACTION_LABELS = {
    "create": N_("Create"),
    "read": N_("Read"),
    "update": N_("Edit"),
    "delete": N_("Delete"),
    "export": N_("Export"),
    "import": N_("Import"),
    "design": N_("Design the app"),
}
SCOPE_LABELS = {
    "all": N_("All records"),
    "own": N_("Records they own"),
    "department": N_("Records of their department"),
    "department_tree": N_("Records of their department and its sub-departments"),
    "rule": N_("Records matching a condition"),
}
GRANTEE_LABELS = {
    "role": N_("Role"),
    "group": N_("Group"),
    "department": N_("Department"),
    "user": N_("User"),
    "everyone": N_("Everyone signed in"),
}


@router.get("/build/apps/{app_key}/roles", name="builder_roles")
async def roles_page(request: Request, design: Designing, db: SessionDep) -> Response:
    return builder_page(
        request,
        "builder/pages/roles.html",
        design,
        "roles",
        org=await org_choices(db),
        types=field_types(),
        choices={
            "actions": [{"key": a, "label": _(ACTION_LABELS[a])} for a in ACTIONS],
            "scopes": [{"key": k, "label": _(v)} for k, v in SCOPE_LABELS.items()],
            "grantees": [{"key": k, "label": _(v)} for k, v in GRANTEE_LABELS.items()],
        },
    )
