"""The app definition: everything a version of an app contains (forms, roles, permission
sets, flows, dashboards and automation rules). Stored as JSON in ``app_versions``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from builder.apps.intake import IntakeSpec
from builder.apps.permissions import AppRole, Grant
from engines.flow.model import Flow
from engines.form.schema import FormSchema
from engines.report.spec import Dashboard
from engines.rules.calendar import BusinessCalendar
from engines.rules.sla import SlaPolicy
from engines.rules.spec import Rule

CURRENT_SCHEMA_VERSION = 1


class AppDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = CURRENT_SCHEMA_VERSION
    forms: list[FormSchema] = Field(default_factory=list)
    #: Roles of this app (their members are managed at run time).
    roles: list[AppRole] = Field(default_factory=list)
    #: Permission sets: without a grant, only administrators reach the app's records.
    permissions: list[Grant] = Field(default_factory=list)
    #: Processes that run against the app's records (DESIGN §4).
    flows: list[Flow] = Field(default_factory=list)
    #: Dashboards of widgets over the app's forms (DESIGN §5).
    dashboards: list[Dashboard] = Field(default_factory=list)
    #: Automation rules: trigger → condition → actions (DESIGN §6).
    rules: list[Rule] = Field(default_factory=list)
    #: SLA policies: targets per priority in business hours, pauses, escalations.
    sla: list[SlaPolicy] = Field(default_factory=list)
    #: Business-hours calendars of this app (beside the shipped ones), by key.
    calendars: list[BusinessCalendar] = Field(default_factory=list)
    #: Where messages from the channels land (customer, ticket and message forms).
    intake: list[IntakeSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_forms(self) -> AppDefinition:
        ids = [f.id for f in self.forms]
        keys = [f.key for f in self.forms]
        if len(set(ids)) != len(ids):
            raise ValueError("a form id is used twice")
        if len(set(keys)) != len(keys):
            raise ValueError("a form key is used twice")
        return self

    def form(self, key: str) -> FormSchema | None:
        return next((f for f in self.forms if f.key == key), None)

    def form_by_id(self, form_id: int) -> FormSchema | None:
        return next((f for f in self.forms if f.id == form_id), None)

    def flow(self, key: str) -> Flow | None:
        return next((f for f in self.flows if f.key == key), None)

    def dashboard(self, key: str) -> Dashboard | None:
        return next((d for d in self.dashboards if d.key == key), None)

    def rule(self, key: str) -> Rule | None:
        return next((r for r in self.rules if r.key == key), None)

    def calendar(self, key: str) -> BusinessCalendar | None:
        return next((c for c in self.calendars if c.key == key), None)


def load(document: dict[str, object]) -> AppDefinition:
    """Parse a stored definition (version 1 is the only format so far; later formats add
    ``v1_to_v2(doc)`` upgrade functions here, DESIGN §10.7)."""
    return AppDefinition.model_validate(document)
