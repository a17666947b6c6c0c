"""The sign-in page's demo accounts in Chromium: with the Customer Center's demo data installed
the page lists one account per role (role in the page's language, username, password); its
button fills the form and signing in with it works (keyboard only); once the demo app is
deleted the panel is gone — in English and Chinese."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from builder.apps.models import App
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.db import utcnow
from templates import service
from templates.source import read_source
from tests.browser.test_accessibility import PHONE, violations
from tests.templates import demo_template

ROLES = {
    "en-US": ("Demo accounts", "Agent", "Welcome, 李娜"),
    "zh-CN": ("演示账号", "客服", "欢迎，李娜"),
}


def _install(live, tmp_path: Path) -> None:
    path = demo_template.make(tmp_path / "cc", seed={})
    live.create_user("root", admin=True)

    async def install(sessions):  # type: ignore[no-untyped-def]
        async with sessions() as db:
            root = (await db.execute(select(User).where(User.username == "root"))).scalar_one()
            template = service.check_files(read_source(path))
            await service.install(db, Principal(root, via="system"), template, events=[])
            await db.commit()

    live.run(install, timeout=120)


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_demo_accounts_fill_the_form_and_sign_in(page, live, tmp_path, locale):
    _install(live, tmp_path)
    title, agent, welcome = ROLES[locale]
    page.goto(f"{live.url}/sign-in")
    panel = page.get_by_role("region", name=title)
    assert panel.is_visible()
    rows = panel.locator("tbody tr")
    assert rows.count() == 4
    first = rows.first.inner_text()
    assert agent in first and "li.na" in first and demo_template.PASSWORD in first
    # Keyboard only: focus the agent's button, press it, then Enter on "Sign in".
    button = panel.get_by_role("button").first
    button.focus()
    page.keyboard.press("Enter")
    form = page.locator("form[action='/sign-in']")
    assert form.locator("input[name=username]").input_value() == "li.na"
    assert form.locator("input[name=password]").input_value() == demo_template.PASSWORD
    assert page.evaluate("document.activeElement.type") == "submit"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).path == "/"
    assert page.get_by_role("heading", level=1).inner_text() == welcome
    assert page.errors == []


@pytest.mark.both_databases
def test_the_panel_goes_with_the_demo_app(page, live, tmp_path):
    page.goto(f"{live.url}/sign-in")
    assert page.locator(".demo-accounts").count() == 0  # no demo data: no panel
    _install(live, tmp_path)
    page.reload()
    assert page.get_by_role("button", name="Use Supervisor chen.jie").is_visible()
    assert violations(page) == []  # axe-core, WCAG 2.1 A/AA
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    async def delete(sessions):  # type: ignore[no-untyped-def]
        async with sessions() as db:
            await db.execute(update(App).values(deleted_at=utcnow()))
            await db.commit()

    live.run(delete)
    page.reload()
    assert page.locator(".demo-accounts").count() == 0
    assert page.errors == []
