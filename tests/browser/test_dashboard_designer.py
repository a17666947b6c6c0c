"""The dashboard designer in the browser: a new dashboard, a bar chart of tickets counted by
status previewed live, saved, published, and on the end-user dashboard a click on a bar lands
on the records behind it."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_dashboard import arrange, sign_in

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


def test_design_a_bar_chart_publish_and_drill_down(page, live):
    arrange(live)
    sign_in(page, live, DESIGNER)
    page.wait_for_selector("[data-add-dashboard]")
    page.fill("[data-new-dashboard-key]", "sales")
    page.fill("[data-new-dashboard-title]", "Sales")
    page.click("[data-add-dashboard]")
    page.wait_for_url(f"**{DESIGNER}/sales")

    page.click("[data-add-widget]")
    page.select_option('[data-widget="widget_1"] [data-widget-form]', "ticket")
    page.select_option('[data-widget="widget_1"] [data-dimension-field="0"]', "status")
    page.wait_for_function(HAS_CHART, arg=PREVIEW)
    assert sorted(categories(page, PREVIEW)) == ["closed", "open", "resolved"]
    drawn = "s => echarts.getInstanceByDom(document.querySelector(s)).getWidth() > 100"
    page.wait_for_function(drawn, arg=PREVIEW)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard_designer_preview.png"), full_page=True)

    page.click("[data-draft-save]")
    page.wait_for_function(
        "() => document.querySelector('[data-draft-status]').textContent === 'All changes saved'"
    )
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

    page.goto(f"{live.url}/apps/desk/dashboards/sales")
    page.wait_for_function(HAS_CHART, arg=CHART)
    spot = bar_middle(page, CHART, "open")
    page.mouse.click(spot["x"], spot["y"])
    page.wait_for_url("**/widgets/widget_1/records?*")
    assert page.locator("[data-drill-total]").get_attribute("data-drill-total") == "3"
    assert page.locator("tbody tr").count() == 3
    assert page.errors == []
