"""Wires the web UI into the application: page routers, ``/static``, headers, HTML errors."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from builder.web import channels as builder_channels
from builder.web import dashboards as builder_dashboards
from builder.web import flows as builder_flows
from builder.web import forms as builder_forms
from builder.web import pages as builder_pages
from builder.web import public_forms as builder_public_forms
from builder.web import publish as builder_publish
from builder.web import roles as builder_roles
from builder.web import rules as builder_rules
from builder.web import settings as builder_settings
from builder.web import webhooks as builder_webhooks
from runtime.publicforms import pages as public_form_pages
from runtime.web import errors
from runtime.web.assets import BUILDER_STATIC_DIR, STATIC_DIR
from runtime.web.pages import (
    api_docs,
    auth,
    dashboards,
    forms,
    home,
    inbox,
    list_actions,
    merge,
    notifications,
    record,
)
from runtime.web.pages import list as list_page
from runtime.web.security import SecurityHeadersMiddleware

#: Page routers, in matching order (one per line: several areas add theirs).
ROUTERS = (
    api_docs.router,
    auth.router,
    home.router,
    forms.router,
    record.router,
    merge.router,
    list_actions.router,
    list_page.router,
    inbox.router,
    dashboards.router,
    notifications.router,
    builder_pages.router,
    builder_roles.router,
    builder_publish.router,
    builder_settings.router,
    builder_flows.router,
    builder_rules.router,
    builder_dashboards.router,
    builder_forms.router,
    builder_channels.router,
    builder_webhooks.router,
    builder_public_forms.router,
    public_form_pages.router,
)


def install_web(app: FastAPI) -> None:
    """Add the pages to ``app`` (after the API routers and error handlers)."""
    for router in ROUTERS:
        app.include_router(router)
    app.mount(
        "/static/builder",
        StaticFiles(directory=BUILDER_STATIC_DIR, check_dir=False),
        name="builder-static",
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    errors.install(app)
    app.add_middleware(SecurityHeadersMiddleware)
