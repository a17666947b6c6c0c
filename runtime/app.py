"""The ASGI application: ``create_app()`` wires settings, database, routes and middleware."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI

from builder.apps.flow_routes import router as app_flows_router
from builder.apps.lifecycle_routes import router as app_lifecycle_router
from builder.apps.preview_routes import router as app_previews_router
from builder.apps.routes import router as apps_router
from builder.apps.version_routes import router as app_versions_router
from runtime import db as database
from runtime import draining
from runtime.audit.routes import router as audit_router
from runtime.auth.routes import router as auth_router
from runtime.channels.setup import ROUTERS as CHANNEL_ROUTERS
from runtime.config import Settings, get_settings
from runtime.errors import install_error_handlers
from runtime.files.routes import router as files_router
from runtime.files.storage import LocalStorage, use_storage
from runtime.flows.routes import flows_router
from runtime.jobs import builtin  # noqa: F401  (registers the platform's job handlers)
from runtime.jobs.routes import router as jobs_router
from runtime.jobs.worker import Worker
from runtime.kb.public_routes import router as kb_public_router
from runtime.kb.search_routes import router as kb_search_router
from runtime.middleware import RateLimitMiddleware, RequestContextMiddleware
from runtime.net.routes import router as webhook_deliveries_router
from runtime.observability.logs import configure_logging
from runtime.observability.routes import router as ops_router
from runtime.org.io_routes import router as org_io_router
from runtime.org.role_routes import groups_router, roles_router
from runtime.org.routes import router as departments_router
from runtime.org.routes import users_router as user_org_router
from runtime.publicforms.routes import public_router as public_forms_public_router
from runtime.publicforms.routes import router as public_forms_router
from runtime.ratelimit.limiter import RateLimiter
from runtime.records.io_routes import router as records_io_router
from runtime.records.merge_routes import router as merge_router
from runtime.records.routes import router as records_router
from runtime.reports.routes import router as reports_router
from runtime.rules.routes import notifications_router, sla_router
from runtime.rules.routes import router as rules_router
from runtime.users.routes import router as users_router
from runtime.views.routes import router as views_router
from runtime.web.setup import install_web
from templates.routes import router as templates_router

log = logging.getLogger("tangram.app")

try:
    VERSION = version("tangram")
except PackageNotFoundError:  # running from a source tree
    VERSION = "0.0.0"


def load_plugins(settings: Settings) -> None:
    """Import the modules named in ``TANGRAM_PLUGINS`` (they register handlers, types …)."""
    for name in settings.plugins:
        importlib.import_module(name)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    engine = database.create_engine(
        settings.database_url, pool_size=settings.db_pool_size, echo=settings.db_echo
    )
    app.state.engine = engine
    app.state.sessions = database.session_factory(engine, write=True)
    app.state.read_sessions = database.session_factory(engine, write=False)
    app.state.storage = LocalStorage(settings.storage_dir)
    use_storage(app.state.storage)
    worker_task: asyncio.Task[None] | None = None
    worker: Worker | None = None
    if settings.run_worker:
        worker = Worker(app.state.sessions, settings, kind="inprocess")
        worker_task = asyncio.create_task(worker.run(), name="tangram-inprocess-worker")
    app.state.worker = worker
    undrain = draining.install(app)
    try:
        yield
    finally:
        undrain()
        if worker is not None and worker_task is not None:
            worker.stop()
            with contextlib.suppress(Exception):
                await worker_task
        await engine.dispose()
        if app.state.rate_limiter is not None:
            await app.state.rate_limiter.aclose()


def create_app(
    settings: Settings | None = None, *, rate_limiter: RateLimiter | None = None
) -> FastAPI:
    """The application; ``rate_limiter`` replaces the one built from the settings (tests give
    one with a clock they drive). No limiter runs when ``TANGRAM_RATE_LIMIT_ENABLED`` is off."""
    settings = settings or get_settings()
    configure_logging(json_lines=settings.log_json, level=settings.log_level)
    load_plugins(settings)
    app = FastAPI(
        title="Tangram",
        version=VERSION,
        summary="No-code application builder: forms, flows, dashboards, rules, templates.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # served by runtime.web.pages.api_docs from vendored Swagger UI
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.version = VERSION
    app.state.instance = f"{socket.gethostname()}:{os.getpid()}"
    install_error_handlers(app)
    routers = (
        # Records first: they take most requests, and routes are matched in this order.
        records_io_router,  # before records_router: …/export is not a record id
        views_router,  # before records_router: …/views is not a record id
        merge_router,  # before records_router: …/duplicates is not a record id
        records_router,
        auth_router,
        users_router,
        user_org_router,
        departments_router,
        roles_router,
        groups_router,
        org_io_router,
        audit_router,
        jobs_router,
        webhook_deliveries_router,
        files_router,
        apps_router,
        app_lifecycle_router,
        app_versions_router,
        app_previews_router,
        app_flows_router,
        flows_router,
        reports_router,
        rules_router,
        notifications_router,
        sla_router,
        ops_router,
        templates_router,
        *CHANNEL_ROUTERS,
        kb_search_router,
        kb_public_router,
        public_forms_router,
        public_forms_public_router,
    )
    for router in routers:
        app.include_router(router)
    app.state.rate_limiter = None
    if settings.rate_limit_enabled:
        app.state.rate_limiter = rate_limiter or RateLimiter.from_settings(settings)
        # Added first, so it runs inside RequestContextMiddleware (client address, locale).
        app.add_middleware(
            RateLimitMiddleware,
            limiter=app.state.rate_limiter,
            session_cookie=settings.session_cookie,
        )
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        instance=app.state.instance,
        trusted_proxies=settings.trusted_proxies,
        upload_prefixes=("/api/v1/files",),
        max_upload_bytes=settings.max_upload_bytes,
    )
    install_web(app)  # last: its headers middleware wraps every response
    return app
