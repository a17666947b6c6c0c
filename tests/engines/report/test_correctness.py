"""Every measure, dimension, bucket and chart shape against a plain-Python computation over
the same seeded data, on SQLite and PostgreSQL (see ``support`` for the data's edges and
``reference`` for the computation)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from engines.report import RuntimeFilter, Viewer, compile_widget, parse_widget
from engines.report.spec import Widget

from .reference import Reference
from .support import Database, generate, load_widgets, new_catalog, scoped_viewer

WIDGETS = load_widgets()
ZONES = ["Asia/Shanghai", "Europe/Berlin"]
NOW = datetime(2024, 4, 8, 4, 0, tzinfo=UTC)
COMPARE_RANGE = RuntimeFilter(
    key="period",
    kind="date_range",
    field="opened_at",
    value={"from": "2024-03-25", "to": "2024-04-07"},
)


@pytest.fixture(scope="module")
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url, new_catalog())
    database.load(generate())
    yield database
    database.close()


def close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    return bool(a == b)


def assert_rows(
    actual: dict[tuple[Any, ...], dict[str, Any]], expected: dict[tuple[Any, ...], dict[str, Any]]
) -> None:
    assert set(actual) == set(expected)
    for key, row in expected.items():
        got = actual[key]
        for name, value in row.items():
            assert close(got[name], value), (key, name, got[name], value)


def keyed(widget: Widget, rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(r[d.key] for d in widget.dimensions): r for r in rows}


def run(db: Database, widget: Widget, viewer: Viewer, tz: str, filters: list[RuntimeFilter]) -> Any:
    compiled = compile_widget(
        widget,
        db.catalog,
        viewer,
        timezone=tz,
        now=NOW,
        runtime_filters=filters,
        dialect_name=db.dialect,
    )
    return compiled, compiled.shape(db.rows(compiled.statement))


def _in_period(tz: str, first: str, last: str) -> Any:
    from .reference import local

    def holds(record: dict[str, Any]) -> bool:
        opened = record["opened_at"]
        return opened is not None and first <= local(opened, tz).date().isoformat() <= last

    return holds


def _rank_key(value: Any, first: Any) -> tuple[Any, ...]:
    return (value is None, -(value or 0), first is None, first if first is not None else "")


def expected_top(ref: Reference, widget: Widget) -> dict[tuple[Any, ...], dict[str, Any]]:
    assert widget.top_n is not None
    first = widget.dimensions[0]
    by = next(m for m in widget.measures if m.key == widget.top_n.by)
    ranking = ref.grouped(widget.model_copy(update={"dimensions": [first], "measures": [by]}))
    ordered = sorted(ranking.values(), key=lambda r: _rank_key(r[by.key], r[first.key]))
    top = {r[first.key] for r in ordered[: widget.top_n.n]}

    def in_top(record: dict[str, Any]) -> bool:
        return ref.dim(widget, 0, record) in top

    rows = {(False, *key): row for key, row in ref.grouped(widget, in_top).items()}
    if widget.top_n.others:
        rest = widget.model_copy(update={"dimensions": widget.dimensions[1:]})
        others = ref.grouped(rest, lambda r: not in_top(r))
        if any(not in_top(r) for r in ref.rows(widget)):
            for key, row in others.items():
                rows[(True, None, *key)] = {**row, first.key: None, "_others": True}
    return rows


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("key", sorted(WIDGETS))
def test_widget_matches_python(db: Database, key: str, tz: str) -> None:
    widget = parse_widget(WIDGETS[key])
    viewer = scoped_viewer(db.catalog)
    ref = Reference(generate(), scoped=True, tz=tz, context=dict(viewer.context))
    filters = [COMPARE_RANGE] if widget.compare is not None else []
    compiled, result = run(db, widget, viewer, tz, filters)
    assert result.widget == key and result.chart == widget.chart
    if widget.compare is not None:
        current = _in_period(tz, "2024-03-25", "2024-04-07")
        previous = _in_period(tz, "2024-03-11", "2024-03-24")
        expected = ref.grouped(widget, lambda r: current(r) or previous(r), (current, previous))
        assert_rows(keyed(widget, result.rows), expected)
    elif widget.chart == "table":
        expected_records = sorted(
            ref.rows(widget),
            key=lambda r: (
                (
                    *tuple(
                        (ref.dim(widget, i, r) is None, ref.dim(widget, i, r) or 0)
                        for i in range(len(widget.dimensions))
                    ),
                    r["id"],
                )
            ),
        )
        assert [row["id"] for row in result.rows] == [r["id"] for r in expected_records]
        for row, record in zip(result.rows, expected_records, strict=True):
            for index, dimension in enumerate(widget.dimensions):
                assert close(row[dimension.key], ref.dim(widget, index, record))
    elif widget.pivot is not None:
        pivot = result.pivot
        assert pivot is not None
        cells = ref.grouped(widget)
        rows_keys = widget.pivot.rows
        column_keys = widget.pivot.columns
        measures = [m.key for m in widget.measures]
        for r_index, row_key in enumerate(pivot["rows"]):
            for c_index, column_key in enumerate(pivot["columns"]):
                dims = dict(zip(rows_keys, row_key, strict=True)) | dict(
                    zip(column_keys, column_key, strict=True)
                )
                full = tuple(dims[d.key] for d in widget.dimensions)
                want = cells.get(full)
                got = pivot["cells"][r_index][c_index]
                assert (got is None) == (want is None)
                if want is not None:
                    assert close(got, {m: want[m] for m in measures})
        assert {tuple(k) for k in pivot["rows"]} == {
            tuple(c[k] for k in rows_keys) for c in cells.values()
        }
        by_rows = ref.grouped(
            widget.model_copy(
                update={"dimensions": [d for d in widget.dimensions if d.key in rows_keys]}
            )
        )
        for row_key, totals in zip(pivot["rows"], pivot["row_totals"], strict=True):
            assert close(totals, {m: by_rows[tuple(row_key)][m] for m in measures})
        if column_keys:
            by_columns = ref.grouped(
                widget.model_copy(
                    update={"dimensions": [d for d in widget.dimensions if d.key in column_keys]}
                )
            )
            for column_key, totals in zip(pivot["columns"], pivot["column_totals"], strict=True):
                assert close(totals, {m: by_columns[tuple(column_key)][m] for m in measures})
        grand = ref.grouped(widget.model_copy(update={"dimensions": []}))[()]
        assert close(pivot["total"], {m: grand[m] for m in measures})
    elif widget.top_n is not None:
        actual = {
            (r.get("_others", False), *(r[d.key] for d in widget.dimensions)): r
            for r in result.rows
        }
        expected = expected_top(ref, compiled.widget)
        assert_rows(actual, expected)
        others = [r for r in result.rows if r.get("_others")]
        assert result.rows[len(result.rows) - len(others) :] == others  # others come last
    else:
        assert_rows(keyed(widget, result.rows), ref.grouped(widget))
        if widget.chart == "kpi":
            assert result.value == result.rows[0]
    assert not result.truncated


def test_unscoped_viewer_sees_everything_live(db: Database) -> None:
    widget = parse_widget(WIDGETS["fan_out"])
    ref = Reference(generate(), scoped=False, tz="UTC", context={})
    _, result = run(db, widget, Viewer(), "UTC", [])
    assert_rows(keyed(widget, result.rows), ref.grouped(widget))


def test_runtime_filters(db: Database) -> None:
    widget = parse_widget(WIDGETS["by_status"])
    viewer = scoped_viewer(db.catalog)
    tz = "Asia/Shanghai"
    ref = Reference(generate(), scoped=True, tz=tz, context=dict(viewer.context))
    filters = [
        RuntimeFilter(
            key="d",
            kind="date_range",
            field="opened_at",
            value={"from": "2024-03-05", "to": "2024-03-31"},
        ),
        RuntimeFilter(key="c", kind="equals", field="category", value="tech"),
        RuntimeFilter(key="s", kind="choice", field="customer.region", value=["north", "south"]),
        RuntimeFilter(key="due", kind="date_range", field="due", value={"to": "2024-12-31"}),
    ]
    _, result = run(db, widget, viewer, tz, filters)
    period = _in_period(tz, "2024-03-05", "2024-03-31")

    def holds(r: dict[str, Any]) -> bool:
        region = r["customer"]["region"] if r["customer"] else None
        due_ok = r["due"] is not None and r["due"].isoformat() <= "2024-12-31"
        return period(r) and r["category"] == "tech" and region in ("north", "south") and due_ok

    expected = ref.grouped(widget, holds)
    assert expected  # the filters leave something to compare
    assert_rows(keyed(widget, result.rows), expected)


def test_limit_truncates_and_says_so(db: Database) -> None:
    spec = {**WIDGETS["per_day"], "limit": 5}
    _, result = run(db, parse_widget(spec), scoped_viewer(db.catalog), "UTC", [])
    assert len(result.rows) == 5 and result.truncated
    days = [r["day"] for r in result.rows]
    assert days == sorted(days)
