"""Accessibility of the pages in Chromium: axe-core (WCAG 2 A/AA rules: labels, contrast,
names, landmarks …) finds no violation, the keyboard reaches the controls with a visible
focus, and pages fit a 375-px-wide phone screen without sideways scrolling."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.apps import Api
from tests.runtime.records.conftest import TICKET

AXE = Path(__file__).parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 375, "height": 740}


def violations(page) -> list[str]:
    """axe-core's violations on the current page, as readable lines."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed (npm ci)")
    page.evaluate(AXE.read_text(encoding="utf-8"))  # through the DevTools protocol, not a tag
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => v.id + ': ' + v.help + ' — '"
        " + v.nodes.map(n => n.target.join(' ')).join(', ')))",
        WCAG,
    )
    return list(found)


@pytest.fixture
def published(live):
    admin = live.create_admin()
    api = Api(live.url, admin.username, admin.password)
    api.publish_app("helpdesk", {"en": "Helpdesk", "zh-CN": "服务台"}, [TICKET])
    api.close()
    return live.create_user("alice", display_name="Alice")


PAGES = ["/", "/apps/helpdesk", "/account/password"]


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_sign_in_page_has_no_violations(page, live, locale):
    page.goto(f"{live.url}/sign-in")
    assert violations(page) == []
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.errors == []


@pytest.mark.parametrize("path", PAGES)
def test_signed_in_pages_have_no_violations(page, live, published, sign_in_as, path):
    sign_in_as(page, "alice", published.password, next_url=path)
    assert violations(page) == []
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert violations(page) == []
    assert page.errors == []


def test_the_keyboard_reaches_the_controls_with_a_visible_focus(page, live, published, sign_in_as):
    sign_in_as(page, "alice", published.password, next_url="/apps/helpdesk")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").is_visible()  # shown while focused
    seen = []
    while "New" not in seen and len(seen) < 20:  # every control up to the last one
        page.keyboard.press("Tab")
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", page.evaluate("document.activeElement.outerHTML")
        seen.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert "Helpdesk" in seen and "Ticket" in seen and seen[-2:] == ["Records", "New"]


def test_the_phone_menu_opens_the_app_navigation(page, live, published, sign_in_as):
    page.set_viewport_size(PHONE)
    sign_in_as(page, "alice", published.password, next_url="/apps/helpdesk")
    sidebar = page.locator("#sidebar")
    assert not sidebar.is_visible()
    toggle = page.get_by_role("button", name="Menu")
    toggle.click()
    assert sidebar.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    page.keyboard.press("Escape")
    assert not sidebar.is_visible()
    assert page.errors == []


def test_api_docs_run_from_vendored_files_under_the_csp(page, live):
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{live.url}/api/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Tangram" in page.locator(".swagger-ui .info .title").inner_text()
    assert all(url.startswith(live.url) for url in requests), requests
    assert page.errors == []
