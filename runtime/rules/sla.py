"""SLA clocks at run time: recomputed inside every write of a covered record, escalated by the
periodic scan.

Every created/updated record of a form with SLA policies gets its clock advanced
(:func:`engines.rules.sla.advance`: the first policy whose condition holds, its targets for the
record's priority in the policy's business calendar, pauses, responses and resolutions) and
stored in ``sla_states`` in the same transaction — so a priority, status or calendar change is
reflected at once. The scan (``rules.scan``) then finds due warnings and breaches with range
queries over the indexed due and warning times, flags each once (a conditional UPDATE, so two
workers never escalate twice) and runs the policy's ``on_warning`` / ``on_breach`` actions as
a rule firing (logged in the run log as ``sla_<policy>_<target>_<stage>``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from builder.apps.definition import AppDefinition
from builder.apps.models import App
from engines.rules.calendar import BusinessCalendar, load_calendar
from engines.rules.match import event_data
from engines.rules.sla import SlaClock, SlaPolicy, advance
from engines.rules.spec import RecordTrigger, Rule
from runtime.db import utcnow
from runtime.flows import definitions
from runtime.flows.records import form_handle, record_context
from runtime.records.writer import RecordEvent, commit_and_dispatch, in_transaction
from runtime.rules.models import SlaState
from runtime.rules.service import published_versions, run_rule

TARGETS = ("response", "resolution")
STAGES = ("warning", "breach")
BATCH = 500


@lru_cache(maxsize=16)
def shipped(name: str) -> BusinessCalendar:
    return load_calendar(name)


def calendar(definition: AppDefinition, name: str) -> BusinessCalendar:
    """The app's own calendar ``name``, else the shipped one."""
    return definition.calendar(name) or shipped(name)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _clock(state: SlaState) -> SlaClock:
    return SlaClock(
        policy=state.policy,
        started_at=_aware(state.started_at) or utcnow(),
        paused=timedelta(seconds=state.paused_seconds),
        paused_since=_aware(state.paused_since),
        responded_at=_aware(state.responded_at),
        resolved_at=_aware(state.resolved_at),
    )


def policies_of(definition: AppDefinition, form_key: str) -> list[SlaPolicy]:
    return [p for p in definition.sla if p.form == form_key]


@in_transaction
async def track(db: AsyncSession, events: list[RecordEvent]) -> None:
    for event in events:
        if event.version_id is None or event.kind not in ("created", "updated", "deleted"):
            continue
        await recompute(db, event.app_id, event.version_id, event.form_id, event.record_id, event)
    await db.flush()


async def recompute(
    db: AsyncSession,
    app_id: int,
    version_id: int,
    form_id: int,
    record_id: int,
    event: RecordEvent | None = None,
) -> None:
    """Advance (or drop) one record's SLA clock under version ``version_id``'s policies."""
    definition = await definitions.definition(db, version_id)
    form = definition.form_by_id(form_id) if definition.sla else None
    policies = policies_of(definition, form.key) if form is not None else []
    state = await db.get(SlaState, (form_id, record_id))
    if not policies and state is None:
        return
    handle = await form_handle(db, form_id)
    deleted = event is not None and event.kind == "deleted"
    record = await record_context(db, handle, record_id) if handle and not deleted else None
    changes = event.changes if event is not None else {}
    kind, actor = (event.kind, event.actor_id) if event is not None else ("sla", None)
    data = event_data(record, changes, kind, actor)
    policy = next((p for p in policies if p.covers(data)), None) if record else None
    clock = None
    if policy is not None:
        started = _aware((record or {}).get("created_at")) or utcnow()
        previous = _clock(state) if state is not None else None
        clock = advance(
            policy, calendar(definition, policy.calendar), previous, data, started, utcnow()
        )
    if clock is None:
        if state is not None:
            await db.delete(state)
        return
    if state is None:
        state = SlaState(form_id=form_id, record_id=record_id)
        db.add(state)
    _store(state, clock, app_id)
    state.version_id = version_id


async def refresh(sessions: async_sessionmaker[AsyncSession]) -> int:
    """Recompute the clocks computed under an older version of their app (after a publish
    changed a calendar, a target or a policy), in batches; returns how many."""
    done = 0
    async with sessions() as db:
        stale = (
            await db.execute(
                select(
                    SlaState.app_id, App.published_version_id, SlaState.form_id, SlaState.record_id
                )
                .join(App, App.id == SlaState.app_id)
                .where(
                    App.published_version_id.is_not(None),
                    SlaState.version_id != App.published_version_id,
                    SlaState.resolved_at.is_(None),
                )
                .limit(50_000)
            )
        ).all()
    for start in range(0, len(stale), BATCH):
        async with sessions() as db:
            for app_id, version_id, form_id, record_id in stale[start : start + BATCH]:
                await recompute(db, app_id, version_id, form_id, record_id)
                done += 1
            await db.commit()
    return done


def _store(state: SlaState, clock: SlaClock, app_id: int) -> None:
    now = utcnow()
    state.app_id = app_id
    state.policy = clock.policy
    state.started_at = clock.started_at
    state.paused_seconds = int(clock.paused.total_seconds())
    state.paused_since = clock.paused_since
    state.responded_at = clock.responded_at
    state.resolved_at = clock.resolved_at
    for target in TARGETS:
        due = _utc(getattr(clock, f"{target}_due_at"))
        warn = _utc(getattr(clock, f"{target}_warn_at"))
        before = _aware(getattr(state, f"{target}_due_at"))
        setattr(state, f"{target}_due_at", due)
        setattr(state, f"{target}_warn_at", warn)
        for flag in ("breached", "warned"):
            if getattr(state, f"{target}_{flag}") is None:
                setattr(state, f"{target}_{flag}", False)
        # A target that moved into the future (a lower priority, a pause, a reopening) can
        # warn and breach again; one that did not move keeps its flags.
        if due is not None and due != before and due > now:
            setattr(state, f"{target}_breached", False)
            if warn is None or warn > now:
                setattr(state, f"{target}_warned", False)


def state_json(state: SlaState) -> dict[str, Any]:
    """A record's SLA as the API shows it."""
    now = utcnow()
    out: dict[str, Any] = {
        "policy": state.policy,
        "started_at": state.started_at,
        "paused": state.paused_since is not None,
        "paused_seconds": state.paused_seconds,
        "responded_at": state.responded_at,
        "resolved_at": state.resolved_at,
    }
    for target in TARGETS:
        due = _aware(getattr(state, f"{target}_due_at"))
        out[target] = {
            "due_at": due,
            "warn_at": getattr(state, f"{target}_warn_at"),
            "breached": bool(getattr(state, f"{target}_breached")),
            "overdue": due is not None and due <= now,
        }
    return out


# --- escalations ---------------------------------------------------------------------------------


def _escalation(policy: SlaPolicy, target: str, stage: str) -> Rule:
    """The policy's escalation as a rule, so it runs and is logged like one."""
    actions = policy.on_warning if stage == "warning" else policy.on_breach
    return Rule.model_construct(
        key=f"sla_{policy.key}_{target}_{stage}",
        name={},
        form=policy.form,
        enabled=True,
        trigger=RecordTrigger(on="updated"),
        condition=None,
        actions=actions,
        schema_version=1,
    )


def due_query(app_id: int, policy: SlaPolicy, target: str, stage: str, now: datetime) -> Any:
    """The records whose ``target`` is due to warn / breach: a range over the indexed time."""
    column = SlaState.__table__.c[f"{target}_{'warn' if stage == 'warning' else 'due'}_at"]
    flag = SlaState.__table__.c[f"{target}_{'warned' if stage == 'warning' else 'breached'}"]
    where = [
        column <= now,
        flag.is_(False),
        SlaState.app_id == app_id,
        SlaState.policy == policy.key,
    ]
    if stage == "warning":
        where.append(SlaState.__table__.c[f"{target}_breached"].is_(False))
    return (
        select(SlaState.form_id, SlaState.record_id, column.label("at"))
        .where(*where)
        .order_by(column)
        .limit(50_000)
    )


async def escalate(sessions: async_sessionmaker[AsyncSession], now: datetime) -> dict[str, int]:
    """Warn and breach every due SLA target once; returns counts per escalation."""
    async with sessions() as db:
        work = []
        for app_id, version_id, definition in await published_versions(db):
            for policy in definition.sla:
                for target in TARGETS:
                    for stage in STAGES:
                        found = (
                            await db.execute(due_query(app_id, policy, target, stage, now))
                        ).all()
                        if found:
                            work.append((app_id, version_id, policy, target, stage, found))
    counts: dict[str, int] = {}
    for app_id, version_id, policy, target, stage, found in work:
        key = f"{app_id}:{policy.key}:{target}:{stage}"
        counts[key] = await _escalate(sessions, app_id, version_id, policy, target, stage, found)
    return counts


async def _escalate(
    sessions: async_sessionmaker[AsyncSession],
    app_id: int,
    version_id: int,
    policy: SlaPolicy,
    target: str,
    stage: str,
    found: list[Any],
) -> int:
    rule = _escalation(policy, target, stage)
    flag = f"{target}_{'warned' if stage == 'warning' else 'breached'}"
    done = 0
    for start in range(0, len(found), BATCH):
        async with sessions() as db:
            definition = await definitions.definition(db, version_id)
            for form_id, record_id, at in found[start : start + BATCH]:
                claimed = await db.execute(
                    update(SlaState)
                    .where(
                        SlaState.form_id == form_id,
                        SlaState.record_id == record_id,
                        getattr(SlaState, flag).is_(False),
                    )
                    .values({flag: True})
                    .returning(SlaState.record_id)
                )
                if claimed.first() is None:
                    continue  # another worker escalated it
                done += 1
                handle = await form_handle(db, form_id)
                record = await record_context(db, handle, record_id) if handle else None
                if handle is None or record is None or not rule.actions:
                    continue
                event = RecordEvent("sla", app_id, form_id, record_id, None, {}, version_id)
                data = event_data(record, {}, "sla", None)
                data["event"]["sla"] = {
                    "policy": policy.key,
                    "target": target,
                    "stage": stage,
                    "due_at": str(at),
                }
                await run_rule(db, event, handle, definition, rule, data, 0)
            await commit_and_dispatch(db)
    return done
