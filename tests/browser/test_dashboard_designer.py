"""The dashboard designer in the browser: a new dashboard, a bar chart of tickets counted by
status previewed live, saved, published, and on the end-user dashboard a click on a bar lands
on the records behind it; widgets resized on the designer's grid and the dashboard shown only
to a role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.apps import Api
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_accessibility import AXE, WCAG, violations
from tests.browser.test_dashboard import ADMIN_PASSWORD, BOARD, arrange, sign_in

DESIGNER = "/build/apps/desk/dashboards"
PREVIEW = '[data-widget="widget_1"] [data-preview-chart]'
CHART = '[data-widget="widget_1"] .widget__chart'
HAS_CHART = "s => { const e = document.querySelector(s); return e && echarts.getInstanceByDom(e); }"


def categories(page: Any, selector: str) -> list[str]:
    return page.evaluate(
        "s => echarts.getInstanceByDom(document.querySelector(s)).getOption().xAxis[0].data",
        selector,
    )


def bar_middle(page: Any, selector: str, label: str) -> dict[str, float]:
    return page.evaluate(
        """([selector, label]) => {
            const element = document.querySelector(selector);
            const chart = echarts.getInstanceByDom(element);
            const option = chart.getOption();
            const index = option.xAxis[0].data.indexOf(label);
            const value = option.series[0].data[index].value;
            const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, [index, value / 2]);
            const box = element.getBoundingClientRect();
            return { x: box.left + x, y: box.top + y };
        }""",
        [selector, label],
    )


def save_draft(page: Any) -> None:
    """Save the draft with the draft bar and wait until it is saved."""
    page.click("[data-draft-save]")
    page.wait_for_function(
        "() => document.querySelector('[data-draft-status]').textContent === 'All changes saved'"
    )


def save_and_publish(page: Any) -> None:
    """Save the draft with the draft bar, then publish it through the API as the page's
    designer."""
    save_draft(page)
    published = page.evaluate(
        """async () => {
            const config = window.tangram.readJson("builder-config");
            const draft = await window.tangram.api("GET", config.draft_url);
            const url = "/api/v1/apps/" + config.app_id + "/publish";
            const body = { row_version: draft.data.row_version };
            const done = await window.tangram.api("POST", url, body);
            return { ok: done.ok, status: done.status, data: done.data };
        }"""
    )
    assert published["ok"], published


def tickets_by_status(page: Any, live: Any, key: str, title: str) -> None:
    """A new dashboard ``key`` in the designer with a bar chart of tickets by status, its
    preview drawn."""
    arrange(live)
    sign_in(page, live, DESIGNER)
    page.wait_for_selector("[data-add-dashboard]")
    page.fill("[data-new-dashboard-key]", key)
    page.fill("[data-new-dashboard-title]", title)
    page.click("[data-add-dashboard]")
    page.wait_for_url(f"**{DESIGNER}/{key}")
    page.click("[data-add-widget]")
    page.select_option('[data-widget="widget_1"] [data-widget-form]', "ticket")
    page.select_option('[data-widget="widget_1"] [data-dimension-field="0"]', "status")
    page.wait_for_function(HAS_CHART, arg=PREVIEW)


@pytest.mark.both_databases
def test_design_a_bar_chart_publish_and_drill_down(page, live):
    tickets_by_status(page, live, "sales", "Sales")
    assert sorted(categories(page, PREVIEW)) == ["closed", "open", "resolved"]
    drawn = "s => echarts.getInstanceByDom(document.querySelector(s)).getWidth() > 100"
    page.wait_for_function(drawn, arg=PREVIEW)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard_designer_preview.png"), full_page=True)

    save_and_publish(page)

    page.goto(f"{live.url}/apps/desk/dashboards/sales")
    page.wait_for_function(HAS_CHART, arg=CHART)
    spot = bar_middle(page, CHART, "open")
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_url("**/widgets/widget_1/records?*")
    assert page.locator("[data-drill-total]").get_attribute("data-drill-total") == "3"
    assert page.locator("tbody tr").count() == 3
    assert page.errors == []


TILE = '[data-layout-tile="by_status"]'


def sign_out(page: Any) -> None:
    page.context.clear_cookies()


def test_resize_a_widget_and_choose_who_can_see_the_dashboard(page, live, sign_in_as):
    """The designer's grid: a widget's corner handle dragged three columns wider, another
    sized with the keyboard's controls, the dashboard shown only to the role ``manager``;
    published, a user without the role finds no dashboard, one with it sees the widths."""
    arrange(live)
    mia = live.create_user("mia")
    ann = live.create_user("ann")
    api = Api(live.url, "admin", ADMIN_PASSWORD)
    roles = api.call("GET", "/api/v1/roles?scope=app")["items"]
    manager = next(r["id"] for r in roles if r["key"] == "manager")
    api.call("PUT", f"/api/v1/roles/{manager}/members/{mia.id}")
    api.close()
    own = Api(live.url, mia.username, mia.password)  # mia reads her own tickets
    for status in ("open", "open", "closed"):
        own.call("POST", "/api/v1/records/desk/ticket", {"values": {"status": status}})
    own.close()

    sign_in(page, live, f"{DESIGNER}/ops")
    page.wait_for_selector(f"{TILE} [data-resize-handle]")
    assert page.get_attribute(TILE, "data-width") == "6"
    step = page.evaluate(
        """() => {
            const grid = document.querySelector("[data-layout-grid]");
            const gap = parseFloat(getComputedStyle(grid).columnGap) || 0;
            return (grid.getBoundingClientRect().width + gap) / 12;
        }"""
    )
    handle = page.locator(f"{TILE} [data-resize-handle]")
    # The previews load after the grid: let them settle so the handle stays where it is.
    page.wait_for_load_state("networkidle")
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + step * 1.5, y, steps=5)
    page.mouse.move(x + step * 3.2, y, steps=5)
    page.mouse.up()
    page.wait_for_function(
        "s => document.querySelector(s).getAttribute('data-width') === '9'", arg=TILE
    )
    assert page.get_attribute(TILE, "data-height") == "4"
    assert page.input_value('[data-widget="by_status"] [data-widget-width]') == "9"
    # The keyboard's way: the width control of another widget, and the focused handle.
    page.select_option('[data-widget="total"] [data-widget-width]', "3")
    page.wait_for_function(
        "() => document.querySelector('[data-layout-tile=\"total\"]').dataset.width === '3'"
    )
    page.focus('[data-layout-tile="total"] [data-resize-handle]')
    page.keyboard.press("ArrowUp")
    page.wait_for_function(
        "() => document.querySelector('[data-layout-tile=\"total\"]').dataset.height === '3'"
    )

    page.click("[data-add-viewer]")
    page.select_option('[data-viewer-kind="0"]', "role")
    page.select_option('[data-viewer-key="0"]', "manager")
    page.wait_for_selector(f"{TILE} [data-preview-chart]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # axe-core finds nothing wrong with the grid and the pickers.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "tags => axe.run({include: [['[data-layout]'], ['[data-viewers]']]},"
        " {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target).join(', ')))",
        WCAG,
    )
    assert found == []
    for part in ("layout", "viewers"):
        shot = SCREENSHOTS / f"dashboard_designer_{part}.png"
        page.locator(f"[data-{part}]").screenshot(path=str(shot))
    save_and_publish(page)

    sign_out(page)
    sign_in_as(page, ann.username, ann.password, next_url="/apps/desk")
    assert page.locator('a[href="/apps/desk/dashboards/ops"]').count() == 0
    refused = page.goto(f"{live.url}{BOARD}")
    assert refused is not None and refused.status == 404

    sign_out(page)
    sign_in_as(page, mia.username, mia.password, next_url="/apps/desk")
    page.click('a[href="/apps/desk/dashboards/ops"]')
    page.wait_for_url(f"**{BOARD}")
    chart = '[data-widget="by_status"] .widget__chart'
    page.wait_for_function(HAS_CHART, arg=chart)
    widths = page.evaluate(
        """() => {
            const grid = document.querySelector("#dashboard-widgets").getBoundingClientRect();
            const box = s => document.querySelector(s).getBoundingClientRect().width;
            const chart = document.querySelector('[data-widget="by_status"] .widget__chart');
            return { grid: grid.width, status: box('[data-widget="by_status"]'),
                     total: box('[data-widget="total"]'),
                     chart: echarts.getInstanceByDom(chart).getWidth() };
        }"""
    )
    gap = 16
    assert abs(widths["status"] - (widths["grid"] - 11 * gap) * 9 / 12 - 8 * gap) < 2, widths
    assert abs(widths["total"] - (widths["grid"] - 11 * gap) * 3 / 12 - 2 * gap) < 2, widths
    assert widths["chart"] > widths["status"] * 0.8, widths
    page.screenshot(path=str(SCREENSHOTS / "dashboard_sized_wide.png"), full_page=True)
    assert violations(page) == []
    # On a phone every widget takes the full width, and nothing scrolls sideways.
    page.set_viewport_size({"width": 375, "height": 800})
    page.wait_for_function(
        """() => {
            const grid = document.querySelector("#dashboard-widgets").getBoundingClientRect();
            const box = document.querySelector('[data-widget="by_status"]').getBoundingClientRect();
            return Math.abs(box.width - grid.width) < 1;
        }"""
    )
    # The charts follow the new width after their (debounced) resize: wait for it.
    page.wait_for_function(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    page.screenshot(path=str(SCREENSHOTS / "dashboard_sized_phone.png"), full_page=True)
    # The only error: the refused page's 404 for ann.
    assert [e for e in page.errors if "404" not in e or BOARD not in e] == []


def test_a_measures_display_format(page, live):
    """The measure's "Show as" and "Decimals" controls write its format into the draft, and
    the preview shows the values in it."""
    tickets_by_status(page, live, "formats", "Formats")
    page.select_option('[data-widget="widget_1"] [data-measure-format="0"]', "number")
    page.select_option('[data-widget="widget_1"] [data-measure-decimals="0"]', "2")
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-widget="widget_1"] td.num')]
            .some(td => td.textContent === "3.00")"""
    )
    save_draft(page)
    saved = page.evaluate(
        """async () => {
            const config = window.tangram.readJson("builder-config");
            const draft = await window.tangram.api("GET", config.draft_url);
            const board = draft.data.definition.dashboards.find(d => d.key === "formats");
            return board.widgets[0].measures[0].format;
        }"""
    )
    assert {k: v for k, v in saved.items() if v is not None} == {"style": "number", "decimals": 2}
    assert page.errors == []
