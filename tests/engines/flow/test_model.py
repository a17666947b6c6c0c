"""The pydantic flow model: the shape of each node, edge and setting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from engines.flow.model import (
    Assignee,
    Countersign,
    Flow,
    Timer,
    Trigger,
    load,
    parse_duration,
)

from .support import doc, node_of


def errors(document: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as info:
        load(document)
    return info.value.errors()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT24H", timedelta(hours=24)),
        ("P1D", timedelta(days=1)),
        ("P2DT4H", timedelta(days=2, hours=4)),
        ("PT90S", timedelta(seconds=90)),
        ("PT1.5S", timedelta(seconds=1.5)),
        ("PT1H30M", timedelta(hours=1, minutes=30)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P1DT", "1 day", "P1M", "P1Y", "PT-1H", "p1d", "P99999999999D"]
)
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer"):
        parse_duration(text)


def test_bad_duration_in_a_timer_or_due_is_a_validation_error() -> None:
    document = doc("timers")
    node_of(document, "wait")["timer"] = {"duration": "1 hour"}
    (error,) = errors(document)
    assert error["loc"][:2] == ("nodes", 1)
    assert "ISO 8601" in error["msg"]
    document = doc("timers")
    node_of(document, "task")["due"] = "P1M"
    (error,) = errors(document)
    assert error["loc"][-1] == "due"


def test_timer_needs_exactly_one_of_duration_and_at() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        Timer()
    with pytest.raises(ValidationError, match="exactly one"):
        Timer(duration="PT1H", at={"var": "x"})
    assert Timer(at={"var": "record.due_at"}).duration is None


@pytest.mark.parametrize(
    "settings",
    [
        {"mode": "n_of_m"},
        {"mode": "all", "n": 2},
        {"mode": "any", "n": 1},
        {"mode": "n_of_m", "n": 0},
    ],
)
def test_countersign_n_only_with_n_of_m(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Countersign(**settings)


def test_countersign_defaults() -> None:
    sign = Countersign()
    assert (sign.mode, sign.n, sign.sequential, sign.allow_add_signer) == ("all", None, False, True)
    assert Countersign(mode="n_of_m", n=2).n == 2


@pytest.mark.parametrize(
    ("assignee", "message"),
    [
        ({"kind": "user"}, "needs a key"),
        ({"kind": "role"}, "needs a key"),
        ({"kind": "field"}, "needs a key"),
        ({"kind": "starter", "key": "x"}, "takes no key"),
        ({"kind": "rule"}, "needs a rule"),
        ({"kind": "user", "key": "a", "rule": {"var": "x"}}, "needs a rule"),
        ({"kind": "role", "key": "r", "include_children": True}, "include_children"),
        ({"kind": "department", "key": "d", "up": 1}, "up applies"),
        ({"kind": "department_head", "up": 11}, "less than or equal"),
        ({"kind": "user", "key": ""}, "at least 1"),
        ({"kind": "robot", "key": "x"}, "Input should be"),
    ],
)
def test_assignee_shapes(assignee: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Assignee(**assignee)


def test_good_assignees() -> None:
    Assignee(kind="department_head", key="team", up=1)
    Assignee(kind="department", key="sales", include_children=True)
    Assignee(kind="rule", rule={"var": "who"})
    Assignee(kind="starter")


def test_trigger_shapes() -> None:
    with pytest.raises(ValidationError, match="field is required"):
        Trigger(on="field_changed")
    with pytest.raises(ValidationError, match="field is required"):
        Trigger(on="created", field="status")
    with pytest.raises(ValidationError, match="to applies"):
        Trigger(on="updated", to="done")
    Trigger(on="field_changed", field="status", to="done")


def test_unknown_node_type_and_extra_keys_are_refused() -> None:
    document = doc("loop")
    document["nodes"].append({"id": "x", "type": "teleport"})
    assert errors(document)[0]["type"] == "union_tag_invalid"
    document = doc("loop")
    node_of(document, "init")["colour"] = "red"
    assert errors(document)[0]["type"] == "extra_forbidden"


@pytest.mark.parametrize("bad", ["1abc", "has space", "", "x" * 101, "<x>"])
def test_node_ids_are_xml_ids(bad: str) -> None:
    document = doc("loop")
    node_of(document, "init")["id"] = bad
    assert errors(document)[0]["loc"][-1] == "id"


def test_script_variable_names() -> None:
    document = doc("loop")
    node_of(document, "init")["assign"] = {"Bad-Name": 1}
    assert "not a valid variable name" in errors(document)[0]["msg"]


def test_service_actions_are_checked() -> None:
    document = doc("service")
    node_of(document, "hook")["action"] = {"kind": "webhook", "url": ""}
    assert errors(document)  # (a URL's scheme and host are checked with the flow: test_check)
    node_of(document, "hook")["action"] = {"kind": "set_fields", "values": {}}
    assert errors(document)
    node_of(document, "hook")["action"] = {"kind": "send_mail", "to": "a@b.c", "subject": ""}
    assert errors(document)
    node_of(document, "hook")["action"] = {"kind": "launch"}
    assert errors(document)
    node_of(document, "hook")["max_attempts"] = 0
    node_of(document, "hook")["action"] = {"kind": "set_fields", "values": {"a": 1}}
    assert errors(document)[0]["loc"][-1] == "max_attempts"


@pytest.mark.parametrize("limit", [9, 1_000_001])
def test_step_limit_bounds(limit: int) -> None:
    document = doc("loop")
    document["step_limit"] = limit
    assert errors(document)[0]["loc"] == ("step_limit",)


def test_flows_are_immutable_and_round_trip() -> None:
    flow = load(doc("ticket"))
    with pytest.raises(ValidationError):
        flow.key = "other"  # type: ignore[misc]
    again = Flow.model_validate(flow.model_dump())
    assert again == flow
    assert flow.node("resolve").type == "user_task"
    assert flow.node("nope") is None
    assert flow.schema_version == 1


def test_business_hours_timers_take_a_duration_and_maybe_a_calendar() -> None:
    from engines.flow.model import Timer

    assert Timer(duration="PT8H", business_hours=True, calendar="cn_9x5").calendar == "cn_9x5"
    with pytest.raises(ValidationError, match="business_hours counts a duration"):
        Timer(at={"var": "record.due"}, business_hours=True)
    with pytest.raises(ValidationError, match="calendar applies to business_hours"):
        Timer(duration="PT8H", calendar="cn_9x5")
    with pytest.raises(ValidationError):
        Timer(duration="PT8H", business_hours=True, calendar="Not A Key")
