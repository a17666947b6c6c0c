"""The token interpreter: start, user tasks, scripts, ends, history, cancel, step limit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engines.flow.engine import Engine, open_tasks_for
from engines.flow.errors import BadAction, FlowError, InstanceFinished, TaskNotOpen
from engines.flow.model import load
from engines.flow.state import Assignment, Resolution

from .support import USERS, Harness, actions, doc, flow, variant

TICKET = flow("ticket")


def test_ticket_normal_priority_runs_to_the_end() -> None:
    h = Harness()
    inst = h.start(TICKET, variables={"category": "billing"})
    assert inst.variables["priority"] == "normal"
    assert inst.position() == ["agent_handle"]
    task = h.task(inst, "agent_handle")
    assert task.assignee == USERS["agent"]
    h.complete(inst, "agent_handle")
    h.complete(inst, "resolve", variables={"satisfied": True})
    assert inst.status == "completed"
    assert inst.tokens == {}
    assert inst.open_tasks() == []


def test_ticket_high_priority_waits_for_both_branches() -> None:
    h = Harness()
    inst = h.start(TICKET, variables={"category": "outage"})
    assert inst.position() == ["manager_approve", "tech_review"]
    h.complete(inst, "manager_approve", "approve")
    assert inst.position() == ["par_join", "tech_review"]
    assert h.tasks(inst, "resolve") == []
    h.complete(inst, "tech_review")
    assert inst.position() == ["resolve"]
    # not satisfied: back to the agent (a loop through a user task is fine)
    h.complete(inst, "resolve", variables={"satisfied": False})
    assert inst.position() == ["agent_handle"]
    h.complete(inst, "agent_handle")
    h.complete(inst, "resolve", variables={"satisfied": True})
    assert inst.status == "completed"


def test_history_records_who_what_when_and_data() -> None:
    h = Harness()
    inst = h.start(TICKET, variables={"category": "billing"}, started_by=USERS["erin"])
    h.clock.advance(minutes=5)
    h.complete(inst, "agent_handle", comment="on it")
    h.complete(inst, "resolve", "approve", variables={"satisfied": True})
    assert actions(inst) == [
        "started",
        "task_created",
        "task_completed",
        "task_created",
        "approve",
        "completed",
    ]
    started, created, completed, *_ = inst.history
    assert started.actor == USERS["erin"]
    assert started.data == {"variables": {"category": "billing"}}
    assert created.node == "agent_handle" and created.data == {"assignee": USERS["agent"]}
    assert completed.actor == USERS["agent"]
    assert completed.data == {"comment": "on it"}
    assert completed.at > started.at
    approved = inst.history[4]
    assert approved.data == {"variables": {"satisfied": True}}
    assert approved.node == "resolve"
    assert inst.tasks[approved.task or 0].node == "resolve"


def test_completed_task_keeps_what_was_submitted() -> None:
    h = Harness()
    inst = h.start(TICKET, variables={"category": "billing"}, record={"subject": "x"})
    task = h.complete(
        inst,
        "agent_handle",
        variables={"note": 1},
        record_changes={"subject": "y"},
        comment="done",
    )
    assert task.status == "completed"
    assert task.outcome == "completed"
    assert task.completed_by == USERS["agent"]
    assert task.completed_at == h.clock.now
    assert task.comment == "done"
    assert task.data == {"variables": {"note": 1}, "record": {"subject": "y"}}
    assert inst.record == {"subject": "y"}
    assert inst.variables["note"] == 1


def test_completing_a_task_twice_raises_task_not_open() -> None:
    h = Harness()
    inst = h.start(TICKET, variables={"category": "billing"})
    task = h.complete(inst, "agent_handle")
    with pytest.raises(TaskNotOpen) as info:
        h.do(inst, "complete", task.seq, user=USERS["agent"])
    assert info.value.code == "task_not_open"
    assert info.value.data == {"status": "completed"}
    with pytest.raises(TaskNotOpen):
        h.do(inst, "complete", 999, user=1)


def test_unknown_action_is_refused_without_change() -> None:
    h = Harness()
    inst = h.start(TICKET, variables={"category": "billing"})
    task = h.task(inst, "agent_handle")
    with pytest.raises(BadAction) as info:
        h.do(inst, "complete", task.seq, user=1, action="shrug")
    assert info.value.code == "bad_action"
    assert task.status == "open"


def test_reject_continue_sets_outcome_for_a_gateway() -> None:
    h = Harness()
    inst = h.start(flow("approval"), record={"assignee": USERS["carol"]})
    h.complete(inst, "draft")
    manager = h.task(inst, "manager")
    assert manager.assignee is None
    assert manager.candidates == [["role", "managers"]]
    h.do(inst, "claim", manager.seq, USERS["dave"])
    h.complete(inst, "manager", "reject")
    assert inst.variables["outcome"] == "rejected"
    assert inst.position() == ["draft"]  # the default edge leads back
    h.complete(inst, "draft")
    h.do(inst, "claim", h.task(inst, "manager").seq, USERS["dave"])
    h.complete(inst, "manager", "approve")
    assert h.task(inst, "finance").assignee == USERS["carol"]
    h.complete(inst, "finance")
    assert inst.status == "completed"


def test_reject_end_rejects_the_instance() -> None:
    h = Harness()
    rejecting = variant("approval", manager={"on_reject": "end"})
    inst = h.start(rejecting, record={"assignee": USERS["carol"]})
    h.complete(inst, "draft")
    h.complete(inst, "manager", "reject", user=USERS["dave"])
    assert inst.status == "rejected"
    assert inst.finished
    assert inst.open_tasks() == []
    assert actions(inst)[-1] == "rejected"
    assert inst.history[-1].actor == USERS["dave"]
    assert inst.history[-1].node == "manager"


def test_terminate_end_ends_every_branch() -> None:
    h = Harness()
    inst = h.start(flow("terminate"))
    b = h.task(inst, "b")
    timer = h.timer(inst, "b_wait")
    h.complete(inst, "a")
    assert inst.status == "completed"
    assert b.status == "cancelled"
    assert timer.status == "cancelled"
    assert inst.tokens == {}
    assert actions(inst)[-1] == "terminated"


def test_plain_end_waits_for_the_other_branches() -> None:
    h = Harness()
    inst = h.start(flow("terminate"))
    h.complete(inst, "b")
    assert inst.status == "running"
    assert inst.position() == ["a"]
    h.complete(inst, "a")
    assert inst.status == "completed"


def test_cancel_instance() -> None:
    h = Harness()
    inst = h.start(TICKET, variables={"category": "outage"})
    tasks = inst.open_tasks()
    h.do(inst, "cancel", user=USERS["erin"], reason="duplicate")
    assert inst.status == "cancelled"
    assert all(t.status == "cancelled" for t in tasks)
    assert inst.history[-1].action == "cancelled"
    assert inst.history[-1].data == {"reason": "duplicate"}
    with pytest.raises(InstanceFinished):
        h.do(inst, "cancel", user=1)
    with pytest.raises(InstanceFinished):
        h.do(inst, "complete", tasks[0].seq, user=1)


def test_step_limit_stops_a_runaway_loop() -> None:
    h = Harness()
    inst = h.start(flow("loop"), variables={"limit": 10**9})
    assert inst.status == "failed"
    assert inst.error is not None
    assert inst.error["code"] == "step_limit"
    assert inst.error["node"] in {"inc", "gw"}
    assert actions(inst)[-1] == "failed"


def test_a_bounded_script_loop_completes() -> None:
    h = Harness()
    inst = h.start(flow("loop"), variables={"limit": 5})
    assert inst.status == "completed"
    assert inst.variables["n"] == 5


def test_a_failed_instance_can_be_cancelled() -> None:
    h = Harness()
    inst = h.start(flow("loop"), variables={"limit": 10**9})
    h.do(inst, "cancel", user=1)
    assert inst.status == "cancelled"
    assert inst.tokens == {}


def test_exclusive_gateway_without_path_fails_the_instance() -> None:
    document = doc("ticket")
    gateway = next(n for n in document["nodes"] if n["id"] == "gw_satisfied")
    gateway["default"] = None
    edge = next(e for e in document["edges"] if e["id"] == "f_satisfied")
    edge["condition"] = {"var": "satisfied"}
    edge_back = next(e for e in document["edges"] if e["id"] == "f_not_satisfied")
    edge_back["condition"] = {"==": [{"var": "satisfied"}, False]}
    h = Harness()
    inst = h.start(load(document), variables={"category": "billing"})
    h.complete(inst, "agent_handle")
    h.complete(inst, "resolve", variables={"satisfied": None})
    assert inst.status == "failed"
    assert inst.error == {
        "code": "no_path",
        "message": "no condition holds and the gateway has no default",
        "node": "gw_satisfied",
    }


def test_start_needs_a_start_event() -> None:
    document = doc("loop")
    document["nodes"] = [n for n in document["nodes"] if n["type"] != "start"]
    document["edges"] = [e for e in document["edges"] if e["source"] != "start"]
    with pytest.raises(FlowError) as info:
        Engine().start(load(document))
    assert info.value.code == "no_start"


def test_context_exposes_variables_record_starter_and_instance() -> None:
    h = Harness()
    inst = h.start(TICKET, variables={"category": "billing"}, record={"amount": 3})
    inst.id = 7
    context = Engine.context(inst)
    assert context["category"] == "billing"
    assert context["record"] == {"amount": 3}
    assert context["starter"] == USERS["erin"]
    assert context["instance"] == {"id": 7}


def test_claim_release_and_the_pool() -> None:
    h = Harness()
    inst = h.start(flow("approval"), record={"assignee": USERS["carol"]})
    h.complete(inst, "draft")
    task = h.task(inst, "manager")
    h.do(inst, "claim", task.seq, USERS["dave"])
    assert task.assignee == USERS["dave"]
    assert list(open_tasks_for(inst, USERS["dave"])) == [task]
    with pytest.raises(FlowError) as info:
        h.do(inst, "claim", task.seq, USERS["bob"])
    assert info.value.code == "task_taken"
    h.do(inst, "release", task.seq, USERS["dave"])
    assert task.assignee is None
    assert actions(inst)[-2:] == ["claimed", "released"]


def test_release_needs_a_pooled_task() -> None:
    h = Harness()
    inst = h.start(TICKET, variables={"category": "billing"})
    with pytest.raises(BadAction) as info:
        h.do(inst, "release", h.task(inst, "agent_handle").seq, USERS["agent"])
    assert info.value.code == "not_pooled"


def test_transfer_hands_the_task_over_and_notifies() -> None:
    h = Harness()
    inst = h.start(TICKET, variables={"category": "billing"})
    task = h.task(inst, "agent_handle")
    h.do(inst, "transfer", task.seq, USERS["agent"], USERS["bob"], comment="holiday")
    assert task.assignee == USERS["bob"]
    event = inst.history[-1]
    assert event.action == "transferred"
    assert event.data == {"from": USERS["agent"], "to": USERS["bob"], "comment": "holiday"}
    notify = h.effects("notify")[-1]
    assert notify.data == {"task": task.seq, "users": [USERS["bob"]], "why": "transferred"}


def test_assign_ignores_stale_and_duplicate_assignments() -> None:
    engine = Engine()
    inst = engine.start(TICKET, variables={"category": "billing"})
    (assignment,) = inst.pending
    inst.pending.clear()
    tasks = engine.assign(inst, assignment, Resolution(users=[1]))
    assert len(tasks) == 1
    assert engine.assign(inst, assignment, Resolution(users=[1])) == []
    assert engine.assign(inst, Assignment(999, "agent_handle"), Resolution(users=[1])) == []
    assert len(inst.open_tasks()) == 1


def test_assign_to_nobody_goes_to_the_admins() -> None:
    engine = Engine()
    inst = engine.start(TICKET, variables={"category": "billing"})
    (task,) = engine.assign(inst, inst.pending.pop(), Resolution())
    assert task.assignee is None
    assert task.candidates == [["admins", ""]]


def test_several_users_share_one_task_to_claim() -> None:
    engine = Engine()
    inst = engine.start(TICKET, variables={"category": "billing"})
    (task,) = engine.assign(inst, inst.pending.pop(), Resolution(users=[1, 2, 1]))
    assert task.assignee is None
    assert task.candidates == [["user", 1], ["user", 2]]


def test_cc_and_assigned_notifications() -> None:
    h = Harness()
    cc = variant("approval", draft={"cc": [{"kind": "user", "key": "bob"}]})
    inst = h.start(cc, record={"assignee": USERS["carol"]})
    task = h.task(inst, "draft")
    notes = [e.data for e in h.effects("notify") if e.data.get("task") == task.seq]
    assert notes == [
        {"task": task.seq, "users": [USERS["erin"]], "candidates": [], "why": "assigned"},
        {
            "task": task.seq,
            "cc": [
                {"kind": "user", "key": "bob", "rule": None, "include_children": False, "up": 0}
            ],
            "why": "cc",
        },
    ]


def test_due_sets_the_deadline_of_the_task() -> None:
    h = Harness()
    inst = h.start(flow("timers"))
    h.fire(inst, "wait")
    task = h.task(inst, "task")
    assert task.due_at is not None
    assert task.due_at - task.created_at == timedelta(days=1)
