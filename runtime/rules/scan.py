"""The periodic scan for time-triggered rules ("24 hours after ``created_at``, while the
ticket is not closed, escalate it") and scheduled ones ("every weekday at 09:00, remind the
assignee of each pending ticket": at each cron occurrence, in the organisation's time zone,
every record the condition holds for; marked per occurrence).

Every ``TANGRAM_RULE_SCAN_SECONDS`` a worker runs ``rules.scan``: for each published rule with
a time trigger, one set-based statement per batch finds the due records — ``field <= now −
delay``, the rule's condition compiled to SQL, and no mark of this rule for this record and
field value (``rule_marks``) — one statement per rule and pass. Each found record is marked and
fired in its batch's transaction (the mark first: two workers scanning at once fire it once), so a
record fires once per period; when the field moves on (a new ``due_at``), a new period begins.
Nothing is ever a Python loop over all rows: only due, unmarked records leave the database.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, literal, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql import Select

from engines.logic.sql import compile_condition
from engines.rules.cron import parse_cron
from engines.rules.match import event_data
from engines.rules.spec import Rule, ScheduleTrigger, TimeTrigger
from runtime.config import get_settings
from runtime.db import UTCDateTime, custom_plans, utcnow
from runtime.flows import definitions
from runtime.flows.records import form_handle, record_context
from runtime.jobs.context import JobContext
from runtime.jobs.registry import handlers
from runtime.jobs.worker import RULES_SCAN_JOB
from runtime.permissions.access import sql_fields
from runtime.records.forms import FormHandle
from runtime.records.writer import RecordEvent, commit_and_dispatch
from runtime.rules.flow_events import scan_overdue
from runtime.rules.models import RuleMark
from runtime.rules.service import mark, published_versions, rule_set, run_rule, switches
from runtime.rules.sla import calendar, escalate, refresh

log = logging.getLogger("tangram.rules")
BATCH = 500
#: How far back a schedule's missed occurrence is caught up.
CATCH_UP = timedelta(days=1)
#: Records one pass fires a rule on at most (the next pass goes on).
MAX_PER_PASS = 50_000
_marks = RuleMark.__table__


def record_vars(rule: Any) -> Any:
    """A rule over ``record.<field>`` as a rule over ``<field>`` (what the SQL compiler reads)."""
    if isinstance(rule, list):
        return [record_vars(item) for item in rule]
    if not isinstance(rule, dict):
        return rule
    out = {}
    for op, args in rule.items():
        if op == "var":
            name = args[0] if isinstance(args, list) and args else args
            if isinstance(name, str) and name.startswith("record."):
                name = name.removeprefix("record.")
                args = [name, *args[1:]] if isinstance(args, list) else name
            out[op] = args
        else:
            out[op] = record_vars(args)
    return out


def anchor_column(handle: FormHandle, trigger: TimeTrigger) -> Any:
    if trigger.field in ("created_at", "updated_at"):
        return handle.table.c[trigger.field]
    return handle.column(trigger.field)


def occurrence(trigger: ScheduleTrigger, now: datetime, time_zone: str) -> datetime | None:
    """The schedule's latest occurrence in the day up to ``now`` (None: none in that day)."""
    zone = trigger.timezone or time_zone
    times = list(parse_cron(trigger.cron).between(now - CATCH_UP, now, zone))
    return times[-1] if times else None


def due_statement(
    handle: FormHandle,
    app_id: int,
    rule: Rule,
    now: datetime,
    limit: int = MAX_PER_PASS,
    at: datetime | None = None,
) -> Select[Any]:
    """The records ``rule`` is due on (at most ``limit``, oldest ids first) with the period
    they fire for: a time trigger's field value (``field <= now - delay``, over the field's
    index), or a schedule's occurrence ``at`` (every record the condition holds for)."""
    trigger = rule.trigger
    table = handle.table
    where: list[Any] = [table.c.deleted_at.is_(None)]
    if isinstance(trigger, ScheduleTrigger):
        assert at is not None
        column: Any = literal(at, UTCDateTime())
    else:
        assert isinstance(trigger, TimeTrigger)
        column = anchor_column(handle, trigger)
        # Business hours: the wall-clock bound narrows to the candidates; the calendar decides.
        where.append(column <= now - trigger.after.at_least)
    where.append(
        ~exists().where(
            _marks.c.app_id == app_id,
            _marks.c.rule_key == rule.key,
            _marks.c.record_id == table.c.id,
            _marks.c.anchor_at == column,
        )
    )
    if rule.condition is not None:
        where.append(
            compile_condition(record_vars(rule.condition), sql_fields(handle), null_is_false=True)
        )
    return (
        select(table.c.id, column.label("anchor")).where(*where).order_by(table.c.id).limit(limit)
    )


async def scan_rule(
    sessions: async_sessionmaker[AsyncSession],
    app_id: int,
    version_id: int,
    rule: Rule,
    now: datetime,
) -> int:
    """Fire ``rule`` on the records it is due on (found by one statement; fired in batches of
    ``BATCH``, a transaction each); returns how many it fired on."""
    async with sessions() as db:
        definition = await definitions.definition(db, version_id)
        form = definition.form(rule.form)
        handle = await form_handle(db, form.id if form is not None else None)
        if handle is None or not (await switches(db, app_id)).get(rule.key, rule.enabled):
            return 0
        at = None
        if isinstance(rule.trigger, ScheduleTrigger):
            at = occurrence(rule.trigger, now, get_settings().time_zone)
            if at is None:
                return 0
        await custom_plans(db)
        due = (await db.execute(due_statement(handle, app_id, rule, now, at=at))).all()
        trigger = rule.trigger
        if isinstance(trigger, TimeTrigger) and trigger.after.business_hours:
            hours = timedelta(hours=trigger.after.business_hours)
            business = calendar(definition, trigger.calendar)
            due = [row for row in due if business.add_business(row[1], hours) <= now]
    fired = 0
    for start in range(0, len(due), BATCH):
        async with sessions() as db:
            for record_id, anchor in due[start : start + BATCH]:
                if not await mark(db, app_id, rule, record_id, anchor):
                    continue  # another scan fired it
                record = await record_context(db, handle, record_id)
                if record is None:
                    continue
                kind = rule.trigger.on
                event = RecordEvent(kind, app_id, handle.form_id, record_id, None, {}, version_id)
                data = event_data(record, {}, kind, None)
                await run_rule(db, event, handle, definition, rule, data, 0)
                fired += 1
            await commit_and_dispatch(db)
    return fired


async def scan(sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[str, int]:
    """One pass over every published app's time rules: rule key → records fired on."""
    async with sessions() as db:
        work = []
        for app_id, version_id, definition in await published_versions(db):
            for rule in rule_set(version_id, definition).scanned():
                work.append((app_id, version_id, rule))
    out: dict[str, int] = {}
    for app_id, version_id, rule in work:
        out[f"{app_id}:{rule.key}"] = await scan_rule(sessions, app_id, version_id, rule, now)
    return out


@handlers.register(RULES_SCAN_JOB, max_attempts=2)
async def run_scan(ctx: JobContext) -> dict[str, Any]:
    """The scheduled pass: time rules, then SLA warnings and breaches (their own
    transactions, one per batch; the job's session only marks the job done)."""
    sessions = async_sessionmaker(ctx.session.bind, expire_on_commit=False)
    now = utcnow()
    fired = await scan(sessions, now)
    overdue = await scan_overdue(sessions, now)
    refreshed = await refresh(sessions)
    escalated = await escalate(sessions, now)
    return {
        "fired": {k: v for k, v in fired.items() if v},
        "overdue": {k: v for k, v in overdue.items() if v},
        "sla": {k: v for k, v in escalated.items() if v},
        "sla_recomputed": refreshed,
    }
