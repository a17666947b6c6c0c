"""The rule model: trigger → condition → ordered actions (DESIGN §6).

A rule belongs to an app and watches one form. Its condition and every computed value are
JsonLogic over ``{"record": {...}, "changes": {field: [from, to]}, "event": {...}}``; text
that people read (comments, notifications, mail) is a sandboxed Jinja2 template over the same
data. Actions run in order: local ones (set fields, assign, comment, notify, create a record,
start a flow) in the triggering write's transaction, external ones (mail, webhook) as jobs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engines.form.schema import KEY_PATTERN, Labels
from engines.rules.cron import CronExpression

CURRENT_SCHEMA_VERSION: Literal[1] = 1

#: A JsonLogic rule (validated against the form when the app is checked).
Logic = Any


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- triggers ----------------------------------------------------------------------------------


class RecordTrigger(_Model):
    """A record of the rule's form was created, updated or deleted."""

    on: Literal["created", "updated", "deleted"]


class FieldChanged(_Model):
    """A field changed (on create: from nothing), optionally ``from`` one value ``to`` another."""

    on: Literal["field_changed"]
    field: str = Field(pattern=KEY_PATTERN)
    from_: Any = Field(default=None, alias="from")
    to: Any = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Delay(_Model):
    """A wall-clock delay (``minutes``/``hours``/``days``) or one in business hours of the
    trigger's calendar (``business_hours``), not both."""

    minutes: int = Field(default=0, ge=0, le=60 * 24 * 366)
    hours: int = Field(default=0, ge=0, le=24 * 366)
    days: int = Field(default=0, ge=0, le=3660)
    business_hours: int = Field(default=0, ge=0, le=24 * 366)

    @model_validator(mode="after")
    def _positive(self) -> Delay:
        if self.business_hours and self.total_minutes:
            raise ValueError("a delay is in wall-clock time or in business hours, not both")
        if self.total_minutes < 1 and not self.business_hours:
            raise ValueError("a delay is at least one minute")
        return self

    @property
    def total_minutes(self) -> int:
        """The wall-clock part (0 for a business-hours delay)."""
        return self.minutes + 60 * self.hours + 1440 * self.days

    @property
    def at_least(self) -> timedelta:
        """No less wall-clock time passes (business time never runs faster than the clock)."""
        return timedelta(minutes=self.total_minutes, hours=self.business_hours)


class TimeTrigger(_Model):
    """``after`` the date-time in ``field`` (``created_at``, ``updated_at`` or a datetime
    field), while the rule's condition holds: found by a periodic set-based scan, and fired
    once per record and value of ``field`` (a new value starts a new period). "8 business
    hours after" counts in ``calendar``."""

    on: Literal["time"]
    field: str = Field(pattern=KEY_PATTERN)
    after: Delay
    #: The calendar of a business-hours delay: the app's own or a shipped one.
    calendar: str = Field(default="standard_weekdays", pattern=KEY_PATTERN)


class ScheduleTrigger(_Model):
    """On a cron schedule (five fields, in ``timezone`` or the organisation's): at each
    occurrence the rule fires once on every record its condition holds for ("every weekday
    at 09:00, remind the assignee of each pending ticket"). An occurrence missed while no
    worker ran is caught up within a day."""

    on: Literal["schedule"]
    cron: CronExpression
    timezone: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _known_zone(self) -> ScheduleTrigger:
        if self.timezone is not None:
            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        return self


class FlowEvent(_Model):
    """Something happened in a flow running on a record of the rule's form: a task was
    created, completed, or became overdue (past its due time while still open); ``flow``
    and ``node`` narrow it. Conditions read the record and ``event.flow`` (``key``,
    ``event``, ``node``, ``task_id``, ``assignee``)."""

    on: Literal["flow_event"]
    event: Literal["task_created", "task_completed", "task_overdue"]
    flow: str | None = Field(default=None, pattern=KEY_PATTERN)
    node: str | None = Field(default=None, max_length=100)


Trigger = Annotated[
    RecordTrigger | FieldChanged | TimeTrigger | ScheduleTrigger | FlowEvent,
    Field(discriminator="on"),
]

#: Triggers found by the periodic scan rather than by record events.
SCANNED = ("time", "schedule")


# --- actions -----------------------------------------------------------------------------------


class SetFields(_Model):
    """Set fields of the triggering record: field key → JsonLogic value."""

    type: Literal["set_fields"]
    values: dict[str, Logic] = Field(min_length=1)


class GroupPick(_Model):
    """A member of a user group: the next one in turn, or the one with the fewest open
    records (``open``: JsonLogic over the form's fields that says which records count).

    ``per`` picks the group by the record's value of that field (a select, text or user
    field): ``groups`` maps a value to a group key, and ``group`` serves every other value
    and a mapped group that does not exist or has no active member (the supervisors of the
    record's team: ``{"group": "supervisors", "per": "team", "groups": {"finance":
    "finance_leads"}}``)."""

    group: str = Field(pattern=KEY_PATTERN)
    strategy: Literal["round_robin", "least_open"] = "round_robin"
    open: Logic = None
    per: str | None = Field(default=None, pattern=KEY_PATTERN)
    groups: dict[str, Annotated[str, Field(pattern=KEY_PATTERN)]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _mapping(self) -> GroupPick:
        if bool(self.per) != bool(self.groups):
            raise ValueError("per and groups go together: a field and its value → group map")
        return self

    def group_for(self, record: dict[str, Any]) -> str:
        """The group to pick from for ``record``."""
        if self.per is None:
            return self.group
        value = record.get(self.per)
        return self.groups.get(str(value), self.group) if value is not None else self.group


class KeywordRoute(_Model):
    """Records whose text mentions one of ``words`` go to ``user`` or to a member of
    ``group``."""

    words: list[str] = Field(min_length=1)
    user: str | None = None
    group: GroupPick | None = None

    @model_validator(mode="after")
    def _one_target(self) -> KeywordRoute:
        if (self.user is None) == (self.group is None):
            raise ValueError("a keyword route names a user or a group")
        return self


class Assign(_Model):
    """Set the user field ``field`` to: a named user, a member of a group (round robin or
    least open), the target of the first keyword route that matches, or the user a JsonLogic
    rule returns (a username or user id). Exactly one of ``user``, ``group``, ``keywords``,
    ``rule``."""

    type: Literal["assign"]
    field: str = Field(pattern=KEY_PATTERN)
    user: str | None = None
    group: GroupPick | None = None
    keywords: list[KeywordRoute] | None = None
    #: Fields searched for keywords (default: every text field of the form).
    search: list[str] | None = None
    rule: Logic = None
    #: Keep an assignee the record already has.
    keep_existing: bool = False

    @model_validator(mode="after")
    def _one_way(self) -> Assign:
        given = [n for n in ("user", "group", "keywords", "rule") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("assign takes exactly one of user, group, keywords or rule")
        return self


class Comment(_Model):
    """Add a comment (``internal``: an internal note) to the record; ``body`` a template."""

    type: Literal["comment"]
    body: str = Field(min_length=1, max_length=20_000)
    internal: bool = True


class Notify(_Model):
    """An in-app notification to users: usernames, and/or the user ids a rule returns
    (e.g. ``{"var": "record.assignee"}``), and/or a group's members, and/or the heads of the
    record's department (``department_head``)."""

    type: Literal["notify"]
    users: list[str] = Field(default_factory=list)
    rule: Logic = None
    group: str | None = Field(default=None, pattern=KEY_PATTERN)
    department_head: bool = False
    title: str = Field(min_length=1, max_length=500)
    body: str = Field(default="", max_length=5000)

    @model_validator(mode="after")
    def _someone(self) -> Notify:
        if not (self.users or self.rule is not None or self.group or self.department_head):
            raise ValueError("notify names users, a rule, a group or the department head")
        return self


class SendMail(_Model):
    """Mail through the configured SMTP server, as a job (sent once): ``to`` is JsonLogic
    giving an address or a list of them; subject and body are templates."""

    type: Literal["send_mail"]
    to: Logic
    subject: str = Field(min_length=1, max_length=1000)
    body: str = Field(min_length=1, max_length=100_000)


class CallWebhook(_Model):
    """An HTTP call as a job (retried with backoff), signed and checked against the egress
    policy like every webhook: the body is JsonLogic (default: the event and the record)."""

    type: Literal["webhook"]
    url: str = Field(min_length=1, max_length=2000)
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: Logic = None
    #: The signing secret's name in ``TANGRAM_WEBHOOK_SECRETS`` (default: the default secret).
    secret: str | None = Field(default=None, pattern=KEY_PATTERN)


class StartFlow(_Model):
    """Start a flow of the app on the triggering record."""

    type: Literal["start_flow"]
    flow: str = Field(pattern=KEY_PATTERN)
    variables: dict[str, Logic] = Field(default_factory=dict)


class CreateRecord(_Model):
    """Create a record in a form of the app: field key → JsonLogic value. The new record
    belongs to the department and owner of the record that fired the rule (so whoever sees
    that department's records sees it too), unless ``department`` / ``owner`` (JsonLogic: a
    department id / a user id, null for none) say otherwise."""

    type: Literal["create_record"]
    form: str = Field(pattern=KEY_PATTERN)
    values: dict[str, Logic] = Field(default_factory=dict)
    department: Logic = {"var": "record.department_id"}
    owner: Logic = {"var": "record.owner_id"}


class UpdateRelated(_Model):
    """Set fields of the record the relation field ``relation`` points at (a ticket's, from
    one of its communications): field key → JsonLogic value, as in ``set_fields``. Values and
    ``condition`` read ``related`` (the target's current values) beside ``record``,
    ``changes`` and ``event``; when the condition is false, or the relation is empty, the
    action does nothing. Written as the system (history source ``rule``) through the record
    writer, so the target's own rules fire on the change, one level deeper."""

    type: Literal["update_related"]
    relation: str = Field(pattern=KEY_PATTERN)
    values: dict[str, Logic] = Field(min_length=1)
    condition: Logic = None


Action = Annotated[
    SetFields
    | Assign
    | Comment
    | Notify
    | SendMail
    | CallWebhook
    | StartFlow
    | CreateRecord
    | UpdateRelated,
    Field(discriminator="type"),
]

#: Actions that leave the database: they run as jobs after the write commits.
EXTERNAL = ("send_mail", "webhook")


class Rule(_Model):
    schema_version: Literal[1] = CURRENT_SCHEMA_VERSION
    key: str = Field(pattern=KEY_PATTERN)
    name: Labels = Field(default_factory=dict)
    form: str = Field(pattern=KEY_PATTERN)
    #: The published state; administrators can switch a rule off and on at run time.
    enabled: bool = True
    trigger: Trigger
    condition: Logic = None
    actions: list[Action] = Field(min_length=1, max_length=50)
