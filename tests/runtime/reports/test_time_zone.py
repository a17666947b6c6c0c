"""The organisation's time zone (``TANGRAM_TIME_ZONE``) decides date buckets, date-range
filters and drill-downs of date cells."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from engines.report import parse_dashboard
from runtime.config import Settings
from runtime.reports import service
from tests.conftest import make_settings
from tests.runtime.reports.conftest import Desk
from tests.runtime.reports.results import by_dimension


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path, time_zone="Asia/Shanghai")


async def test_days_are_local_days(desk: Desk):
    # 17:30 UTC is 01:30 the next day in Shanghai; 15:59 UTC is still the same day there.
    await desk.ticket(desk.ann, opened_at="2026-03-01T17:30:00Z")
    await desk.ticket(desk.ann, opened_at="2026-03-01T15:59:00Z")
    await desk.ticket(desk.ann, opened_at="2026-03-02T15:00:00Z")
    spec = await desk.client.get(f"{desk.base}/ops", headers=desk.admin.headers)
    assert spec.status_code == 200 and spec.json()["timezone"] == "Asia/Shanghai"
    assert "opened" in {f["key"] for f in spec.json()["filters"]}
    result = (await desk.result(desk.admin, "per_day"))["result"]
    assert by_dimension(result, "tickets") == {("2026-03-01",): 1, ("2026-03-02",): 2}
    march_2 = await desk.result(
        desk.admin, "per_day", filters={"opened": {"from": "2026-03-02", "to": "2026-03-02"}}
    )
    assert by_dimension(march_2["result"], "tickets") == {("2026-03-02",): 2}
    drilled = await desk.client.post(
        f"{desk.base}/ops/widgets/per_day/drill",
        json={"cell": {"day": "2026-03-02"}},
        headers=desk.admin.headers,
    )
    assert drilled.status_code == 200, drilled.text
    assert sorted(i["values"]["opened_at"] for i in drilled.json()["items"]) == [
        "2026-03-01T17:30:00.000Z",
        "2026-03-02T15:00:00.000Z",
    ]


def test_a_dashboard_time_zone_wins_over_the_organisation_one() -> None:
    context: Any = SimpleNamespace(settings=SimpleNamespace(time_zone="Asia/Shanghai"))
    assert service.time_zone(context, parse_dashboard({"key": "d"})) == "Asia/Shanghai"
    berlin = parse_dashboard({"key": "d", "timezone": "Europe/Berlin"})
    assert service.time_zone(context, berlin) == "Europe/Berlin"
