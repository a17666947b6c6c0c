"""The Customer Center's operations dashboard as a supervisor reads it (SQLite and
PostgreSQL): the agent leaderboard names the agents, ratios show as percentages, times in the
units the template gives them."""

from __future__ import annotations

import re
from html import unescape

from sqlalchemy import update

from runtime.auth.models import User
from tests.conftest import USER_PASSWORD
from tests.runtime.web.pages import sign_in
from tests.runtime.web.test_dashboard_pages import chart_data, kpi_value, widget_box
from tests.templates.customer_center.conftest import Center


async def test_the_leaderboard_names_agents_and_ratios_read_as_percent(center: Center, sessions):
    fay = center.people["fay"]
    async with sessions() as db:
        await db.execute(update(User).where(User.id == fay.id).values(display_name="Fay Wu"))
        await db.commit()
    for subject in ("发票抬头开错了", "Need a new INVOICE for May"):  # routed to fay (finance)
        made = await center.create("sam", "ticket", subject=subject)
        await center.until(made["id"], lambda v: v["assignee"] == fay.id)
    center.client.cookies.clear()
    await sign_in(center.client, "sol", USER_PASSWORD)
    page = await center.client.get("/apps/customer_center/dashboards/operations")
    assert page.status_code == 200, page.text
    board = widget_box(page.text, "leaderboard")
    cells = [unescape(c) for c in re.findall(r"<t[hd][^>]*>\s*(?:<a [^>]*>)?([^<]*)", board)]
    assert "Fay Wu" in cells and str(fay.id) not in cells, cells
    # Nothing breached yet: 100 % attainment, shown as a percent with one decimal.
    assert re.fullmatch(r"\d{1,3}\.\d %", kpi_value(page.text, "sla_attainment"))
    assert kpi_value(page.text, "sla_attainment") == "100.0 %"
    # The executive dashboard's department chart names the department.
    executive = await center.client.get("/apps/customer_center/dashboards/executive")
    assert executive.status_code == 200, executive.text
    bars = chart_data(executive.text, "by_department")
    assert all(not label.isdigit() for row in bars["rows"] for label in row["labels"]), bars
    trend = chart_data(executive.text, "sla_trend")
    assert trend["measures"][0]["format"] == {"scale": 100.0, "min": 1, "max": 1, "suffix": " %"}
