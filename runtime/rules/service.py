"""Firing rules on record events, inside the writing transaction.

The records' in-transaction hook hands every event to :func:`fire`: the published rules of
the event's app version that watch its form (parsed and compiled once per version), whose
trigger matches and whose condition holds, run in definition order. Each firing runs in a
savepoint: its local actions (set fields, assign, comment, notify, create a record, start a
flow) commit with the triggering write, its external ones (mail, webhook) become jobs that
run once after the commit. A failing firing is rolled back to its savepoint and logged as
failed; the triggering write goes on.

Chains are bounded: a write a rule makes is an event like any other, one level deeper; at
``TANGRAM_RULE_MAX_DEPTH`` levels the next firing is logged as ``too_deep`` and skipped, and
a rule firing a second time on the same record within one transaction is logged as ``loop``
and skipped, so rules triggering each other never run away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.definition import AppDefinition
from builder.apps.models import App
from engines.logic import compile_rule, truthy
from engines.rules.match import Candidate, RuleSet, event_data, event_kinds
from engines.rules.spec import FieldChanged, Rule
from runtime.config import get_settings
from runtime.db import utcnow
from runtime.errors import ProblemError
from runtime.flows import definitions
from runtime.flows.records import form_handle, record_context
from runtime.records.forms import FormHandle
from runtime.records.writer import RecordEvent, in_transaction
from runtime.rules.actions import ActionError, Firing, run_actions
from runtime.rules.models import RuleMark, RuleRun, RuleSwitch

log = logging.getLogger("tangram.rules")

_rule_sets: dict[int, RuleSet] = {}
_DEPTHS = "tangram_rule_depths"
_FIRED = "tangram_rules_fired"
_SWITCHES = "tangram_rule_switches"


def rule_set(version_id: int, definition: AppDefinition) -> RuleSet:
    """The compiled rules of a published version (versions never change: compiled once)."""
    found = _rule_sets.get(version_id)
    if found is None:
        if len(_rule_sets) >= 256:
            _rule_sets.clear()
        found = _rule_sets[version_id] = RuleSet(definition.rules)
    return found


def clear_cache() -> None:
    _rule_sets.clear()


async def published_versions(db: AsyncSession) -> list[tuple[int, int, AppDefinition]]:
    """Every live app's id, published version id and definition (scans walk these)."""
    rows = await db.execute(
        select(App.id, App.published_version_id).where(
            App.deleted_at.is_(None), App.published_version_id.is_not(None)
        )
    )
    return [
        (app_id, version_id, await definitions.definition(db, version_id))
        for app_id, version_id in rows.all()
    ]


async def switches(db: AsyncSession, app_id: int) -> dict[str, bool]:
    """Rules switched off or on at run time (read once per transaction and app)."""
    cache: dict[int, dict[str, bool]] = db.info.setdefault(_SWITCHES, {})
    found = cache.get(app_id)
    if found is None:
        rows = await db.execute(
            select(RuleSwitch.rule_key, RuleSwitch.enabled).where(RuleSwitch.app_id == app_id)
        )
        found = cache[app_id] = {key: bool(enabled) for key, enabled in rows}
    return found


def forget_switches(db: AsyncSession) -> None:
    db.info.pop(_SWITCHES, None)


@dataclass
class Outcome:
    """What one firing did (also the answer of a test run)."""

    rule: str
    status: str
    changes: dict[str, Any] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    run_id: int | None = None


@in_transaction
async def fire(db: AsyncSession, events: list[RecordEvent]) -> None:
    for event in events:
        if event.version_id is None:
            continue
        definition = await definitions.definition(db, event.version_id)
        if not definition.rules:
            continue
        form = definition.form_by_id(event.form_id)
        rules = rule_set(event.version_id, definition)
        if form is None or not rules.watches(form.key):
            continue
        if not rules.candidates(form.key, event.kind):
            continue
        handle = await form_handle(db, event.form_id)
        if handle is None:
            continue
        depth = db.info.get(_DEPTHS, {}).get(id(event), 0)
        record = await record_context(db, handle, event.record_id, deleted=event.kind == "deleted")
        data = event_data(record, event.changes, event.kind, event.actor_id, depth)
        enabled = await switches(db, event.app_id)
        for rule in rules.firing(form.key, event.kind, event.changes, data, enabled):
            await run_rule(db, event, handle, definition, rule, data, depth)


async def run_rule(
    db: AsyncSession,
    event: RecordEvent,
    handle: FormHandle,
    definition: AppDefinition,
    rule: Rule,
    data: dict[str, Any],
    depth: int,
    occasion: Any = None,
) -> Outcome:
    """One firing: bounded, in a savepoint, logged. ``occasion`` tells firings of a rule on
    one record apart that are not a loop (two tasks of a flow created at once)."""
    fired: set[tuple[Any, ...]] = db.info.setdefault(_FIRED, set())
    mark = (rule.key, event.form_id, event.record_id, occasion)
    if depth >= get_settings().rule_max_depth:
        outcome = Outcome(rule.key, "too_deep", error=f"{depth} rule firings led here")
        await _log(db, event, rule, outcome, depth)
        return outcome
    if mark in fired:
        outcome = Outcome(rule.key, "loop", error="the rule fired on this record already")
        await _log(db, event, rule, outcome, depth)
        return outcome
    fired.add(mark)
    events: list[RecordEvent] = db.info.setdefault("record_events", [])
    before = len(events)
    firing = Firing(
        db=db,
        app_id=event.app_id,
        version_id=event.version_id or 0,
        definition=definition,
        handle=handle,
        rule=rule,
        record_id=event.record_id,
        # Its own copy of the record: a firing that fails must not leave its writes in what
        # the next rule reads.
        data={**data, "record": dict(data["record"]), "event": {**data["event"], "rule": rule.key}},
        actor_id=event.actor_id,
    )
    savepoint = await db.begin_nested()
    try:
        run = RuleRun(
            app_id=event.app_id,
            rule_key=rule.key,
            form_id=event.form_id,
            record_id=event.record_id,
            trigger=event.kind,
            status="done",
            depth=depth,
            actor_id=event.actor_id,
        )
        db.add(run)
        await db.flush()
        firing.run_id = run.id
        await run_actions(firing)
        run.changes = firing.changes
        run.actions = firing.outcomes
        await db.flush()
    except Exception as exc:  # one rule's failure is logged, never the write's failure
        await savepoint.rollback()
        del events[before:]
        detail = str(exc) if isinstance(exc, ActionError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, ActionError):
            log.exception("rule %s failed on record %s", rule.key, event.record_id)
        outcome = Outcome(rule.key, "failed", actions=firing.outcomes, error=detail)
        await _log(db, event, rule, outcome, depth)
        return outcome
    await savepoint.commit()
    data["record"].update(firing.data["record"])  # the next rule reads what this one wrote
    depths: dict[int, int] = db.info.setdefault(_DEPTHS, {})
    for caused in events[before:]:
        depths[id(caused)] = depth + 1
    return Outcome(rule.key, "done", firing.changes, firing.outcomes, run_id=run.id)


async def _log(
    db: AsyncSession, event: RecordEvent, rule: Rule, outcome: Outcome, depth: int
) -> None:
    run = RuleRun(
        app_id=event.app_id,
        rule_key=rule.key,
        form_id=event.form_id,
        record_id=event.record_id,
        trigger=event.kind,
        status=outcome.status,
        depth=depth,
        actions=outcome.actions,
        error=outcome.error,
        actor_id=event.actor_id,
    )
    db.add(run)
    await db.flush()
    outcome.run_id = run.id


# --- test runs -----------------------------------------------------------------------------------


async def test_run(
    db: AsyncSession,
    app_id: int,
    version_id: int,
    definition: AppDefinition,
    rule: Rule,
    record_id: int,
    kind: str | None,
    changes: dict[str, list[Any]] | None,
) -> dict[str, Any]:
    """What ``rule`` would do on record ``record_id``: whether it fires and, if so, what its
    actions would write — run in a savepoint that is rolled back; no job is queued."""
    form = definition.form(rule.form)
    handle = await form_handle(db, form.id if form is not None else None)
    record = await record_context(db, handle, record_id, deleted=True) if handle else None
    if handle is None or record is None:
        raise ProblemError("not_found", detail=f"record {record_id}")
    trigger = rule.trigger
    kind = kind or (trigger.on if trigger.on != "field_changed" else "updated")
    if changes is None:
        changes = {}
        if isinstance(trigger, FieldChanged):
            changes = {trigger.field: [trigger.from_, record.get(trigger.field)]}
    pairs = {k: (v[0] if v else None, v[1] if len(v) > 1 else None) for k, v in changes.items()}
    data = event_data(record, pairs, kind, None)
    candidate = Candidate(rule, compile_rule(rule.condition) if rule.condition else None)
    matches = Candidate(rule, None).fires(kind, pairs, data) and (kind in event_kinds(rule))
    holds = candidate.condition is None or truthy(candidate.condition(data))
    out: dict[str, Any] = {
        "rule": rule.key,
        "record_id": record_id,
        "kind": kind,
        "trigger_matches": matches,
        "condition": holds,
        "fires": matches and holds,
    }
    if not out["fires"]:
        return out
    events: list[RecordEvent] = db.info.setdefault("record_events", [])
    before = len(events)
    firing = Firing(
        db=db,
        app_id=app_id,
        version_id=version_id,
        definition=definition,
        handle=handle,
        rule=rule,
        record_id=record_id,
        data={**data, "event": {**data["event"], "rule": rule.key}},
        actor_id=None,
        dry_run=True,
    )
    savepoint = await db.begin_nested()
    try:
        await run_actions(firing)
        out["status"] = "done"
    except Exception as exc:
        out["status"] = "failed"
        out["error"] = str(exc) if isinstance(exc, ActionError) else f"{type(exc).__name__}: {exc}"
    finally:
        await savepoint.rollback()
        del events[before:]
    out["changes"] = firing.changes
    out["actions"] = firing.outcomes
    return out


# --- scans ----------------------------------------------------------------------------------------


async def mark(db: AsyncSession, app_id: int, rule: Rule, record_id: int, at: datetime) -> bool:
    """Mark the period; False when another scan marked it first."""
    insert = postgresql.insert if db.bind.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(RuleMark.__table__)
        .values(
            app_id=app_id, rule_key=rule.key, record_id=record_id, anchor_at=at, created_at=utcnow()
        )
        .on_conflict_do_nothing()
        .returning(RuleMark.__table__.c.record_id)
    )
    return (await db.execute(statement)).first() is not None
