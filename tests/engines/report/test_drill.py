"""Drill-down: the records behind every cell, counted through the scope, equal the cell's count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from engines.report import ReportError, parse_widget
from engines.report.drill import drill_condition

from .support import Database, generate, load_widgets, new_catalog, scoped_viewer
from .test_correctness import COMPARE_RANGE, NOW, run

WIDGETS = load_widgets()


@pytest.fixture(scope="module")
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, new_catalog())
    database.load(generate(seed=11, tickets=250))
    yield database
    database.close()


def _cells(db: Database, key: str, tz: str, filters: list[Any]) -> tuple[Any, list[dict[str, Any]]]:
    widget = parse_widget(WIDGETS[key])
    _, result = run(db, widget, scoped_viewer(db.catalog), tz, filters)
    return widget, result.rows


def _drilled(db: Database, widget: Any, cell: dict[str, Any], tz: str, filters: list[Any]) -> int:
    viewer = scoped_viewer(db.catalog)
    form_key, condition = drill_condition(
        widget,
        cell,
        db.catalog,
        viewer,
        tz,
        runtime_filters=filters,
        now=NOW,
        dialect_name=db.dialect,
    )
    table = db.catalog.forms[form_key].table
    scope = viewer.scope(form_key, table)
    query = (
        select(func.count())
        .select_from(table)
        .where(table.c.deleted_at.is_(None), scope, condition)
    )
    return int(db.rows(query)[0][0])


@pytest.mark.parametrize(
    ("key", "tz", "measure"),
    [
        ("by_status", "UTC", "n"),
        ("per_day", "Asia/Shanghai", "n"),
        ("per_hour", "Europe/Berlin", "n"),
        ("per_week", "Europe/Berlin", "n"),
        ("due_month", "Asia/Shanghai", "n"),
        ("hour_of_day", "Asia/Shanghai", "n"),
        ("weekday", "Europe/Berlin", "n"),
        ("region_company", "UTC", "n"),
        ("filtered", "UTC", "n"),
        ("filtered", "UTC", "resolved"),
        ("top_subjects", "UTC", "n"),
        ("top_stacked", "UTC", "n"),
        ("fan_out", "UTC", "n"),
        ("kpi_all", "UTC", "n"),
    ],
)
def test_drilled_records_equal_the_count(db: Database, key: str, tz: str, measure: str) -> None:
    widget, rows = _cells(db, key, tz, [])
    assert rows
    for row in rows:
        cell = {d.key: row[d.key] for d in widget.dimensions}
        if row.get("_others"):
            cell["_others"] = True
        cell["_measure"] = measure
        assert _drilled(db, widget, cell, tz, []) == row[measure], (key, row)


def test_drill_previous_period(db: Database) -> None:
    tz = "Europe/Berlin"
    widget, rows = _cells(db, "compare_by_status", tz, [COMPARE_RANGE])
    for row in rows:
        cell = {"status": row["status"], "_measure": "n"}
        assert _drilled(db, widget, cell, tz, [COMPARE_RANGE]) == row["n"]
        previous = {**cell, "_period": "previous"}
        assert (
            _drilled(db, widget, previous, tz, [COMPARE_RANGE]) == row["_compare"]["n"]["previous"]
        )


def test_drill_refuses_bad_cells(db: Database) -> None:
    widget = parse_widget(WIDGETS["by_status"])
    with pytest.raises(ReportError) as caught:
        drill_condition(widget, {"_measure": "nope"}, db.catalog, scoped_viewer(db.catalog))
    assert caught.value.code == "report.bad_cell" and caught.value.widget == "by_status"
    with pytest.raises(ReportError):
        drill_condition(widget, {"_others": True}, db.catalog, scoped_viewer(db.catalog))
    per_day = parse_widget(WIDGETS["due_month"])
    with pytest.raises(ReportError):
        drill_condition(per_day, {"m": "not a date"}, db.catalog, scoped_viewer(db.catalog))


def test_drill_refuses_keys_that_are_not_dimensions(db: Database) -> None:
    widget = parse_widget(WIDGETS["by_status"])
    viewer = scoped_viewer(db.catalog)
    for cell in ({"stauts": "open"}, {"status": "open", "_compare": {}}, {"n": 3}):
        with pytest.raises(ReportError) as caught:
            drill_condition(widget, cell, db.catalog, viewer)
        bad = next(k for k in cell if k != "status")
        assert caught.value.code == "report.unknown_cell_key"
        assert caught.value.widget == "by_status"
        assert caught.value.path == f"widgets[by_status].cell.{bad}"
        assert bad in caught.value.message("en") and bad in caught.value.message("zh-CN")
    # the documented special keys and the widget's own dimensions are fine
    drill_condition(widget, {"status": "open", "_measure": "n"}, db.catalog, viewer)
