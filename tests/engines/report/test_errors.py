"""Bad widgets are refused with a ReportError naming the widget, the pass and the field."""

from __future__ import annotations

from typing import Any

import pytest

from engines.report import ReportError, Viewer, compile_widget, parse_dashboard, parse_widget

from .support import new_catalog, scoped_viewer

CATALOG = new_catalog()


def widget(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "key": "volume",
        "chart": "bar",
        "form": "ticket",
        "measures": [{"key": "n", "agg": "count"}],
        "dimensions": [{"key": "status", "field": "status"}],
    }
    return {**base, **changes}


def refuse(spec: dict[str, Any], viewer: Viewer | None = None) -> ReportError:
    with pytest.raises(ReportError) as caught:
        compile_widget(
            parse_widget(spec), CATALOG, viewer or scoped_viewer(CATALOG), dialect_name="sqlite"
        )
    error = caught.value
    assert error.widget == "volume"
    assert error.message("en") and error.message("zh-CN") != error.message("en")
    assert error.to_dict()["field"] == error.path
    return error


CASES = [
    (
        {"measures": [{"key": "n", "agg": "sum", "field": "nope"}]},
        "report.unknown_field",
        "resolve",
        "widgets[volume].measures[0].field",
    ),
    (
        {"measures": [{"key": "n", "agg": "sum", "field": "subject"}]},
        "report.bad_aggregation",
        "resolve",
        "widgets[volume].measures[0].field",
    ),
    (
        {"measures": [{"key": "n", "agg": "avg", "field": "opened_at"}]},
        "report.bad_aggregation",
        "resolve",
        "widgets[volume].measures[0].field",
    ),
    (
        {"dimensions": [{"key": "r", "field": "status.region"}]},
        "report.unknown_join",
        "resolve",
        "widgets[volume].dimensions[0].field",
    ),
    (
        {"dimensions": [{"key": "r", "field": "customer.nowhere"}]},
        "report.unknown_field",
        "resolve",
        "widgets[volume].dimensions[0].field",
    ),
    (
        {"dimensions": [{"key": "s", "field": "secret"}]},
        "report.hidden_field",
        "resolve",
        "widgets[volume].dimensions[0].field",
    ),
    (
        {"filter": {"==": [{"var": "secret"}, "x"]}},
        "report.hidden_field",
        "resolve",
        "widgets[volume].filter",
    ),
    (
        {"measures": [{"key": "n", "agg": "count_distinct", "field": "secret"}]},
        "report.hidden_field",
        "resolve",
        "widgets[volume].measures[0].field",
    ),
    (
        {"sort": [{"key": "nothing"}]},
        "report.bad_sort",
        "validate",
        "widgets[volume].sort[0].key",
    ),
    ({"limit": 10_000_000}, "report.absurd_limit", "limits", "widgets[volume].limit"),
    ({"limit": 0}, "report.absurd_limit", "limits", "widgets[volume].limit"),
    ({"top_n": {"n": 5000}}, "report.absurd_limit", "limits", "widgets[volume].top_n.n"),
    (
        {"filter": {"frobnicate": [1]}},
        "report.bad_filter",
        "validate",
        "widgets[volume].filter",
    ),
    (
        {"filter": {"==": [{"var": "status"}]}},
        "report.bad_filter",
        "validate",
        "widgets[volume].filter",
    ),
    (
        {"measures": [{"key": "n", "agg": "count", "filter": {"<": [{"var": "nothing"}, 1]}}]},
        "report.unknown_field",
        "resolve",
        "widgets[volume].measures[0].filter",
    ),
    (
        {"dimensions": [{"key": "d", "field": "status", "bucket": "day"}]},
        "report.bad_bucket",
        "resolve",
        "widgets[volume].dimensions[0].bucket",
    ),
    (
        {"dimensions": [{"key": "d", "field": "due", "bucket": "hour"}]},
        "report.bad_bucket",
        "resolve",
        "widgets[volume].dimensions[0].bucket",
    ),
    (
        {"dimensions": [{"key": "d", "field": "notes"}]},
        "report.not_groupable",
        "resolve",
        "widgets[volume].dimensions[0].field",
    ),
    (
        {"dimensions": [{"key": "d", "field": "tags"}]},
        "report.not_groupable",
        "resolve",
        "widgets[volume].dimensions[0].field",
    ),
    (
        {
            "joins": [{"key": "answers", "form": "reply", "via": "ticket"}],
            "measures": [{"key": "m", "agg": "median", "field": "answers.minutes"}],
        },
        "report.not_decomposable",
        "resolve",
        "widgets[volume].measures[0].field",
    ),
    (
        {
            "joins": [{"key": "answers", "form": "reply", "via": "minutes"}],
            "measures": [{"key": "m", "agg": "count", "field": "answers"}],
        },
        "report.unknown_join",
        "resolve",
        "widgets[volume].joins[0].via",
    ),
    (
        {"measures": [{"key": f"m{i}", "agg": "count"} for i in range(30)]},
        "report.too_many",
        "validate",
        "widgets[volume].measures",
    ),
    (
        {"dimensions": [{"key": f"d{i}", "field": "status"} for i in range(6)]},
        "report.too_many",
        "validate",
        "widgets[volume].dimensions",
    ),
    ({"form": "nowhere"}, "report.unknown_form", "resolve", "widgets[volume].form"),
    ({"chart": "kpi"}, "report.bad_chart", "validate", "widgets[volume].dimensions"),
    (
        {"compare": {"field": "opened_at"}},
        "report.compare_needs_range",
        "runtime_filters",
        "widgets[volume].compare.field",
    ),
    (
        {"compare": {"field": "status", "days": 7}},
        "report.bad_bucket",
        "resolve",
        "widgets[volume].compare.field",
    ),
]


@pytest.mark.parametrize(("changes", "code", "stage", "path"), CASES)
def test_refused(changes: dict[str, Any], code: str, stage: str, path: str) -> None:
    error = refuse(widget(**changes))
    assert (error.code, error.stage) == (code, stage)
    assert (
        error.path == path or error.path.startswith(path + ".") or error.path.startswith(path + "[")
    )


def test_bad_timezone() -> None:
    with pytest.raises(ReportError) as caught:
        compile_widget(
            parse_widget(widget()),
            CATALOG,
            Viewer(),
            timezone="Mars/Olympus",
            dialect_name="sqlite",
        )
    assert caught.value.code == "report.bad_timezone"


def test_spec_errors_name_widget_and_path() -> None:
    with pytest.raises(ReportError) as caught:
        parse_widget(
            widget(measures=[{"key": "p", "agg": "percentile", "field": "minutes", "p": 1.5}])
        )
    assert caught.value.widget == "volume"
    assert caught.value.path == "widgets[volume].measures[0].p"
    with pytest.raises(ReportError) as caught:
        parse_dashboard({"key": "d", "widgets": [widget(), widget(key="other", chart="donut")]})
    assert (caught.value.widget, caught.value.path) == ("other", "widgets[other].chart")
    with pytest.raises(ReportError) as caught:
        parse_widget(widget(measures=[{"key": "r", "agg": "ratio"}]))
    assert caught.value.path == "widgets[volume].measures[0]"


def test_hidden_nowhere_else_is_fine() -> None:
    compiled = compile_widget(
        parse_widget(widget(dimensions=[{"key": "s", "field": "secret"}])),
        CATALOG,
        Viewer(),
        dialect_name="postgresql",
    )
    assert [c.key for c in compiled.columns] == ["s", "n"]


def test_no_sql_text_from_input() -> None:
    evil = "x'; DROP TABLE t_9101; --"
    compiled = compile_widget(
        parse_widget(widget(filter={"==": [{"var": "status"}, evil]})),
        CATALOG,
        scoped_viewer(CATALOG),
        dialect_name="sqlite",
    )
    sql = str(compiled.statement.compile())
    assert evil not in sql and "DROP" not in sql


def test_dashboard_time_zone() -> None:
    assert parse_dashboard({"key": "d"}).timezone is None
    board = parse_dashboard({"key": "d", "timezone": "Asia/Shanghai", "widgets": [widget()]})
    assert board.timezone == "Asia/Shanghai"
    for bad in ("Mars/Olympus", "../etc/passwd", "", "/usr/share/zoneinfo/UTC"):
        with pytest.raises(ReportError) as caught:
            parse_dashboard({"key": "d", "timezone": bad})
        assert caught.value.code == "report.invalid_spec"
        assert caught.value.path == "timezone"


def test_widget_layout_and_dashboard_viewers() -> None:
    board = parse_dashboard(
        {
            "key": "d",
            "widgets": [widget(layout={"w": 12, "h": 1}), widget(key="t", chart="table")],
            "visible_to": [{"kind": "department", "key": "SALES", "include_children": True}],
        }
    )
    assert board.sized and board.widgets[0].size.w == 12 and board.widgets[0].size.h == 1
    assert (board.widgets[1].size.w, board.widgets[1].size.h) == (12, 4)  # the default
    assert board.visible_to[0].include_children
    plain = parse_dashboard({"key": "d", "widgets": [widget()]})
    assert not plain.sized and (plain.widgets[0].size.w, plain.widgets[0].size.h) == (6, 4)
    assert plain.visible_to == []
    for layout, path in (
        ({"w": 0, "h": 2}, "widgets[volume].layout.w"),
        ({"w": 13, "h": 2}, "widgets[volume].layout.w"),
        ({"w": 4, "h": 13}, "widgets[volume].layout.h"),
        ({"w": 4}, "widgets[volume].layout.h"),
        ({"w": 4, "h": 2, "x": 1}, "widgets[volume].layout.x"),
    ):
        with pytest.raises(ReportError) as caught:
            parse_dashboard({"key": "d", "widgets": [widget(layout=layout)]})
        assert (caught.value.code, caught.value.path) == ("report.invalid_spec", path)
    for viewers, path in (
        ([{"kind": "everyone"}], "visible_to[0].kind"),
        ([{"kind": "user", "key": ""}], "visible_to[0].key"),
        ([{"kind": "role", "key": "a"}, {"kind": "role", "key": "a"}], ""),
    ):
        with pytest.raises(ReportError) as caught:
            parse_dashboard({"key": "d", "visible_to": viewers})
        assert caught.value.path == path


def test_measure_display_formats() -> None:
    def measure(**changes: Any) -> dict[str, Any]:
        return {"key": "avg", "agg": "avg", "field": "minutes", **changes}

    hours = {"style": "duration", "unit": "minutes", "show_as": "hours", "decimals": 1}
    parsed = parse_widget(widget(measures=[measure(format=hours)])).measures[0]
    chosen, least, most = parsed.display_format()
    assert (chosen.style, chosen.unit, chosen.show_as, least, most) == (
        "duration",
        "minutes",
        "hours",
        1,
        1,
    )
    # Defaults: a ratio as a percent with one decimal, an average up to one, a count up to two.
    ratio = {
        "key": "r",
        "agg": "ratio",
        "numerator": {"key": "a", "agg": "count"},
        "denominator": {"key": "b", "agg": "count"},
    }
    parsed_widget = parse_widget(widget(measures=[ratio, measure(), {"key": "n", "agg": "count"}]))
    defaults = [m.display_format() for m in parsed_widget.measures]
    assert [(f.style, least, most) for f, least, most in defaults] == [
        ("percent", 1, 1),
        ("number", 0, 1),
        ("number", 0, 2),
    ]
    assert parse_widget(widget(measures=[measure(format={"style": "percent"})])).measures[
        0
    ].display_format()[1:] == (0, 1)
    for bad, path in (
        ({"style": "money"}, "widgets[volume].measures[0].format.style"),
        ({"style": "number", "decimals": 7}, "widgets[volume].measures[0].format.decimals"),
        ({"style": "number", "decimals": -1}, "widgets[volume].measures[0].format.decimals"),
        ({"style": "duration", "unit": "weeks"}, "widgets[volume].measures[0].format.unit"),
        ({"style": "percent", "unit": "hours"}, "widgets[volume].measures[0].format"),
        ({"style": "number", "colour": "red"}, "widgets[volume].measures[0].format.colour"),
    ):
        with pytest.raises(ReportError) as caught:
            parse_dashboard({"key": "d", "widgets": [widget(measures=[measure(format=bad)])]})
        assert (caught.value.code, caught.value.path) == ("report.invalid_spec", path), bad
