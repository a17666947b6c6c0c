"""Running dashboards: permission check → compile → cache → execute → shape.

Every widget is compiled by the report engine (``engines.report``) for one viewer: the row scope
of every form the statement touches is the records' one scope function, fields the viewer may
not see make the widget fail for them (403 naming widget and field), a narrowed API token
applies. Results are cached per (app version, widget spec, compiled statement with its bound
parameters, data versions of the forms it reads) — see :mod:`runtime.reports.cache`. A dashboard
runs its widgets concurrently on PostgreSQL (one pooled connection each, at most
``report_concurrency`` at once) and in turn on SQLite; one widget's failure is reported for that
widget, the others still answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from engines.report.compiler import CompiledWidget, compile_widget
from engines.report.errors import ReportError
from engines.report.spec import Dashboard, Widget
from runtime.auth.principal import Principal
from runtime.config import Settings
from runtime.db import custom_plans
from runtime.errors import FieldError, ProblemError, problem_body
from runtime.i18n import current_locale, pick
from runtime.permissions.access import grantee_matches
from runtime.records.forms import FormHandle, PublishedApp, resolve_app
from runtime.records.scope import check_token, require
from runtime.records.versions import data_versions
from runtime.reports.cache import ResultCache, cache_key, statement_identity
from runtime.reports.labels import dimension_labels
from runtime.reports.results import jsonable
from runtime.reports.viewer import AppCatalog, ViewerScope, viewer_identity

log = logging.getLogger("tangram.reports")


@dataclass
class ReportContext:
    """One request's view of one published app: who asks, in which time zone, at what time."""

    app: PublishedApp
    principal: Principal
    settings: Settings
    cache: ResultCache
    dialect: Any
    #: "now" for relative dates, to the minute (so that results cache for a minute at most
    #: when a widget's filter is relative to today).
    now: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(second=0, microsecond=0)
    )
    use_cache: bool = True

    @property
    def catalog(self) -> AppCatalog:
        return AppCatalog(self.app)


@dataclass
class Prepared:
    """A widget compiled for the viewer, its rights checked, with its cache key parts."""

    widget: Widget
    compiled: CompiledWidget
    handles: list[FormHandle]
    #: What the answer depends on besides the data (see :mod:`runtime.reports.cache`).
    parts: tuple[Any, ...]
    #: The statement's SQL and parameters once worked out (shared by reuses of the compile).
    memo: dict[str, Any] = field(default_factory=dict)

    def cache_key(self, dialect: Any, versions: dict[int, int]) -> str:
        if "identity" not in self.memo:
            self.memo["identity"] = statement_identity(self.compiled.statement, dialect)
        sql, params = self.memo["identity"]
        data = sorted((h.form_id, versions.get(h.form_id, 0)) for h in self.handles)
        return cache_key(*self.parts, sql, params, data)


@dataclass
class Outcome:
    widget: str
    #: The shaped result as JSON (``WidgetResult``: columns, rows, value, pivot …).
    result: Any = None
    #: The statement's rows (``Row`` objects), for callers that compare or export them.
    rows: list[Any] | None = None
    cached: bool = False
    problem: dict[str, Any] | None = None


# --- the definition ----------------------------------------------------------------------------


async def load_context(
    db: AsyncSession,
    principal: Principal,
    app_key: str,
    settings: Settings,
    cache: ResultCache,
    *,
    use_cache: bool = True,
) -> ReportContext:
    app = await resolve_app(db, app_key)
    if principal.token_apps is not None and app.app_key not in principal.token_apps:
        raise ProblemError("token_scope", extra={"app": app.app_key})
    return ReportContext(app, principal, settings, cache, db.bind.dialect, use_cache=use_cache)


def dashboards(context: ReportContext) -> list[Dashboard]:
    """The app's dashboards the caller may see: those with a widget on a form they may read."""
    return [d for d in context.app.definition.dashboards if _may_see(context, d)]


def _may_see(context: ReportContext, dashboard: Dashboard) -> bool:
    return may_see(context.app, context.principal, dashboard)


def may_see(app: PublishedApp, principal: Principal, dashboard: Dashboard) -> bool:
    """Whether ``principal`` may open ``dashboard``: they are one of its ``visible_to``
    grantees (when it names any; administrators always are), and it has a widget on a form
    they may read. Every read path — the navigation, the page, the API, drill-down, exports —
    asks this through :func:`dashboard` or :func:`visible_dashboards`."""
    if (
        dashboard.visible_to
        and not principal.is_admin
        and not any(grantee_matches(g, principal, app.app_id) for g in dashboard.visible_to)
    ):
        return False
    for widget in dashboard.widgets:
        handle = app.handles.get(widget.form)
        if handle is not None and _can(handle, principal, "read"):
            return True
    return False


def visible_dashboards(app: PublishedApp, principal: Principal) -> list[Dashboard]:
    """The dashboards of ``app`` that ``principal`` may open (the navigation lists them)."""
    return [d for d in app.definition.dashboards if may_see(app, principal, d)]


def _can(handle: FormHandle, principal: Principal, action: str) -> bool:
    try:
        check_token(handle, principal, action)
        require(handle, principal, action)
    except ProblemError:
        return False
    return True


def dashboard(context: ReportContext, key: str) -> Dashboard:
    found = next((d for d in context.app.definition.dashboards if d.key == key), None)
    if found is None or not _may_see(context, found):
        raise ProblemError("dashboard_not_found", params={"dashboard": key})
    return found


def widget_of(board: Dashboard, key: str) -> Widget:
    try:
        return board.widget(key)
    except KeyError:
        raise ProblemError(
            "widget_not_found", params={"dashboard": board.key, "widget": key}
        ) from None


def time_zone(context: ReportContext, board: Dashboard) -> str:
    """The dashboard's own time zone if its spec names one (``Dashboard.timezone``, a checked
    IANA name), else the organisation's (``TANGRAM_TIME_ZONE``); the compiler refuses a zone it
    does not know."""
    return board.timezone or context.settings.time_zone


def check_filters(board: Dashboard, values: dict[str, Any]) -> None:
    """Runtime filter values must name declared filters (their values the compiler checks)."""
    declared = {f.key for f in board.filters}
    unknown = sorted(set(values) - declared)
    if unknown:
        raise ProblemError(
            "validation_failed",
            errors=[
                FieldError(
                    f"filters.{key}",
                    "unknown_filter",
                    pick(
                        {
                            "en": f"the dashboard has no filter {key!r}",
                            "zh-CN": f"仪表盘没有筛选条件 {key!r}",
                        }
                    ),
                )
                for key in unknown
            ],
        )


# --- compile -----------------------------------------------------------------------------------


def report_problem(error: ReportError, widget: str) -> ProblemError:
    """The engine's refusal as problem+json: 403 for a hidden field, else 422."""
    locale = current_locale.get()
    code = "widget_field_hidden" if error.code == "report.hidden_field" else "widget_invalid"
    if error.code in ("report.bad_cell", "report.unknown_cell_key"):
        code = "drill_cell_invalid"
    if error.code == "report.bad_runtime_filter":
        key = error.params.get("key", "")
        return ProblemError(
            "validation_failed",
            errors=[FieldError(f"filters.{key}", error.code, error.message(locale))],
            extra={"widget": widget},
        )
    return ProblemError(
        code,
        detail=error.message(locale),
        params={"widget": error.widget or widget},
        errors=[FieldError(error.path or "widget", error.code, error.message(locale))],
        extra={"widget": error.widget or widget, "pass": error.to_dict(locale)["pass"]},
    )


def prepare(
    context: ReportContext,
    board: Dashboard,
    widget: Widget,
    filters: dict[str, Any],
    *,
    action: str = "read",
) -> Prepared:
    """Compile ``widget`` for the caller and check their rights on every form it reads.

    While the process's cache is on, a widget compiled before for the same viewer (same user,
    membership, token narrowing and rule context), filters, zone and minute is reused — also
    when the run asks for fresh results (``use_cache`` off), since the compiled statement does
    not depend on the data: compiling costs about a millisecond, the lookup microseconds. The
    rights are checked again either way."""
    zone = time_zone(context, board)
    runtime_filters = board.runtime_filters(widget.key, filters)
    key = ""
    found = None
    if context.cache.enabled:
        key = "compiled:" + cache_key(
            context.app.stamp,
            board.key,
            widget.key,
            action,
            zone,
            [f.model_dump(mode="json") for f in runtime_filters],
            context.now.isoformat(),
            context.dialect.name,
            viewer_identity(context.principal),
        )
        found = context.cache.get(key)
    memo: dict[str, Any] = {}
    if found is not None:
        compiled, handles, memo = found
    else:
        scope = ViewerScope(context.app, context.principal, action)
        try:
            compiled = compile_widget(
                widget,
                context.catalog,
                scope.viewer(),
                runtime_filters=runtime_filters,
                timezone=zone,
                now=context.now,
                dialect_name=context.dialect.name,
            )
        except ReportError as exc:
            raise report_problem(exc, widget.key) from exc
        handles = scope.handles()
        if key:
            context.cache.put(key, (compiled, handles, memo))
    for handle in handles:
        check_token(handle, context.principal, action)
        require(handle, context.principal, "read")
        if action != "read":
            require(handle, context.principal, action)
    parts = (context.app.stamp, widget.model_dump(mode="json"), zone, action)
    return Prepared(widget, compiled, handles, parts, memo)


# --- execute -----------------------------------------------------------------------------------


async def execute(
    db: AsyncSession, context: ReportContext, prepared: Prepared, versions: dict[int, int]
) -> Outcome:
    """The widget's shaped result (and raw rows), from the cache when the key matches."""
    key = prepared.cache_key(context.dialect, versions) if context.use_cache else ""
    if context.use_cache:
        hit = context.cache.get(key)
        if hit is not None:
            rows, result = hit
            labelled = await _labelled(db, context, prepared, result)
            return Outcome(prepared.widget.key, labelled, rows, cached=True)
    await custom_plans(db)
    rows = list((await db.execute(prepared.compiled.statement)).all())
    result = jsonable(prepared.compiled.shape(rows))
    if context.use_cache:
        context.cache.put(key, (rows, result))
    return Outcome(prepared.widget.key, await _labelled(db, context, prepared, result), rows)


async def _labelled(
    db: AsyncSession, context: ReportContext, prepared: Prepared, result: dict[str, Any]
) -> dict[str, Any]:
    """The result with the names of its reference dimensions (``labels``: see
    :mod:`runtime.reports.labels`), read for this viewer — never cached, since a related
    record's title depends on who asks and names change without the data changing."""
    names = await dimension_labels(db, context.app, context.principal, prepared.widget, result)
    return {**result, "labels": names}


async def run_widget(
    db: AsyncSession,
    context: ReportContext,
    board: Dashboard,
    widget: Widget,
    filters: dict[str, Any],
    *,
    action: str = "read",
) -> Outcome:
    check_filters(board, filters)
    return await execute_prepared(
        db, context, prepare(context, board, widget, filters, action=action)
    )


async def execute_prepared(db: AsyncSession, context: ReportContext, prepared: Prepared) -> Outcome:
    """Execute one prepared widget; a database failure is a 503 naming the widget."""
    versions = await _versions(db, context, [prepared])
    try:
        return await execute(db, context, prepared, versions)
    except SQLAlchemyError as exc:
        log.exception("widget %s failed", prepared.widget.key)
        raise ProblemError("widget_failed", params={"widget": prepared.widget.key}) from exc


async def run_dashboard(
    db: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    context: ReportContext,
    board: Dashboard,
    filters: dict[str, Any],
) -> list[Outcome]:
    """Every widget's outcome, in the dashboard's order; failures are per widget."""
    check_filters(board, filters)
    outcomes: dict[str, Outcome] = {}
    ready: list[Prepared] = []
    for widget in board.widgets:
        try:
            ready.append(prepare(context, board, widget, filters))
        except ProblemError as exc:
            if exc.code == "validation_failed":  # a bad runtime filter: the whole request's
                raise
            outcomes[widget.key] = Outcome(widget.key, problem=_problem(exc))
        except Exception:  # one widget's failure is that widget's, never the dashboard's
            log.exception("widget %s of %s could not be compiled", widget.key, board.key)
            failed = ProblemError("widget_failed", params={"widget": widget.key})
            outcomes[widget.key] = Outcome(widget.key, problem=_problem(failed))
    versions = await _versions(db, context, ready)
    if context.dialect.name == "sqlite" or len(ready) < 2:
        for prepared in ready:
            outcomes[prepared.widget.key] = await _guarded(
                lambda p=prepared: execute(db, context, p, versions), prepared.widget.key
            )
    else:
        limit = asyncio.Semaphore(context.settings.report_concurrency)

        async def one(prepared: Prepared) -> Outcome:
            async with limit, sessions() as own:
                return await execute(own, context, prepared, versions)

        done = await asyncio.gather(
            *[_guarded(lambda p=p: one(p), p.widget.key) for p in ready]  # type: ignore[misc]
        )
        outcomes.update({o.widget: o for o in done})
    return [outcomes[w.key] for w in board.widgets]


async def _versions(
    db: AsyncSession, context: ReportContext, prepared: Sequence[Prepared]
) -> dict[int, int]:
    """The data versions of the forms ``prepared`` read (read before the data: see
    :mod:`runtime.records.versions`); none are needed without the cache."""
    if not context.use_cache:
        return {}
    return await data_versions(db, {h.form_id for p in prepared for h in p.handles})


async def _guarded(run: Callable[[], Any], widget: str) -> Outcome:
    try:
        return await run()  # type: ignore[no-any-return]
    except ProblemError as exc:
        return Outcome(widget, problem=_problem(exc))
    except Exception:  # one widget's failure is that widget's, never the dashboard's
        log.exception("widget %s failed", widget)
        return Outcome(
            widget, problem=_problem(ProblemError("widget_failed", params={"widget": widget}))
        )


def _problem(exc: ProblemError) -> dict[str, Any]:
    return problem_body(
        exc.code, detail=exc.detail, errors=exc.errors, params=exc.params, extra=exc.extra
    )


def outcomes_json(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    return [
        {"widget": o.widget, "ok": o.problem is None, "cached": o.cached, "result": o.result}
        | ({"problem": o.problem} if o.problem is not None else {})
        for o in outcomes
    ]
