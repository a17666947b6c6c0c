"""How report statements are prepared and planned: a run that asks for fresh results still
reuses the compiled widget, and on PostgreSQL every report statement is planned with its
parameters' values (never a generic plan)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from runtime.reports import service
from tests.runtime.reports.conftest import Desk
from tests.runtime.reports.results import kpi


async def test_fresh_results_reuse_the_compiled_widget(tickets: Desk, app):
    desk = tickets
    first = await desk.result(desk.admin, "total", cache=False)
    cache = app.state.report_cache
    hits = cache.hits
    second = await desk.result(desk.admin, "total", cache=False)
    assert (kpi(first["result"], "tickets"), first["cached"]) == (5, False)
    assert (kpi(second["result"], "tickets"), second["cached"]) == (5, False)
    assert cache.hits == hits + 1  # the compiled widget, not the result
    await desk.ticket(desk.ann, status="open", team="l1")
    third = await desk.result(desk.admin, "total", cache=False)
    assert (kpi(third["result"], "tickets"), third["cached"]) == (6, False)


async def test_report_statements_are_planned_with_their_values(app, sessions, backend):
    async with sessions() as db:
        seen: list[str] = []

        def before(conn, cursor, statement, *_):
            seen.append(statement)

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", before)
        try:
            await service.custom_plans(db)
            await service.custom_plans(db)  # once per transaction
            if backend == "postgresql":
                mode = (await db.execute(text("SHOW plan_cache_mode"))).scalar_one()
                assert mode == "force_custom_plan"
                await db.rollback()
                mode = (await db.execute(text("SHOW plan_cache_mode"))).scalar_one()
                assert mode == "auto"  # SET LOCAL: gone with the transaction
                await service.custom_plans(db)
        finally:
            event.remove(app.state.engine.sync_engine, "before_cursor_execute", before)
    sets = [s for s in seen if s.startswith("SET LOCAL plan_cache_mode")]
    assert len(sets) == (2 if backend == "postgresql" else 0)


@pytest.mark.postgres_only
async def test_a_dashboard_run_plans_with_values_on_each_connection(tickets: Desk, app):
    desk = tickets
    seen: list[str] = []

    def before(conn, cursor, statement, *_):
        seen.append(statement)

    event.listen(app.state.engine.sync_engine, "before_cursor_execute", before)
    try:
        response = await desk.run(desk.admin, cache=False)
    finally:
        event.remove(app.state.engine.sync_engine, "before_cursor_execute", before)
    assert response.status_code == 200, response.text
    widgets = [w for w in response.json()["widgets"] if w["ok"]]
    sets = [s for s in seen if s.startswith("SET LOCAL plan_cache_mode")]
    # Widgets run concurrently, each on a pooled connection (a transaction) of its own.
    assert len(widgets) >= 2 and len(sets) == len(widgets)
