"""The flow graph model (DESIGN §4, §10.6): immutable pydantic node specs, edges and layout.

A flow is a directed graph of nodes joined by edges. Every node type is one pydantic class
with a ``type`` literal; :data:`Node` is their discriminated union. The model checks the
shape of each part (a countersign's N, a timer's duration); whole-graph rules (one start,
reachability, gateway conditions, references) are in :mod:`engines.flow.check`, which
returns every problem at once with the node or edge it concerns.

Conditions, assignment rules and computed values are JsonLogic over the flow's context:
flow variables at the top level, the record's fields under ``record``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engines.form.schema import KEY_PATTERN, Labels

CURRENT_SCHEMA_VERSION: Literal[1] = 1
#: Node and edge ids: letters, digits, ``_``, ``-`` and ``.`` (valid BPMN/XML ids).
ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$"
Rule = Any  # a JsonLogic rule, validated by engines.logic.iter_errors in check_flow

#: The longest duration accepted (a timer beyond it is a typo, and would overflow datetimes).
MAX_DURATION = timedelta(days=36_600)

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    """An ISO 8601 duration of days, hours, minutes and seconds (``P1D``, ``PT24H``, ``PT90S``).

    Months and years are refused: their length depends on the date they start from.
    """
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT24H or P2DT4H")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    try:
        value = timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])
    except OverflowError:
        value = MAX_DURATION * 2
    if value > MAX_DURATION:
        raise ValueError(f"{text!r} is longer than {MAX_DURATION.days} days")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Layout(_Model):
    """Where the designer draws a node (bpmndi shape bounds)."""

    x: float = 0
    y: float = 0
    width: float = 100
    height: float = 80


class Point(_Model):
    x: float
    y: float


# --- assignment ------------------------------------------------------------------------------

AssigneeKind = Literal[
    "user", "role", "group", "department", "department_head", "field", "rule", "starter"
]
#: Kinds whose members share one task that one of them claims (the others get one task each
#: only in a countersign, where every member is a signer).
POOL_KINDS = frozenset({"role", "group", "department"})


class Assignee(_Model):
    """Who works a task.

    - ``user``: ``key`` is a username;
    - ``role`` / ``group`` / ``department``: ``key`` is a role key, group key or department
      code; the task is offered to every member, one claims it (``include_children`` widens a
      department to its sub-departments);
    - ``department_head``: the head of the record's department, or of the department in the
      department field ``key``; ``up`` climbs that many levels first (1 = the parent's head);
    - ``field``: the user (or users) in the record's user field ``key``;
    - ``rule``: a JsonLogic ``rule`` returning a username or a list of usernames;
    - ``starter``: whoever started the instance.
    """

    kind: AssigneeKind
    key: str | None = Field(default=None, min_length=1, max_length=200)
    rule: Rule = None
    include_children: bool = False
    up: int = Field(default=0, ge=0, le=10)

    @model_validator(mode="after")
    def _shape(self) -> Assignee:
        needs_key = self.kind in {"user", "role", "group", "department", "field"}
        if needs_key and self.key is None:
            raise ValueError(f"a {self.kind!r} assignee needs a key")
        if self.kind in {"rule", "starter"} and self.key is not None:
            raise ValueError(f"a {self.kind!r} assignee takes no key")
        if (self.kind == "rule") != (self.rule is not None):
            raise ValueError("a 'rule' assignee needs a rule, and only it takes one")
        if self.include_children and self.kind != "department":
            raise ValueError("include_children applies to department assignees only")
        if self.up and self.kind != "department_head":
            raise ValueError("up applies to department_head assignees only")
        return self


class Countersign(_Model):
    """Multi-instance approval 会签: every resolved user is a signer with a task of their own.

    The signers are the people the node's assignee and ``also`` resolve to (``pools`` says
    whether a group signs as each of its members or once).
    ``all``: every signer must approve (one rejection decides); ``any``: one approval decides
    (all must reject to reject); ``n_of_m``: ``n`` approvals decide, and so do enough
    rejections that ``n`` can no longer be reached. The decision completes the node at once
    (early completion) and cancels the tasks still open. ``sequential`` signers get their task
    one after the other, in the order resolved.
    """

    mode: Literal["all", "any", "n_of_m"] = "all"
    n: int | None = Field(default=None, ge=1)
    sequential: bool = False
    #: Whether a task holder may add a signer 加签.
    allow_add_signer: bool = True
    #: More assignees who sign beside the node's own (warehouse *and* finance): the signers
    #: are everyone they all resolve to, in order; the fallbacks apply when none resolves.
    also: list[Assignee] = Field(default_factory=list, max_length=20)
    #: ``members``: every member of a role, group or department signs; ``one``: each role,
    #: group or department signs once, by the member who claims its task (one signer from
    #: the warehouse, one from finance).
    pools: Literal["members", "one"] = "members"

    @model_validator(mode="after")
    def _n_iff_n_of_m(self) -> Countersign:
        if (self.mode == "n_of_m") != (self.n is not None):
            raise ValueError("n is required for mode 'n_of_m', and only for it")
        return self


FieldRight = Literal["editable", "required", "readonly", "hidden"]


class Timer(_Model):
    """When a timer fires: after ``duration`` (ISO 8601, e.g. PT24H), or at the datetime the
    JsonLogic rule ``at`` returns (e.g. a record field).

    With ``business_hours`` the duration counts working time only, on the business calendar
    ``calendar`` (the app's own or a shipped one, :mod:`engines.rules.calendar`: weekly hours,
    holidays, make-up workdays); without a calendar, the app's default (see
    :data:`DEFAULT_CALENDAR`). ``PT2H`` started Friday 17:00 on a 9-to-5 calendar fires Monday
    11:00."""

    duration: str | None = None
    at: Rule = None
    business_hours: bool = False
    calendar: str | None = Field(default=None, pattern=KEY_PATTERN)

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @model_validator(mode="after")
    def _one(self) -> Timer:
        if (self.duration is None) == (self.at is None):
            raise ValueError("give exactly one of duration and at")
        if self.business_hours and self.duration is None:
            raise ValueError("business_hours counts a duration; a timer with at takes none")
        if self.calendar is not None and not self.business_hours:
            raise ValueError("calendar applies to business_hours timers only")
        return self


#: The calendar of a business-hours timer that names none: the app's first own calendar, else
#: this shipped one (Monday to Friday 09:00-17:00) in the organisation's time zone.
DEFAULT_CALENDAR = "standard_weekdays"


# --- nodes -----------------------------------------------------------------------------------


class _Node(_Model):
    id: str = Field(pattern=ID_PATTERN)
    name: Labels = Field(default_factory=dict)
    layout: Layout | None = None


class StartEvent(_Node):
    type: Literal["start"] = "start"


class EndEvent(_Node):
    type: Literal["end"] = "end"
    #: A terminate end ends the whole instance, cancelling every other branch.
    terminate: bool = False


class UserTask(_Node):
    type: Literal["user_task"] = "user_task"
    assignee: Assignee
    #: Used when ``assignee`` resolves to nobody (then the flow's fallback, then admins).
    fallback: Assignee | None = None
    countersign: Countersign | None = None
    #: Record field key → right at this step; fields not listed are read-only.
    fields: dict[str, FieldRight] = Field(default_factory=dict)
    #: Time allowed for the task; past it the task is overdue.
    due: str | None = None
    #: Users told about the task 抄送 (they can read it, not work it).
    cc: list[Assignee] = Field(default_factory=list)
    #: Nodes a task holder may return the instance to 退回 (empty: any user task already
    #: passed in this instance).
    return_to: list[str] = Field(default_factory=list)
    #: On rejection: ``continue`` follows the outgoing edge (a gateway can test
    #: ``outcome``), ``end`` ends the instance as rejected.
    on_reject: Literal["continue", "end"] = "continue"

    @field_validator("due")
    @classmethod
    def _due(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class ScriptTask(_Node):
    """Computes flow variables in the transition itself (no job): ``variable → JsonLogic``."""

    type: Literal["script"] = "script"
    assign: dict[str, Rule] = Field(default_factory=dict)

    @field_validator("assign")
    @classmethod
    def _names(cls, value: dict[str, Rule]) -> dict[str, Rule]:
        for name in value:
            if not re.match(KEY_PATTERN, name):
                raise ValueError(f"{name!r} is not a valid variable name")
        return value


class SetFields(_Model):
    kind: Literal["set_fields"] = "set_fields"
    #: Record field key → JsonLogic value.
    values: dict[str, Rule] = Field(min_length=1)


class CreateRecord(_Model):
    kind: Literal["create_record"] = "create_record"
    form: str = Field(pattern=KEY_PATTERN)
    values: dict[str, Rule] = Field(default_factory=dict)
    #: Flow variable that receives the new record's id.
    result: str | None = Field(default=None, pattern=KEY_PATTERN)


class SendMail(_Model):
    kind: Literal["send_mail"] = "send_mail"
    #: JsonLogic returning an address or a list of addresses.
    to: Rule
    #: Jinja2 templates over the flow context (sandboxed).
    subject: str = Field(min_length=1, max_length=500)
    body: str = Field(default="", max_length=100_000)


class Webhook(_Model):
    kind: Literal["webhook"] = "webhook"
    #: An http(s) URL; checked at publish (``engines.urls``) and against the installation's
    #: egress policy, and again when called.
    url: str = Field(min_length=1, max_length=2000)
    method: Literal["POST", "PUT", "PATCH", "GET", "DELETE"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    #: Name of the signing secret (``TANGRAM_WEBHOOK_SECRETS``); default: the installation's.
    secret: str | None = Field(default=None, pattern=KEY_PATTERN)
    #: JsonLogic returning the JSON body (default: the flow context).
    body: Rule = None
    #: Flow variable that receives the parsed response body.
    result: str | None = Field(default=None, pattern=KEY_PATTERN)


ServiceAction = Annotated[
    SetFields | CreateRecord | SendMail | Webhook, Field(discriminator="kind")
]


class ServiceTask(_Node):
    """An effect run as a job, with retries; the token waits until the job succeeds."""

    type: Literal["service_task"] = "service_task"
    action: ServiceAction
    max_attempts: int = Field(default=5, ge=1, le=50)


class ExclusiveGateway(_Node):
    type: Literal["exclusive_gateway"] = "exclusive_gateway"
    #: Edge taken when no condition holds.
    default: str | None = None


class ParallelGateway(_Node):
    type: Literal["parallel_gateway"] = "parallel_gateway"


class InclusiveGateway(_Node):
    type: Literal["inclusive_gateway"] = "inclusive_gateway"
    default: str | None = None


class TimerEvent(_Node):
    """An intermediate timer: the token waits until the timer fires."""

    type: Literal["timer"] = "timer"
    timer: Timer


class BoundaryTimer(_Node):
    """A timer on a task: when it fires, the token leaves by this node's outgoing edge —
    cancelling the task (interrupting) or beside it (non-interrupting, e.g. escalate)."""

    type: Literal["boundary_timer"] = "boundary_timer"
    attached_to: str = Field(pattern=ID_PATTERN)
    timer: Timer
    interrupting: bool = True


class CallActivity(_Node):
    """Starts another flow of the same app and waits for it to end."""

    type: Literal["call_activity"] = "call_activity"
    flow: str = Field(pattern=KEY_PATTERN)
    #: Child variable → JsonLogic over this flow's context.
    inputs: dict[str, Rule] = Field(default_factory=dict)
    #: This flow's variable → JsonLogic over the child's final context.
    outputs: dict[str, Rule] = Field(default_factory=dict)


Node = Annotated[
    StartEvent
    | EndEvent
    | UserTask
    | ScriptTask
    | ServiceTask
    | ExclusiveGateway
    | ParallelGateway
    | InclusiveGateway
    | TimerEvent
    | BoundaryTimer
    | CallActivity,
    Field(discriminator="type"),
]
GATEWAYS = frozenset({"exclusive_gateway", "parallel_gateway", "inclusive_gateway"})
#: Node types a boundary timer can be attached to.
ACTIVITIES = frozenset({"user_task", "service_task", "call_activity"})


class Edge(_Model):
    id: str = Field(pattern=ID_PATTERN)
    source: str
    target: str
    name: Labels = Field(default_factory=dict)
    condition: Rule = None
    #: bpmndi waypoints.
    waypoints: list[Point] = Field(default_factory=list)


# --- the flow --------------------------------------------------------------------------------


class Trigger(_Model):
    """When a flow starts by itself: a record of the flow's form is created, updated, or one of
    its fields changes (to ``to``, when given); ``condition`` narrows any of them."""

    on: Literal["created", "updated", "field_changed"]
    field: str | None = Field(default=None, pattern=KEY_PATTERN)
    to: Any = None
    condition: Rule = None

    @model_validator(mode="after")
    def _field_iff_changed(self) -> Trigger:
        if (self.on == "field_changed") != (self.field is not None):
            raise ValueError("field is required for 'field_changed' triggers, and only for them")
        if self.to is not None and self.on != "field_changed":
            raise ValueError("to applies to 'field_changed' triggers only")
        return self


class Flow(_Model):
    schema_version: Literal[1] = CURRENT_SCHEMA_VERSION
    key: str = Field(pattern=KEY_PATTERN)
    name: Labels = Field(default_factory=dict)
    #: The form whose records instances run against (None: variables only).
    form: str | None = Field(default=None, pattern=KEY_PATTERN)
    triggers: list[Trigger] = Field(default_factory=list)
    nodes: list[Node] = Field(default_factory=list)
    edges: list[Edge] = Field(default_factory=list)
    #: Used when a task's assignee (and its own fallback) resolves to nobody.
    fallback: Assignee | None = None
    #: Node executions without a wait in one transition before the instance fails.
    step_limit: int = Field(default=1000, ge=10, le=1_000_000)

    def node(self, node_id: str) -> Any:
        return next((n for n in self.nodes if n.id == node_id), None)


def load(document: dict[str, Any]) -> Flow:
    """Parse a stored flow (format 1 is the only one so far; upgrades go here as
    ``v1_to_v2(doc)``, DESIGN §10.7)."""
    return Flow.model_validate(document)
