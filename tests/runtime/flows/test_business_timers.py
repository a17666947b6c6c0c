"""Business-hours timers at run time: the due time counts working time on the app's calendar
(weekends, a holiday, a make-up workday), for intermediate and boundary timers, and the job
worker fires them; a calendar the draft does not have is refused at publish, naming the node."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from runtime.config import Settings
from runtime.flows import service
from tests.runtime.flows.conftest import (
    FlowApp,
    chain,
    flow,
    jobs_named,
    publish_flows,
    timer_rows,
    working,
)

pytestmark = pytest.mark.asyncio

SHANGHAI = ZoneInfo("Asia/Shanghai")
NINE_TO_FIVE = [["09:00", "17:00"]]
#: Monday to Friday 09:00-17:00 in Shanghai; Monday 30 November 2026 off, Saturday 5 December
#: worked (a make-up workday).
CALENDAR = {
    "key": "cn_9x5",
    "name": {"en": "Office 9x5"},
    "timezone": "Asia/Shanghai",
    "weekly": {str(day): NINE_TO_FIVE for day in range(5)},
    "holidays": [{"start": "2026-11-30", "name": {"en": "Office day off"}}],
    "workdays": [{"date": "2026-12-05", "name": {"en": "Make-up day"}}],
}


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)


def waiting(duration: str = "PT2H", **timer: object) -> dict:
    nodes = [
        {"id": "start", "type": "start"},
        {
            "id": "wait",
            "type": "timer",
            "timer": {"duration": duration, "business_hours": True, **timer},
        },
        {"id": "after", "type": "user_task", "assignee": {"kind": "user", "key": "agent1"}},
        {"id": "end", "type": "end"},
    ]
    return flow("wait", nodes, chain("start", "wait", "after", "end"))


def escalating() -> dict:
    nodes = [
        {"id": "start", "type": "start"},
        {"id": "handle", "type": "user_task", "assignee": {"kind": "user", "key": "agent1"}},
        {
            "id": "late",
            "type": "boundary_timer",
            "attached_to": "handle",
            "timer": {"duration": "PT8H", "business_hours": True, "calendar": "cn_9x5"},
        },
        {"id": "end", "type": "end"},
        {"id": "escalated", "type": "end"},
    ]
    edges = [*chain("start", "handle", "end"), *chain("late", "escalated")]
    return flow("escalate", nodes, edges)


async def start_at(app: FlowApp, people, monkeypatch, flow_key: str, when: datetime) -> int:
    """Start ``flow_key`` as if it were ``when`` (the engine's clock); the instance id."""
    monkeypatch.setattr(service.ENGINE, "clock", lambda: when)
    record = await app.record(people["requester"])
    started = await app.start(people["requester"], flow_key, record["id"])
    assert started.status_code == 201, started.text
    monkeypatch.undo()
    return started.json()["id"]


async def due_of(sessions, instance_id: int) -> datetime:
    [timer] = await timer_rows(sessions, instance_id)
    return timer.due_at.astimezone(SHANGHAI)


async def test_friday_five_pm_plus_two_business_hours_fires_monday_eleven(
    client, admin, sessions, settings: Settings, people, monkeypatch
) -> None:
    app = await publish_flows(
        client, admin, [waiting(calendar="cn_9x5")], parts={"calendars": [CALENDAR]}
    )
    instance_id = await start_at(app, people, monkeypatch, "wait", local(2026, 11, 20, 17))
    due = await due_of(sessions, instance_id)
    assert due == local(2026, 11, 23, 11)
    [job] = await jobs_named(sessions, service.TIMER_JOB)
    assert job.run_at == due  # the job is scheduled for the working-time due time
    # Monday 11:00 has passed: the worker fires the timer and the instance moves on.
    async with working(sessions, settings):
        detail = await app.until(instance_id, lambda d: d["tasks"], "the task after the timer")
    assert [p["node"] for p in detail["position"]] == ["after"]
    assert [t.status for t in await timer_rows(sessions, instance_id)] == ["fired"]


async def test_a_holiday_is_skipped_and_a_make_up_workday_is_worked(
    client, admin, sessions, people, monkeypatch
) -> None:
    app = await publish_flows(
        client, admin, [waiting(calendar="cn_9x5")], parts={"calendars": [CALENDAR]}
    )
    # Friday 27 November 17:00: the weekend and Monday 30 (a holiday) do not count.
    instance_id = await start_at(app, people, monkeypatch, "wait", local(2026, 11, 27, 17))
    assert await due_of(sessions, instance_id) == local(2026, 12, 1, 11)
    # Friday 4 December 16:00 + 2 h: one hour on Friday, one on Saturday 5 (a make-up day).
    instance_id = await start_at(app, people, monkeypatch, "wait", local(2026, 12, 4, 16))
    assert await due_of(sessions, instance_id) == local(2026, 12, 5, 10)


async def test_without_a_calendar_the_apps_own_calendar_is_the_default(
    client, admin, sessions, people, monkeypatch
) -> None:
    app = await publish_flows(client, admin, [waiting()], parts={"calendars": [CALENDAR]})
    instance_id = await start_at(app, people, monkeypatch, "wait", local(2026, 11, 20, 16))
    assert await due_of(sessions, instance_id) == local(2026, 11, 23, 10)


async def test_a_boundary_timer_counts_business_hours(
    client, admin, sessions, people, monkeypatch
) -> None:
    app = await publish_flows(client, admin, [escalating()], parts={"calendars": [CALENDAR]})
    # Thursday 26 November 13:00 + 8 h: 4 h on Thursday, 4 on Friday (Monday is off anyway).
    instance_id = await start_at(app, people, monkeypatch, "escalate", local(2026, 11, 26, 13))
    assert await due_of(sessions, instance_id) == local(2026, 11, 27, 13)


async def test_an_unknown_calendar_is_refused_at_publish_naming_the_node(client, admin) -> None:
    with pytest.raises(AssertionError) as refused:
        await publish_flows(client, admin, [waiting(calendar="nowhere")])
    text = str(refused.value)
    assert "flows[wait].nodes[wait].timer.calendar" in text and "unknown_calendar" in text


async def test_without_any_app_calendar_the_default_hours_are_in_the_organisations_zone() -> None:
    from builder.apps.definition import AppDefinition
    from runtime.flows.definitions import calendars

    find = calendars(AppDefinition(), "Asia/Shanghai")
    default = find(None)
    assert default.timezone == "Asia/Shanghai"
    # Monday to Friday 09:00-17:00 in Shanghai: Friday 16:00 + 2 h is Monday 10:00 there.
    assert default.add_business(local(2026, 11, 20, 16), timedelta(hours=2)) == local(
        2026, 11, 23, 10
    )
    assert find("standard_weekdays").timezone == "UTC"  # a named calendar keeps its own zone
    own = AppDefinition.model_validate({"calendars": [CALENDAR]})
    assert calendars(own, "UTC")("cn_9x5") is own.calendars[0]
