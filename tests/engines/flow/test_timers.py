"""Intermediate timers and boundary timers (interrupting and not)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
