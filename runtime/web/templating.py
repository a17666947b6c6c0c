"""The Jinja2 environment of the pages and ``render()``, which every page route uses."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape

from runtime.i18n import LOCALES, current_locale, pick
from runtime.web import formatting
from runtime.web.assets import static_url
from runtime.web.i18n import active

LOCALE_NAMES = {"en": "English", "zh-CN": "简体中文"}
#: Packages whose ``templates/`` folders the pages render from: the end-user pages and the
#: app builder's designer pages (``builder/web``, templates under ``builder/``).
TEMPLATE_PACKAGES = ("runtime.web", "builder.web")


def label_text(value: Any) -> str:
    """A stored label: a per-locale dict (``{"en": …, "zh-CN": …}``) or a plain string."""
    if isinstance(value, dict):
        if not value:
            return ""
        return pick(value) if "en" in value else str(next(iter(value.values())))
    return "" if value is None else str(value)


_label = label_text  # the former name, for code written against it (use label_text)


def _environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([PackageLoader(package, "templates") for package in TEMPLATE_PACKAGES]),
        autoescape=select_autoescape(["html"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda message: active().gettext(message),
        ngettext=lambda singular, plural, n: active().ngettext(singular, plural, n),
        newstyle=True,
    )
    env.globals.update(static_url=static_url, locales=LOCALES, locale_names=LOCALE_NAMES)
    env.filters.update(
        label=label_text,
        number=formatting.format_number,
        date=formatting.format_date,
        relative=formatting.format_relative,
    )
    return env


ENV = _environment()


def context_for(request: Request, **values: Any) -> dict[str, Any]:
    """What every template may use: the request, the signed-in user, locale, CSRF token."""
    state = request.state
    viewer = getattr(state, "viewer", None)
    settings = request.app.state.settings
    tz = (viewer.time_zone if viewer else None) or settings.time_zone
    return {
        "request": request,
        "user": viewer,
        "locale": current_locale.get(),
        "html_lang": "zh-CN" if current_locale.get() == "zh-CN" else "en",
        "csrf_token": getattr(state, "login_csrf", None) or (viewer.csrf_token if viewer else ""),
        "time_zone": tz,
        "datetime": lambda value, style="medium": formatting.format_datetime(value, tz, style),
        "money": lambda value, code=None: formatting.format_currency(
            value, code or settings.currency
        ),
        "path": request.url.path,
        **values,
    }


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """The template rendered for this request (``values`` become template variables)."""
    html = ENV.get_template(template).render(
        context_for(request, status_code=status_code, **values)
    )
    return HTMLResponse(html, status_code=status_code, headers=headers)
