"""Which flows an app publishes, read from its published definition and kept parsed per
version: a version row never changes once written and is never deleted (apps are only
soft-deleted), so its id names one definition for good and its flows are parsed once."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.definition import AppDefinition, load
from builder.apps.models import App, AppVersion
from engines.flow.engine import Calendars
from engines.flow.model import DEFAULT_CALENDAR, Flow
from engines.rules.calendar import BusinessCalendar, load_calendar, parse_calendar
from runtime.errors import ProblemError

_CACHE_LIMIT = 256
_definitions: dict[int, AppDefinition] = {}


@dataclass(frozen=True)
class FlowRef:
    """A flow of one published app version, and the id of the form it runs on."""

    app_id: int
    app_key: str
    version_id: int
    flow: Flow
    form_id: int | None


async def definition(db: AsyncSession, version_id: int) -> AppDefinition:
    cached = _definitions.get(version_id)
    if cached is not None:
        return cached
    document = (
        await db.execute(select(AppVersion.definition).where(AppVersion.id == version_id))
    ).scalar_one()
    parsed = load(document)
    if len(_definitions) >= _CACHE_LIMIT:
        _definitions.clear()
    _definitions[version_id] = parsed
    return parsed


@lru_cache(maxsize=16)
def default_calendar(time_zone: str) -> BusinessCalendar:
    """The shipped default calendar's hours in the organisation's time zone ``time_zone``."""
    shipped = load_calendar(DEFAULT_CALENDAR)
    return parse_calendar({**shipped.model_dump(mode="json"), "timezone": time_zone})


def calendars(document: AppDefinition, time_zone: str) -> Calendars:
    """How the timers of ``document``'s flows find their business calendar: the app's own
    by key, else a shipped one; none named: the app's first own calendar, else the default
    (:data:`~engines.flow.model.DEFAULT_CALENDAR`) in the organisation's time zone."""

    def find(name: str | None) -> BusinessCalendar:
        if name is None:
            return document.calendars[0] if document.calendars else default_calendar(time_zone)
        return document.calendar(name) or load_calendar(name)

    return find


def clear_cache() -> None:
    _definitions.clear()


def _ref(
    app_id: int, app_key: str, version_id: int, document: AppDefinition, flow: Flow
) -> FlowRef:
    form = document.form(flow.form) if flow.form else None
    return FlowRef(app_id, app_key, version_id, flow, form.id if form else None)


async def flow_of(db: AsyncSession, version_id: int, flow_key: str) -> Flow:
    """Flow ``flow_key`` as version ``version_id`` defines it (no query once cached)."""
    flow = (await definition(db, version_id)).flow(flow_key)
    if flow is None:
        raise ProblemError("not_found", detail=f"flow {flow_key!r}")
    return flow


async def flow_at(db: AsyncSession, app_id: int, version_id: int, flow_key: str) -> FlowRef:
    """Flow ``flow_key`` as version ``version_id`` defines it (a running instance's flow)."""
    document = await definition(db, version_id)
    flow = document.flow(flow_key)
    if flow is None:
        raise ProblemError("not_found", detail=f"flow {flow_key!r}")
    app_key = (await db.execute(select(App.key).where(App.id == app_id))).scalar_one()
    return _ref(app_id, app_key, version_id, document, flow)


async def _published(db: AsyncSession, app_key: str) -> tuple[int, int, AppDefinition]:
    row = (
        await db.execute(
            select(App.id, App.published_version_id).where(
                App.key == app_key, App.deleted_at.is_(None)
            )
        )
    ).one_or_none()
    if row is None or row[1] is None:
        raise ProblemError("not_found", detail=f"app {app_key!r} is not published")
    return row[0], row[1], await definition(db, row[1])


async def published_flow(db: AsyncSession, app_key: str, flow_key: str) -> FlowRef:
    """Flow ``flow_key`` of the published version of app ``app_key``; 404 if there is none."""
    app_id, version_id, document = await _published(db, app_key)
    flow = document.flow(flow_key)
    if flow is None:
        raise ProblemError("not_found", detail=f"flow {flow_key!r}")
    return _ref(app_id, app_key, version_id, document, flow)


async def published_flows(db: AsyncSession, app_key: str) -> list[FlowRef]:
    app_id, version_id, document = await _published(db, app_key)
    return [_ref(app_id, app_key, version_id, document, f) for f in document.flows]


async def triggered_by(db: AsyncSession, version_id: int, form_id: int) -> list[FlowRef]:
    """Flows of app version ``version_id`` that start by themselves on records of form
    ``form_id`` (no query once the version is cached: record writes ask on every event)."""
    document = await definition(db, version_id)
    form = document.form_by_id(form_id)
    if form is None or not document.flows:
        return []
    flows = [f for f in document.flows if f.form == form.key and f.triggers]
    if not flows:
        return []
    app_id, app_key = (
        await db.execute(
            select(App.id, App.key)
            .join(AppVersion, AppVersion.app_id == App.id)
            .where(AppVersion.id == version_id)
        )
    ).one()
    return [_ref(app_id, app_key, version_id, document, f) for f in flows]
