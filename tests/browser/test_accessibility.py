"""Accessibility of the pages in Chromium: axe-core (WCAG 2 A/AA rules: labels, contrast,
names, landmarks …) finds no violation, the keyboard reaches the controls with a visible
focus, and pages fit a 375-px-wide phone screen without sideways scrolling."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from tests.browser.apps import Api
from tests.browser.conftest import _serve, screenshot_path
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, make_account
from tests.runtime.flows.conftest import chain, flow, publish_flows
from tests.runtime.records.conftest import TICKET, publish_app
from tests.runtime.reports.conftest import publish_desk
from tests.runtime.web.test_form_pages import build

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


# --- every end-user page kind -------------------------------------------------------------
#
# One server for the module, arranged once: the shop app of the form-page tests (a field of
# every type, a sub-table, relations, uploads, linkage), the helpdesk app of the report tests
# (a dashboard with ECharts widgets) and an approval on a request (the inbox). Nothing
# below changes that data: a page is looked at, at 1280 px and at 375 px, in both languages.

APPROVAL = flow(
    "approval",
    [
        {"id": "start", "type": "start"},
        {
            "id": "first",
            "type": "user_task",
            "name": {"en": "Manager approval", "zh-CN": "经理审批"},
            "assignee": {"kind": "user", "key": "admin"},
            "fields": {"resolution": "required", "agent": "editable", "approved": "editable"},
        },
        {"id": "end", "type": "end"},
    ],
    chain("start", "first", "end"),
)


@dataclass
class Site:
    live: Any
    order: int  # a shop order with a comment (mentioning admin) and an attachment
    request: int  # the request the approval runs on
    task: int  # admin's task on it
    instance: int


async def _arrange(live: Any) -> Site:
    transport = httpx.ASGITransport(app=live.app, client=("127.0.0.1", 50002))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        sessions = live.app.state.sessions  # the server's loop: this runs on it
        admin = await make_account(client, sessions, "admin", ADMIN_PASSWORD, admin=True)
        ann = await make_account(client, sessions, "ann", USER_PASSWORD)
        shop = await publish_app(client, admin, "shop", ["customer", "order"], build)
        customer = await client.post(
            shop.url("customer"), json={"values": {"name": "Acme Ltd"}}, headers=admin.headers
        )
        assert customer.status_code == 201, customer.text
        upload = await client.post(
            "/api/v1/files", files={"file": ("note.txt", b"hello")}, headers=admin.headers
        )
        attached = await client.post(
            "/api/v1/files", files={"file": ("photo.txt", b"hi")}, headers=ann.headers
        )
        order = await client.post(
            shop.url("order"),
            json={
                "values": {
                    "title": "Bolts",
                    "qty": 5,
                    "status": "open",
                    "customer": customer.json()["id"],
                    "items": [{"product": "Bolt", "amount": 2}],
                    "files": [upload.json()["id"]],
                }
            },
            headers=admin.headers,
        )
        assert order.status_code == 201, order.text
        order_id = order.json()["id"]
        changed = await client.patch(
            f"{shop.url('order')}/{order_id}",
            json={"values": {"qty": 6}, "row_version": order.json()["row_version"]},
            headers=admin.headers,
        )
        assert changed.status_code == 200, changed.text
        note = await client.post(
            f"{shop.url('order')}/{order_id}/comments",
            json={"body": "Please check @admin", "attachments": [attached.json()["id"]]},
            headers=ann.headers,
        )
        assert note.status_code == 201, note.text
        desk = await publish_desk(client, admin)
        for status in ("open", "open", "resolved", "closed"):
            made = await client.post(
                desk.url("ticket"),
                json={"values": {"subject": f"{status} ticket", "status": status}},
                headers=admin.headers,
            )
            assert made.status_code == 201, made.text
        flows = await publish_flows(client, admin, [APPROVAL], key="approvals")
        record = await flows.record(ann, title="New laptop")
        started = await flows.start(ann, "approval", record["id"])
        assert started.status_code == 201, started.text
        tasks = await flows.tasks(admin)
        return Site(live, order_id, record["id"], tasks[0]["id"], int(started.json()["id"]))


@pytest.fixture(scope="module")
def site(migrated_sqlite: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    server = _serve(migrated_sqlite, tmp_path_factory.mktemp("a11y"))
    live = next(server)
    try:
        yield live.run(lambda sessions: _arrange(live), timeout=120)
    finally:
        server.close()


def sign_in(page: Any, site: Site, next_url: str) -> None:
    page.goto(f"{site.live.url}/sign-in?{urlencode({'next': next_url})}")
    page.fill("#f-username", "admin")
    page.fill("#f-password", ADMIN_PASSWORD)
    with page.expect_navigation():
        page.click("form[action='/sign-in'] button[type=submit]")
    assert urlsplit(page.url).path == urlsplit(next_url).path, page.url


def too_wide(page: Any) -> list[str]:
    """The elements reaching past the phone's right edge (for the failure message)."""
    return page.evaluate(
        """w => {
            const clipped = e => {  // inside a box that scrolls or clips sideways
                if (getComputedStyle(e).position === "absolute") return false;  // may escape it
                for (let p = e.parentElement; p && p !== document.body; p = p.parentElement)
                    if (getComputedStyle(p).overflowX !== "visible") return true;
                return false;
            };
            return [...document.querySelectorAll("body *")]
                .filter(e => e.getBoundingClientRect().right > w + 1 && !clipped(e))
                .slice(0, 10).map(e => e.tagName + "." + e.className + "#" + e.id);
        }""",
        PHONE["width"],
    )


FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const style = getComputedStyle(e);
    const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2)
        || style.boxShadow !== "none";
    const how = [style.outlineStyle, style.outlineWidth, style.boxShadow].join(" ");
    return {ring, html: e.outerHTML.slice(0, 160), style: how};
}"""


def from_the_top(page: Any) -> None:
    """Make the page's first control Tab's next stop (a focused, then removed, marker)."""
    page.evaluate(
        "() => { const s = document.createElement('span'); s.tabIndex = -1;"
        " document.body.prepend(s); s.focus();"
        " s.addEventListener('blur', () => s.remove()); }"
    )


def tab_through(page: Any, limit: int = 120) -> list[str]:
    """Press Tab from the top of the page until the focus leaves it (or ``limit`` presses):
    every control reached shows a focus ring; their opening tags, in order."""
    from_the_top(page)
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None or (seen and focused["html"] == seen[0]):
            break
        assert focused["ring"], f"no visible focus on {focused['html']} {focused['style']}"
        seen.append(focused["html"])
    return seen


def check(page: Any, name: str, prepare: Callable[[], None] | None = None) -> None:
    """No axe violation at desktop width and at 375 px, every control reached by Tab shows its
    focus, no sideways scrolling on the phone (``prepare`` puts the page in the state to look
    at, again after the resize), a 375-px screenshot ``a11y_<name>_<locale>_375px.png``."""
    if prepare:
        prepare()
    assert violations(page) == [], f"{name} at 1280 px"
    assert tab_through(page), f"{name}: Tab reaches nothing"
    if prepare:
        prepare()
    page.set_viewport_size(PHONE)
    if prepare:
        prepare()
    assert violations(page) == [], f"{name} at 375 px"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], (name, width, too_wide(page))
    locale = page.evaluate("document.documentElement.lang")
    page.screenshot(path=str(screenshot_path(f"a11y_{name}_{locale}_375px")), full_page=True)


def charts_drawn(page: Any) -> None:
    page.wait_for_function(
        "() => [...document.querySelectorAll('.widget__chart')]"
        ".every(e => !e.hidden && echarts.getInstanceByDom(e))"
    )


LOCALES = pytest.mark.parametrize("locale", ["en-US", "zh-CN"])


@LOCALES
def test_the_form_page_with_every_field_type(page, site, tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("hello")
    sign_in(page, site, "/apps/shop/forms/order/new")

    def filled() -> None:
        if not page.locator('[name="items[0].product"]').count():
            page.click("[data-add-row]")  # a sub-table row
            page.locator('[name="status"][value="closed"]').check()  # linkage shows "reason"
            page.locator('[data-field="reason"]').wait_for()
            page.set_input_files("#f-files", str(note))  # an upload, listed with its file
            page.locator('[data-file-list] input[name="files"]').wait_for()
        page.locator("#f-customer").fill("acme")  # the relation picker, its choices open
        page.locator('[role="option"]', has_text="Acme Ltd").first.wait_for()

    check(page, "form_new", filled)
    page.keyboard.press("Escape")
    assert page.errors == []


@LOCALES
def test_the_form_page_with_inline_errors(page, site):
    sign_in(page, site, "/apps/shop/forms/order/new")
    page.fill("#f-qty", "60")
    page.locator("button.button--primary").click()
    page.locator('[id="title-errors"]').wait_for()
    assert page.locator("#f-title").get_attribute("aria-invalid") == "true"
    check(page, "form_errors")
    assert [e for e in page.errors if "status of 422" not in e] == []


@LOCALES
def test_the_list_page_with_filters_and_a_selection(page, site):
    sign_in(page, site, "/apps/shop/forms/order")

    def busy() -> None:
        closed = page.locator(".list-tools details:not([open]) > summary")
        while closed.count():
            closed.first.click()
        box = page.locator("table.records tbody input[type=checkbox]").first
        box.check()
        page.select_option("#f-ff", "customer")
        page.locator("#filter-inputs input[role=combobox]").wait_for()

    check(page, "list", busy)
    assert page.errors == []


@LOCALES
def test_the_import_report_and_page(page, site, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("Title,Quantity\nok,2\nbad,x\n", encoding="utf-8")
    sign_in(page, site, "/apps/shop/forms/order")
    page.set_input_files("#import-file", str(path))
    page.locator(".list-import").get_by_role("button", name=re.compile("Import|导入")).click()
    page.locator("#import-panel table.import-errors").wait_for()
    check(page, "list_import_report")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.set_input_files("#import-file", str(path))
    with page.expect_navigation():  # without htmx: the import's own page
        page.evaluate("document.querySelector('.list-import form').submit()")
    page.locator("table.import-errors").wait_for()
    check(page, "import_page")
    assert [e for e in page.errors if "status of 422" not in e] == []


@LOCALES
def test_the_record_page(page, site):
    sign_in(page, site, f"/apps/shop/forms/order/records/{site.order}")
    shown = page.locator("main").inner_text()
    assert "Please check" in shown and "note.txt" in shown and "photo.txt" in shown
    check(page, "record")
    assert page.errors == []


@LOCALES
def test_the_record_page_with_its_flow(page, site):
    sign_in(page, site, f"/apps/approvals/forms/request/records/{site.request}")
    check(page, "record_flow")
    assert page.errors == []


@LOCALES
def test_the_inbox_and_a_task(page, site):
    sign_in(page, site, "/inbox")
    check(page, "inbox")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{site.live.url}/inbox/tasks/{site.task}")
    assert page.locator("button[name=_action]").count() >= 2  # approve and reject

    def opened() -> None:
        closed = page.locator("main details:not([open]) > summary")
        while closed.count():
            closed.first.click()

    check(page, "task", opened)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{site.live.url}/inbox/instances/{site.instance}")
    check(page, "instance")
    assert page.errors == []


@LOCALES
def test_notifications(page, site):
    sign_in(page, site, "/notifications")
    assert page.locator("main li, main tr").count()
    check(page, "notifications")
    assert page.errors == []


@LOCALES
def test_a_dashboard_and_its_drill_down(page, site):
    sign_in(page, site, "/apps/desk/dashboards/ops")
    check(page, "dashboard", lambda: charts_drawn(page))
    href = page.locator('[data-widget="total"] a.kpi').first.get_attribute("href")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{site.live.url}{href}")
    page.locator("[data-drill-total]").wait_for()
    check(page, "dashboard_drill")
    assert page.errors == []


# --- the keyboard alone ----------------------------------------------------------------------


def tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus, each stop with a visible focus."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        assert focused and focused["ring"], focused
    raise AssertionError(f"Tab never reached {selector}")


def choose(page: Any, selector: str, value: str) -> None:
    """Pick ``value`` in the focused <select> with the arrow keys."""
    page.keyboard.press("Home")
    for _ in range(40):
        if page.locator(selector).input_value() == value:
            return
        page.keyboard.press("ArrowDown")
    raise AssertionError(f"{value!r} is not among the choices of {selector}")


def test_the_list_filter_and_its_relation_picker_by_keyboard(page, site):
    sign_in(page, site, "/apps/shop/forms/order")
    tab_to(page, "#f-ff")
    choose(page, "#f-ff", "customer")  # htmx swaps in the condition and the picker
    page.locator("#filter-inputs input[role=combobox]").wait_for()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-fo"
    page.keyboard.press("Tab")
    picker = page.get_by_role("combobox", name="Value")
    assert page.evaluate("document.activeElement.getAttribute('role')") == "combobox"
    page.keyboard.type("acme")
    page.get_by_role("option", name="Acme Ltd").wait_for()
    assert picker.get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert picker.input_value() == "Acme Ltd" and picker.get_attribute("aria-expanded") == "false"
    tab_to(page, ".filter-bar button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Acme Ltd" in page.locator(".chips").inner_text()
    assert page.locator("table.records tbody tr").count() == 1
    assert page.errors == []


def test_the_relation_picker_of_the_form_by_keyboard(page, site):
    sign_in(page, site, "/apps/shop/forms/order/new")
    tab_to(page, "#f-customer")
    picker = page.locator("#f-customer")
    page.keyboard.type("acm")
    page.get_by_role("option", name="Acme Ltd").wait_for()
    page.keyboard.press("Escape")  # closes the choices, stays in the field
    assert picker.get_attribute("aria-expanded") == "false"
    page.keyboard.press("ArrowDown")  # opens them again
    page.get_by_role("option", name="Acme Ltd").wait_for()
    page.keyboard.press("Enter")
    assert picker.input_value() == "Acme Ltd"
    assert page.locator("#f-customer-select").input_value() != ""
    page.keyboard.press("Tab")  # on to the next field
    assert page.evaluate("document.activeElement.id") != "f-customer"
    assert page.errors == []


def test_menus_open_and_close_with_the_keyboard(page, site):
    sign_in(page, site, "/apps/shop")
    menu = page.locator("details.user-menu")
    tab_to(page, "details.user-menu > summary")
    page.keyboard.press("Enter")
    assert menu.get_attribute("open") is not None
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "/account/password"
    page.keyboard.press("Escape")
    assert menu.get_attribute("open") is None
    assert page.evaluate("document.activeElement.tagName") == "SUMMARY"
    page.keyboard.press("Space")
    assert menu.get_attribute("open") is not None
    page.keyboard.press("Space")
    assert menu.get_attribute("open") is None
    # the phone's navigation menu
    page.set_viewport_size(PHONE)
    toggle = page.locator("[data-nav-toggle]")
    from_the_top(page)
    tab_to(page, "[data-nav-toggle]")
    page.keyboard.press("Enter")
    assert page.locator("#sidebar").is_visible() and toggle.get_attribute("aria-expanded") == "true"
    assert page.evaluate("document.activeElement.closest('#sidebar') !== null")
    page.keyboard.press("Escape")
    assert not page.locator("#sidebar").is_visible()
    assert page.evaluate("document.activeElement.hasAttribute('data-nav-toggle')")
    assert page.errors == []
