"""/api/v1/apps/{app_id}/rules: the published rules, their run-time switch, test runs and the
run log (for the app's designers); /api/v1/notifications: the caller's in-app notifications."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import func, select, update

from builder.apps.definition import AppDefinition
from builder.apps.designers import Designer
from builder.apps.models import App
from builder.apps.service import get_app
from engines.rules.spec import Rule
from runtime.audit import service as audit
from runtime.db import utcnow
from runtime.deps import CurrentUser, IdPath, SessionDep
from runtime.errors import ProblemError
from runtime.flows import definitions
from runtime.records.forms import resolve as resolve_form
from runtime.records.reader import get_record
from runtime.records.scope import check_token, require
from runtime.rules import (
    jobs,  # noqa: F401  (registers the rule.action job)
    service,
)
from runtime.rules import sla as sla_clocks
from runtime.rules.models import Notification, RuleRun, RuleSwitch, SlaState
from runtime.rules.schemas import (
    NotificationOut,
    NotificationPage,
    RuleOut,
    RunOut,
    RunPage,
    SlaOut,
    SwitchIn,
    TestRunIn,
    TestRunOut,
)

router = APIRouter(prefix="/api/v1/apps/{app_id}/rules", tags=["rules"])
notifications_router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
sla_router = APIRouter(prefix="/api/v1/records", tags=["records"])
RuleKey = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Limit = Annotated[int, Query(ge=1, le=200)]
Before = Annotated[int | None, Query(ge=1, le=2**63 - 1)]


async def _published(db: SessionDep, app_id: int) -> tuple[App, int, AppDefinition]:
    app = await get_app(db, app_id)
    if app.published_version_id is None:
        raise ProblemError("not_found", detail="the app is not published")
    version_id = app.published_version_id
    return app, version_id, await definitions.definition(db, version_id)


def _rule(definition: AppDefinition, key: str) -> Rule:
    rule = definition.rule(key)
    if rule is None:
        raise ProblemError("not_found", detail=f"rule {key!r}")
    return rule


@router.get("", response_model=list[RuleOut])
async def list_rules(app_id: IdPath, designer: Designer, db: SessionDep) -> list[RuleOut]:
    """The published version's rules and whether each fires now."""
    _, _, definition = await _published(db, app_id)
    switched = await service.switches(db, app_id)
    return [
        RuleOut(
            key=r.key,
            name=dict(r.name),
            form=r.form,
            trigger=r.trigger.model_dump(mode="json", by_alias=True),
            enabled=switched.get(r.key, r.enabled),
            switched=r.key in switched,
            actions=[a.type for a in r.actions],
        )
        for r in definition.rules
    ]


@router.put("/{key}/enabled", response_model=RuleOut)
async def switch_rule(
    app_id: IdPath, key: RuleKey, body: SwitchIn, designer: Designer, db: SessionDep
) -> RuleOut:
    """Switch a published rule off or on without publishing again (audited)."""
    _, _, definition = await _published(db, app_id)
    _rule(definition, key)
    found = await db.get(RuleSwitch, (app_id, key))
    if found is None:
        db.add(
            RuleSwitch(
                app_id=app_id, rule_key=key, enabled=body.enabled, updated_by=designer.user_id
            )
        )
    else:
        found.enabled, found.updated_by = body.enabled, designer.user_id
    audit.record(db, designer, "rule.switch", "rule", f"{app_id}:{key}", {"enabled": body.enabled})
    await db.commit()
    service.forget_switches(db)
    return (await list_rules(app_id, designer, db))[[r.key for r in definition.rules].index(key)]


@router.post("/{key}/test", response_model=TestRunOut)
async def test_rule(
    app_id: IdPath, key: RuleKey, body: TestRunIn, designer: Designer, db: SessionDep
) -> TestRunOut:
    """What the rule would do on a record: nothing is written, no mail or call is sent."""
    _, version_id, definition = await _published(db, app_id)
    rule = _rule(definition, key)
    out = await service.test_run(
        db, app_id, version_id, definition, rule, body.record_id, body.kind, body.changes
    )
    await db.rollback()
    return TestRunOut(**out)


@router.get("/runs", response_model=RunPage)
async def list_runs(
    app_id: IdPath,
    designer: Designer,
    db: SessionDep,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    record_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    status: Annotated[str | None, Query(pattern=r"^(done|failed|loop|too_deep)$")] = None,
    limit: Limit = 50,
    before: Before = None,
) -> RunPage:
    """The run log, newest first: which rule fired on which record, what it changed, what
    each action did, errors."""
    await get_app(db, app_id)
    query = select(RuleRun).where(RuleRun.app_id == app_id)
    if rule is not None:
        query = query.where(RuleRun.rule_key == rule)
    if record_id is not None:
        query = query.where(RuleRun.record_id == record_id)
    if status is not None:
        query = query.where(RuleRun.status == status)
    if before is not None:
        query = query.where(RuleRun.id < before)
    rows = list((await db.execute(query.order_by(RuleRun.id.desc()).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return RunPage(
        items=[
            RunOut(
                id=r.id,
                rule=r.rule_key,
                form_id=r.form_id,
                record_id=r.record_id,
                trigger=r.trigger,
                status=r.status,
                depth=r.depth,
                changes=r.changes,
                actions=r.actions,
                error=r.error,
                actor_id=r.actor_id,
                created_at=r.created_at,
            )
            for r in rows
        ],
        next_before=rows[-1].id if more and rows else None,
    )


# --- notifications -------------------------------------------------------------------------------


@notifications_router.get("", response_model=NotificationPage)
async def my_notifications(
    principal: CurrentUser,
    db: SessionDep,
    unread: bool = False,
    limit: Limit = 50,
    before: Before = None,
) -> NotificationPage:
    """The caller's notifications, newest first, and how many are unread."""
    mine = Notification.user_id == principal.user_id
    query = select(Notification).where(mine)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    if before is not None:
        query = query.where(Notification.id < before)
    rows = list(
        (await db.execute(query.order_by(Notification.id.desc()).limit(limit + 1))).scalars()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    count = (
        await db.execute(
            select(func.count())
            .select_from(Notification)
            .where(mine, Notification.read_at.is_(None))
        )
    ).scalar_one()
    return NotificationPage(
        items=[
            NotificationOut(
                id=n.id,
                title=n.title,
                body=n.body,
                subject=n.subject,
                read=n.read_at is not None,
                created_at=n.created_at,
            )
            for n in rows
        ],
        unread=int(count),
        next_before=rows[-1].id if more and rows else None,
    )


@notifications_router.post("/{notification_id}/read", status_code=204)
async def mark_read(notification_id: IdPath, principal: CurrentUser, db: SessionDep) -> None:
    found = await db.get(Notification, notification_id)
    if found is None or found.user_id != principal.user_id:
        raise ProblemError("not_found")
    if found.read_at is None:
        found.read_at = utcnow()
    await db.commit()


@notifications_router.post("/read-all", status_code=204)
async def mark_all_read(principal: CurrentUser, db: SessionDep) -> None:
    await db.execute(
        update(Notification)
        .where(Notification.user_id == principal.user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    await db.commit()


# --- a record's SLA ------------------------------------------------------------------------------


@sla_router.get("/{app}/{form}/{record_id}/sla", response_model=SlaOut)
async def record_sla(
    app: Annotated[str, Path(max_length=64)],
    form: Annotated[str, Path(max_length=64)],
    record_id: IdPath,
    principal: CurrentUser,
    db: SessionDep,
) -> SlaOut:
    """The record's SLA clock: policy, due and warning times per target, breaches, pause —
    for whoever may read the record (the records' one scope; 404 otherwise or without SLA)."""
    handle = await resolve_form(db, app, form)
    check_token(handle, principal, "read")
    require(handle, principal, "read")
    await get_record(db, handle, principal, record_id)
    state = await db.get(SlaState, (handle.form_id, record_id))
    if state is None:
        raise ProblemError("not_found", detail="the record has no SLA")
    return SlaOut(**sla_clocks.state_json(state))
