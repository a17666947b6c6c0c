"""Hypothesis strategies for flows whose references hold (edges and boundary timers name
nodes of the flow, ids are unique): the flows a round trip must give back unchanged."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from engines.flow.model import Flow

IDS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,12}", fullmatch=True)
KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
# Any text, including characters XML cannot carry and lone surrogates.
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
LABELS = st.dictionaries(st.sampled_from(["en", "zh-CN"]), TEXT, max_size=2)
NUMBERS = st.floats(allow_nan=False, allow_infinity=False, width=64) | st.integers(-500, 3000)
SCALARS = st.none() | st.booleans() | st.integers() | NUMBERS | TEXT
RULES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=2),
    max_leaves=6,
)
NON_NULL_RULES = RULES.filter(lambda r: r is not None)
DURATIONS = st.sampled_from(["PT24H", "P1D", "PT90S", "P2DT4H", "PT1.5S", "PT0S"])
LAYOUTS = st.none() | st.builds(
    dict, x=NUMBERS, y=NUMBERS, width=st.floats(1, 500), height=st.floats(1, 500)
)
POINTS = st.lists(st.builds(dict, x=NUMBERS, y=NUMBERS), max_size=4)

ASSIGNEES = st.one_of(
    st.builds(dict, kind=st.sampled_from(["user", "role", "group", "field"]), key=KEYS),
    st.builds(dict, kind=st.just("department"), key=KEYS, include_children=st.booleans()),
    st.builds(dict, kind=st.just("department_head"), key=st.none() | KEYS, up=st.integers(0, 10)),
    st.builds(dict, kind=st.just("rule"), rule=NON_NULL_RULES),
    st.builds(dict, kind=st.just("starter")),
)
COUNTERSIGNS = st.one_of(
    st.builds(dict, mode=st.sampled_from(["all", "any"]), sequential=st.booleans()),
    st.builds(
        dict,
        mode=st.just("n_of_m"),
        n=st.integers(1, 9),
        sequential=st.booleans(),
        allow_add_signer=st.booleans(),
    ),
)
TIMERS = (
    st.builds(dict, duration=DURATIONS)
    | st.builds(dict, at=NON_NULL_RULES)
    | st.builds(dict, duration=DURATIONS, business_hours=st.just(True), calendar=st.none() | KEYS)
)
VALUES = st.dictionaries(KEYS, RULES, max_size=2)
ACTIONS = st.one_of(
    st.builds(
        dict,
        kind=st.just("set_fields"),
        values=st.dictionaries(KEYS, RULES, min_size=1, max_size=2),
    ),
    st.builds(
        dict,
        kind=st.just("create_record"),
        form=KEYS,
        values=VALUES,
        result=st.none() | KEYS,
    ),
    st.builds(
        dict,
        kind=st.just("send_mail"),
        to=NON_NULL_RULES,
        subject=TEXT.filter(bool),
        body=TEXT,
    ),
    st.builds(
        dict,
        kind=st.just("webhook"),
        url=st.sampled_from(["https://example.com/h?a=1&b=<2>", "http://x"]),
        method=st.sampled_from(["POST", "PUT", "PATCH", "GET", "DELETE"]),
        headers=st.dictionaries(TEXT, TEXT, max_size=2),
        body=RULES,
        result=st.none() | KEYS,
    ),
)


def _props(kind: str, others: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """The type-specific properties of a node; ``others`` are ids of non-boundary nodes."""
    if kind == "end":
        return st.builds(dict, terminate=st.booleans())
    if kind == "user_task":
        return st.builds(
            dict,
            assignee=ASSIGNEES,
            fallback=st.none() | ASSIGNEES,
            countersign=st.none() | COUNTERSIGNS,
            fields=st.dictionaries(
                TEXT, st.sampled_from(["editable", "required", "readonly", "hidden"]), max_size=2
            ),
            due=st.none() | DURATIONS,
            cc=st.lists(ASSIGNEES, max_size=2),
            return_to=st.lists(st.sampled_from(others) if others else IDS, max_size=2),
            on_reject=st.sampled_from(["continue", "end"]),
        )
    if kind == "script":
        return st.builds(dict, assign=VALUES)
    if kind == "service_task":
        return st.builds(dict, action=ACTIONS, max_attempts=st.integers(1, 50))
    if kind in {"exclusive_gateway", "inclusive_gateway"}:
        return st.builds(dict, default=st.none() | IDS)
    if kind == "timer":
        return st.builds(dict, timer=TIMERS)
    if kind == "boundary_timer":
        return st.builds(
            dict, attached_to=st.sampled_from(others), timer=TIMERS, interrupting=st.booleans()
        )
    if kind == "call_activity":
        return st.builds(dict, flow=KEYS, inputs=VALUES, outputs=VALUES)
    return st.just({})


KINDS = [
    "start",
    "end",
    "user_task",
    "script",
    "service_task",
    "exclusive_gateway",
    "parallel_gateway",
    "inclusive_gateway",
    "timer",
    "call_activity",
]


@st.composite
def flows(draw: st.DrawFn) -> Flow:
    ids = draw(st.lists(IDS, min_size=1, max_size=14, unique=True))
    node_count = draw(st.integers(1, min(8, len(ids))))
    node_ids, edge_ids = ids[:node_count], ids[node_count:]
    nodes = []
    for index, node_id in enumerate(node_ids):
        others = node_ids[:index]
        kind = draw(st.sampled_from(KINDS + (["boundary_timer"] if others else [])))
        hosts = [n["id"] for n in nodes if n["type"] != "boundary_timer"]
        if kind == "boundary_timer" and not hosts:
            kind = "user_task"
        props = draw(_props(kind, hosts if kind == "boundary_timer" else node_ids))
        nodes.append(
            {"id": node_id, "type": kind, "name": draw(LABELS), "layout": draw(LAYOUTS), **props}
        )
    edges = [
        {
            "id": edge_id,
            "source": draw(st.sampled_from(node_ids)),
            "target": draw(st.sampled_from(node_ids)),
            "name": draw(LABELS),
            "condition": draw(RULES),
            "waypoints": draw(POINTS),
        }
        for edge_id in edge_ids
    ]
    triggers = draw(
        st.lists(
            st.builds(dict, on=st.sampled_from(["created", "updated"]), condition=RULES)
            | st.builds(dict, on=st.just("field_changed"), field=KEYS, to=RULES, condition=RULES),
            max_size=2,
        )
    )
    return Flow.model_validate(
        {
            "key": draw(KEYS),
            "name": draw(LABELS),
            "form": draw(st.none() | KEYS),
            "triggers": triggers,
            "nodes": nodes,
            "edges": edges,
            "fallback": draw(st.none() | ASSIGNEES),
            "step_limit": draw(st.integers(10, 1_000_000)),
        }
    )
