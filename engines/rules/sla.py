"""SLA policies: which records they cover, their targets, and how a record's SLA clock moves.

A policy covers the records of one form for which its ``condition`` holds (the first matching
policy of the app wins). Its targets — time to first response and to resolution — are given
per value of a priority field (``"*"`` for any other), in business time of a calendar
(:mod:`engines.rules.calendar`). The clock pauses while ``paused_when`` holds (waiting on the
customer) and stops when ``responded_when`` / ``resolved_when`` hold; reopening a resolved
record starts the resolution clock again where it stood. :func:`advance` is the whole
computation, pure: the runtime calls it on every write of a covered record and stores the
result (due times, warning times, met times), so that finding breaches is an indexed query.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engines.form.schema import KEY_PATTERN, Labels
from engines.logic import evaluate, truthy
from engines.rules.calendar import BusinessCalendar
from engines.rules.spec import Action, Logic


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Span(_Model):
    """A length of business time (targets) or wall-clock time (warnings)."""

    minutes: int = Field(default=0, ge=0, le=60 * 24 * 366)
    hours: int = Field(default=0, ge=0, le=24 * 366)

    @model_validator(mode="after")
    def _positive(self) -> Span:
        if self.delta < timedelta(minutes=1):
            raise ValueError("at least one minute")
        return self

    @property
    def delta(self) -> timedelta:
        return timedelta(hours=self.hours, minutes=self.minutes)


class Targets(_Model):
    first_response: Span | None = None
    resolution: Span | None = None


class SlaPolicy(_Model):
    key: str = Field(pattern=KEY_PATTERN)
    name: Labels = Field(default_factory=dict)
    form: str = Field(pattern=KEY_PATTERN)
    condition: Logic = None
    #: A calendar of the app (its ``calendars``) or a shipped one
    #: (``engines.rules.calendar.shipped_calendars()``).
    calendar: str = "standard_weekdays"
    priority_field: str | None = Field(default=None, pattern=KEY_PATTERN)
    #: Priority value → targets; ``"*"``: every other value (and no priority).
    targets: dict[str, Targets] = Field(min_length=1)
    responded_when: Logic = None
    resolved_when: Logic
    paused_when: Logic = None
    #: Warn this long (wall clock) before a target is due.
    warn_before: Span | None = None
    on_warning: list[Action] = Field(default_factory=list, max_length=20)
    on_breach: list[Action] = Field(default_factory=list, max_length=20)

    def targets_for(self, record: dict[str, Any]) -> Targets | None:
        priority = record.get(self.priority_field) if self.priority_field else None
        found = self.targets.get(str(priority)) if priority is not None else None
        return found or self.targets.get("*")

    def covers(self, data: dict[str, Any]) -> bool:
        return self.condition is None or truthy(evaluate(self.condition, data))


@dataclass(frozen=True)
class SlaClock:
    """Where one record's SLA stands (what the runtime stores, one row per record)."""

    policy: str
    started_at: datetime
    #: Business time spent paused so far (not counting a pause still running).
    paused: timedelta = timedelta(0)
    paused_since: datetime | None = None
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    response_warn_at: datetime | None = None
    resolution_warn_at: datetime | None = None


def advance(
    policy: SlaPolicy,
    calendar: BusinessCalendar,
    clock: SlaClock | None,
    data: dict[str, Any],
    started_at: datetime,
    now: datetime,
) -> SlaClock | None:
    """The clock after a write at ``now`` (``data``: ``{"record", "changes", "event"}``);
    None when the record has no target under this policy (e.g. a priority without one)."""
    targets = policy.targets_for(data["record"])
    if targets is None:
        return None
    if clock is None or clock.policy != policy.key:
        clock = SlaClock(policy.key, started_at)
    paused = policy.paused_when is not None and truthy(evaluate(policy.paused_when, data))
    resolved = truthy(evaluate(policy.resolved_when, data))
    if resolved:
        paused = False
    if paused and clock.paused_since is None:
        clock = replace(clock, paused_since=now)
    elif not paused and clock.paused_since is not None:
        spent = calendar.business_between(clock.paused_since, now)
        clock = replace(clock, paused=clock.paused + spent, paused_since=None)
    responded = policy.responded_when is not None and truthy(evaluate(policy.responded_when, data))
    if clock.responded_at is None and (responded or resolved):
        clock = replace(clock, responded_at=now)
    clock = replace(clock, resolved_at=(clock.resolved_at or now) if resolved else None)

    def due(target: Span | None, met: datetime | None) -> tuple[datetime | None, datetime | None]:
        if target is None or met is not None or clock.paused_since is not None:
            return None, None  # met, or the clock stands still while paused
        at = calendar.add_business(clock.started_at, target.delta + clock.paused)
        warn = at - policy.warn_before.delta if policy.warn_before else None
        return at, warn

    response_due, response_warn = due(targets.first_response, clock.responded_at)
    resolution_due, resolution_warn = due(targets.resolution, clock.resolved_at)
    return replace(
        clock,
        response_due_at=response_due,
        response_warn_at=response_warn,
        resolution_due_at=resolution_due,
        resolution_warn_at=resolution_warn,
    )
