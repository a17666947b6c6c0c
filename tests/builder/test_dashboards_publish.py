"""Dashboards in the app definition: saved through the draft API, checked at publish against the
app's forms, problems named by dashboard and widget."""

from __future__ import annotations

from tests.runtime.reports.conftest import dashboards, publish_desk


def _board(*widgets, filters=()) -> list[dict]:
    return [{"key": "ops", "widgets": list(widgets), "filters": list(filters)}]


async def _publish_with(client, admin, boards):
    """Publish the desk app, then save ``boards`` to its draft and try to publish them."""
    app = await publish_desk(client, admin)
    draft = await app.draft()
    saved = await client.put(
        f"{app.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "dashboards": boards},
        },
        headers=admin.headers,
    )
    return app, saved


async def test_a_valid_dashboard_publishes_and_is_kept(client, admin):
    app = await publish_desk(client, admin)
    draft = await app.draft()
    assert [d["key"] for d in draft["definition"]["dashboards"]] == ["ops"]
    assert len(draft["definition"]["dashboards"][0]["widgets"]) == len(dashboards()[0]["widgets"])


async def test_bad_widgets_are_refused_at_publish_naming_dashboard_and_widget(client, admin):
    widgets = [
        {
            "key": "ghost",
            "chart": "bar",
            "form": "ticket",
            "measures": [{"key": "n", "agg": "count"}],
            "dimensions": [{"key": "d", "field": "no_such_field"}],
        },
        {
            "key": "sum_text",
            "chart": "kpi",
            "form": "ticket",
            "measures": [{"key": "s", "agg": "sum", "field": "subject"}],
        },
        {
            "key": "bad_join",
            "chart": "kpi",
            "form": "ticket",
            "measures": [{"key": "n", "agg": "count_distinct", "field": "subject.name"}],
        },
        {
            "key": "no_form",
            "chart": "kpi",
            "form": "nosuch",
            "measures": [{"key": "n", "agg": "count"}],
        },
        {
            "key": "huge",
            "chart": "table",
            "form": "ticket",
            "measures": [{"key": "n", "agg": "count"}],
            "dimensions": [{"key": "s", "field": "status"}],
            "limit": 10_000_000,
        },
    ]
    app, saved = await _publish_with(client, admin, _board(*widgets))
    assert saved.status_code == 200, saved.text
    published = await app.publish()
    assert published.status_code == 422, published.text
    body = published.json()
    assert body["code"] == "definition_invalid"
    fields = [e["field"] for e in body["errors"]]
    for key in ("ghost", "sum_text", "bad_join", "no_form", "huge"):
        assert any(f.startswith(f"dashboards[ops].widgets[{key}]") for f in fields), (key, fields)
    codes = {e["code"] for e in body["errors"]}
    assert {"report.unknown_field", "report.bad_aggregation", "report.absurd_limit"} <= codes
    validated = await client.post(f"{app.base}/draft/validate", headers=admin.headers)
    assert validated.status_code == 200 and validated.json()["ok"] is False


async def test_malformed_dashboards_are_422_on_save(client, admin):
    app, saved = await _publish_with(
        client,
        admin,
        [{"key": "ops", "widgets": [{"key": "w", "chart": "sparkline", "form": "ticket"}]}],
    )
    assert saved.status_code == 422, saved.text
    assert any(e["field"].startswith("definition.dashboards[0]") for e in saved.json()["errors"])
    draft = await app.draft()
    twice = await client.put(
        f"{app.base}/draft",
        json={
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "dashboards": [{"key": "ops"}, {"key": "ops"}]},
        },
        headers=admin.headers,
    )
    assert twice.status_code == 200, twice.text
    published = await app.publish()
    assert published.status_code == 422, published.text
    assert ("dashboards[ops]", "duplicate_key") in {
        (e["field"], e["code"]) for e in published.json()["errors"]
    }
