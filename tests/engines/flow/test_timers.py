"""Intermediate timers and boundary timers (interrupting and not)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from engines.rules.calendar import parse_calendar

from .support import Harness, actions, flow, variant

TIMERS = flow("timers")


def at_task(h: Harness) -> object:
    inst = h.start(TIMERS)
    h.fire(inst, "wait")
    return inst


def test_intermediate_timer_waits_then_moves_on() -> None:
    h = Harness()
    inst = h.start(TIMERS)
    assert inst.position() == ["wait"]
    timer = h.timer(inst, "wait")
    assert timer.due_at == h.clock.now + timedelta(hours=1)
    assert timer.boundary_of is None
    (effect,) = h.effects("timer")
    assert effect.data == {"timer": timer.seq, "due_at": timer.due_at}
    assert h.fire(inst, "wait") is True
    assert timer.status == "fired"
    assert inst.position() == ["task"]
    assert "timer_fired" in actions(inst)


def test_firing_twice_or_a_cancelled_timer_does_nothing() -> None:
    h = Harness()
    inst = h.start(TIMERS)
    timer = h.timer(inst, "wait")
    h.fire(inst, "wait")
    events = len(inst.history)
    assert h.do(inst, "fire_timer", timer.seq) is False
    remind, escalate = h.timer(inst, "remind"), h.timer(inst, "escalate")
    h.complete(inst, "task")
    # the timers of a completed task are cancelled
    assert remind.status == "cancelled" and escalate.status == "cancelled"
    assert h.do(inst, "fire_timer", escalate.seq) is False
    assert h.do(inst, "fire_timer", 12345) is False
    assert actions(inst)[events:] == ["task_completed", "completed"]  # no timer event
    assert inst.status == "completed"


def test_boundary_timers_are_armed_with_the_task() -> None:
    h = Harness()
    inst = at_task(h)
    task = h.task(inst, "task")
    remind, escalate = h.timer(inst, "remind"), h.timer(inst, "escalate")
    assert remind.boundary_of == escalate.boundary_of == task.token
    assert remind.due_at == h.clock.now + timedelta(hours=2)
    assert escalate.due_at == h.clock.now + timedelta(hours=24)


def test_non_interrupting_boundary_leaves_a_second_token() -> None:
    h = Harness()
    inst = at_task(h)
    task = h.task(inst, "task")
    assert h.fire(inst, "remind") is True
    assert inst.variables["reminded"] is True  # the side path ran to its end
    assert task.status == "open"
    assert inst.position() == ["task"]
    assert inst.status == "running"
    assert h.timer(inst, "escalate").status == "pending"
    h.complete(inst, "task")
    assert inst.status == "completed"


def test_interrupting_boundary_cancels_the_task_and_leaves_by_its_edge() -> None:
    h = Harness()
    inst = at_task(h)
    task = h.task(inst, "task")
    remind = h.timer(inst, "remind")
    assert h.fire(inst, "escalate") is True
    assert task.status == "cancelled"
    assert remind.status == "cancelled"
    assert inst.position() == ["boss"]
    h.complete(inst, "boss")
    assert inst.status == "completed"


def test_non_interrupting_then_interrupting() -> None:
    h = Harness()
    inst = at_task(h)
    h.fire(inst, "remind")
    h.fire(inst, "escalate")
    assert inst.position() == ["boss"]
    assert all(t.status != "pending" for t in inst.timers.values())


def test_timer_at_a_date_from_the_record() -> None:
    h = Harness()
    dated = variant("timers", wait={"timer": {"at": {"var": "record.due_at"}}})
    inst = h.start(dated, record={"due_at": "2024-03-01T12:00:00Z"})
    assert h.timer(inst, "wait").due_at == datetime(2024, 3, 1, 12, tzinfo=UTC)
    naive = h.start(dated, record={"due_at": "2024-03-01T12:00:00"})
    assert h.timer(naive, "wait").due_at == datetime(2024, 3, 1, 12, tzinfo=UTC)


def test_timer_at_nothing_usable_is_due_now() -> None:
    h = Harness()
    dated = variant("timers", wait={"timer": {"at": {"var": "record.due_at"}}})
    inst = h.start(dated, record={"due_at": "soon"})
    assert h.timer(inst, "wait").due_at == h.clock.now


def test_timers_on_a_finished_instance_do_not_fire() -> None:
    h = Harness()
    inst = at_task(h)
    escalate = h.timer(inst, "escalate")
    h.do(inst, "cancel", user=1)
    assert escalate.status == "cancelled"
    assert h.do(inst, "fire_timer", escalate.seq) is False


# --- business hours ---------------------------------------------------------------------------

BUSINESS = {"duration": "PT2H", "business_hours": True}


def test_a_business_hours_timer_counts_working_time_only() -> None:
    """Friday 17:00 + 2 business hours on the shipped Monday-to-Friday 09-17 (UTC) calendar."""
    h = Harness()
    h.clock.now = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)  # a Friday
    inst = h.start(variant("timers", wait={"timer": BUSINESS}))
    timer = h.timer(inst, "wait")
    assert timer.due_at == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    (effect,) = h.effects("timer")
    assert effect.data["due_at"] == timer.due_at


def test_boundary_timers_count_business_hours_on_the_calendar_they_name() -> None:
    """China's calendar (Asia/Shanghai): the National Day holiday 10-01..10-07 is skipped,
    the make-up workday Saturday 10-10 is worked."""
    remind = {"timer": {**BUSINESS, "calendar": "cn_workdays_2026_2027"}}
    flow = variant("timers", remind=remind)
    h = Harness()
    h.clock.now = datetime(2026, 9, 30, 16, 0, tzinfo=UTC)  # 10-01 00:00 in Shanghai
    inst = h.start(flow)
    h.fire(inst, "wait")
    # Thursday 10-08 09:00 + 2 h in Shanghai.
    assert h.timer(inst, "remind").due_at == datetime(2026, 10, 8, 3, 0, tzinfo=UTC)
    assert h.timer(inst, "escalate").due_at == h.clock.now + timedelta(hours=24)
    h.clock.now = datetime(2026, 10, 9, 16, 0, tzinfo=UTC)  # Saturday 10-10 00:00 in Shanghai
    inst = h.start(flow)
    h.fire(inst, "wait")
    assert h.timer(inst, "remind").due_at == datetime(2026, 10, 10, 3, 0, tzinfo=UTC)


def test_the_calendars_of_an_instance_are_its_callers() -> None:

    night = parse_calendar(
        {
            "key": "nights",
            "timezone": "UTC",
            "weekly": {str(d): [["22:00", "24:00"]] for d in range(7)},
        }
    )
    asked: list[str | None] = []

    def calendars(name: str | None):
        asked.append(name)
        return night

    h = Harness()
    h.clock.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    inst = h.runner.engine.start(variant("timers", wait={"timer": BUSINESS}), calendars=calendars)
    assert asked == [None]
    assert h.timer(inst, "wait").due_at == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def test_a_calendar_without_working_time_fails_the_instance() -> None:

    empty_soon = parse_calendar(
        {
            "key": "once",
            "timezone": "UTC",
            "workdays": [{"date": "2020-01-06", "hours": [["09:00", "10:00"]]}],
        }
    )
    h = Harness()
    inst = h.runner.engine.start(
        variant("timers", wait={"timer": BUSINESS}), calendars=lambda name: empty_soon
    )
    assert inst.status == "failed"
    assert inst.error is not None and inst.error["code"] == "calendar_error"
    assert inst.error["node"] == "wait"
