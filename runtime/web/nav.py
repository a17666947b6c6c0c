"""What a user can reach: the published apps they may use, and an app's forms, inbox and
dashboards for its navigation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.models import App
from engines.report.spec import Dashboard
from runtime.auth.principal import Principal
from runtime.errors import ProblemError
from runtime.permissions.access import access
from runtime.records.forms import FormHandle, PublishedApp, resolve_app
from runtime.records.scope import check_token
from runtime.reports.service import visible_dashboards

ACTIONS = ("read", "create")


@dataclass
class FormEntry:
    key: str
    label: dict[str, Any]
    can_read: bool
    can_create: bool


@dataclass
class AppNav:
    key: str
    name: dict[str, Any]
    description: dict[str, Any]
    icon: str | None
    forms: list[FormEntry] = field(default_factory=list)
    dashboards: list[Dashboard] = field(default_factory=list)
    has_flows: bool = False
    #: Whether the live chat page is linked: the app takes messages in (an intake mapping) and
    #: the user may read its tickets.
    has_chat: bool = False

    @property
    def usable(self) -> bool:
        return bool(self.forms or self.dashboards)


def _allowed(handle: FormHandle, principal: Principal, action: str) -> bool:
    try:
        check_token(handle, principal, action)
    except ProblemError:  # a narrowed API token: not this app or action
        return False
    return access(handle, principal).can(action)


def app_nav(app: App, published: PublishedApp, principal: Principal) -> AppNav:
    """The parts of ``published`` that ``principal`` may use, in definition order."""
    nav = AppNav(app.key, app.name or {}, app.description or {}, app.icon)
    for form in published.definition.forms:
        handle = published.handles[form.key]
        rights = {action: _allowed(handle, principal, action) for action in ACTIONS}
        if any(rights.values()):
            nav.forms.append(FormEntry(form.key, form.label, rights["read"], rights["create"]))
    nav.dashboards = visible_dashboards(published, principal)
    nav.has_flows = bool(published.definition.flows)
    intake = published.definition.intake
    tickets = published.handles.get(intake[0].ticket.form) if intake else None
    nav.has_chat = tickets is not None and _allowed(tickets, principal, "read")
    return nav


async def published_apps(db: AsyncSession) -> list[App]:
    query = (
        select(App)
        .where(App.published_version_id.is_not(None), App.deleted_at.is_(None))
        .order_by(App.id)
    )
    return list((await db.scalars(query)).all())


async def usable_apps(db: AsyncSession, principal: Principal) -> list[AppNav]:
    """Every published app in which ``principal`` may read or create something."""
    result = []
    for app in await published_apps(db):
        nav = app_nav(app, await resolve_app(db, app.key), principal)
        if nav.usable:
            result.append(nav)
    return result


async def nav_for(db: AsyncSession, principal: Principal, app_key: str) -> AppNav:
    """The navigation of one app; 404 when unpublished or when the user may use nothing in it."""
    app = await db.scalar(select(App).where(App.key == app_key, App.deleted_at.is_(None)))
    if app is None:
        raise ProblemError("not_found")
    nav = app_nav(app, await resolve_app(db, app.key), principal)
    if not nav.usable:
        raise ProblemError("not_found")
    return nav
