"""Rules and SLA pages: the draft's automation rules (trigger → condition → actions, with a
test run and the run log of the published rule) and its SLA policies and business calendars,
edited in the draft (static/rules.js, static/sla.js)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from builder.web.context import DesignContext, Designing
from builder.web.fieldtypes import field_types
from builder.web.pages import builder_page
from engines.rules.calendar import shipped_calendars
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _

router = APIRouter(include_in_schema=False)

TRIGGER_LABELS = {
    "created": N_("A record is created"),
    "updated": N_("A record is updated"),
    "deleted": N_("A record is deleted"),
    "field_changed": N_("A field changes"),
    "time": N_("Some time after a date"),
    "schedule": N_("On a schedule"),
    "flow_event": N_("A flow task event"),
}
ACTION_LABELS = {
    "set_fields": N_("Set fields"),
    "assign": N_("Assign"),
    "comment": N_("Add a comment"),
    "notify": N_("Notify"),
    "send_mail": N_("Send mail"),
    "webhook": N_("Call a webhook"),
    "start_flow": N_("Start a flow"),
    "create_record": N_("Create a record"),
    "update_related": N_("Update the related record"),
}
FLOW_EVENT_LABELS = {
    "task_created": N_("Task created"),
    "task_completed": N_("Task completed"),
    "task_overdue": N_("Task overdue"),
}
WEEKDAY_LABELS = (
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)


def _choices(labels: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "label": _(v)} for k, v in labels.items()]


def calendar_choices() -> list[str]:
    """The keys of the shipped calendars (an app's own are in its draft)."""
    return sorted(shipped_calendars())


@router.get("/build/apps/{app_key}/rules", name="builder_rules")
async def rules_page(request: Request, design: Designing) -> Response:
    return _rules(request, design, None)


@router.get("/build/apps/{app_key}/rules/{key}", name="builder_rule")
async def rule_page(request: Request, design: Designing, key: str) -> Response:
    return _rules(request, design, key)


def published_rules(design: DesignContext) -> dict[str, dict[str, bool]]:
    """The published rules by key, and whether the draft has each one unchanged (a test run
    uses the published rule only then)."""
    published = design.status.published_definition
    if published is None:
        return {}
    draft = design.status.draft_definition
    return {r.key: {"same": draft.rule(r.key) == r} for r in published.rules}


def _rules(request: Request, design: DesignContext, key: str | None) -> Response:
    return builder_page(
        request,
        "builder/pages/rules.html",
        design,
        "rules",
        rule_key=key,
        published_rules=published_rules(design),
        types=field_types(),
        choices={
            "triggers": _choices(TRIGGER_LABELS),
            "actions": _choices(ACTION_LABELS),
            "flow_events": _choices(FLOW_EVENT_LABELS),
            "calendars": calendar_choices(),
        },
    )


@router.get("/build/apps/{app_key}/sla", name="builder_sla")
async def sla_page(request: Request, design: Designing) -> Response:
    return builder_page(
        request,
        "builder/pages/sla.html",
        design,
        "sla",
        types=field_types(),
        choices={
            "calendars": calendar_choices(),
            "weekdays": [_(w) for w in WEEKDAY_LABELS],
        },
    )
