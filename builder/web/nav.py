"""The builder's per-app navigation: one entry per designer page, in menu order.

Each designer module adds its entry here (one line per section: several areas add theirs).
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.web.i18n import N_


@dataclass(frozen=True)
class Section:
    key: str
    #: A message id (translated when the menu renders).
    label: str
    #: The path under ``/build/apps/<app>``.
    path: str
    #: The draft part whose size the menu shows beside the label, if any.
    part: str | None = None


SECTIONS: tuple[Section, ...] = (
    Section("overview", N_("Overview"), ""),
    Section("forms", N_("Forms"), "/forms", part="forms"),
    Section("flows", N_("Flows"), "/flows", part="flows"),
    Section("dashboards", N_("Dashboards"), "/dashboards", part="dashboards"),
    Section("rules", N_("Rules"), "/rules", part="rules"),
    Section("sla", N_("SLA and calendars"), "/sla", part="sla"),
    Section("roles", N_("Roles and permissions"), "/roles", part="permissions"),
    Section("channels", N_("Channels"), "/channels"),
    Section("webhooks", N_("Webhooks"), "/webhooks"),
    Section("publish", N_("Publish and versions"), "/publish"),
    Section("settings", N_("Settings"), "/settings"),
)


def section_url(app_key: str, section: Section) -> str:
    return f"/build/apps/{app_key}{section.path}"
