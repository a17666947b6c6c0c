"""Apps, drafts and publishing.

Editing happens on the app's draft (``app_versions`` row with number 0). ``publish`` validates
the whole draft, plans the schema change from what is physically applied, checks existing rows,
applies the plan and records a new numbered version — all in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps import apply as applier
from builder.apps import form_messages
from builder.apps.dashboards import check_dashboards
from builder.apps.definition import AppDefinition, load
from builder.apps.grantees import grantee_problems, sync_roles
from builder.apps.intake import check_intake
from builder.apps.models import ARCHIVED, DRAFT, PUBLISHED, App, AppVersion, FormRecord
from builder.apps.permissions import check_permissions
from engines.flow.check import CheckContext, check_flows
from engines.form.check import SchemaProblem, check_form, check_relations
from engines.form.diff import Operation, PlanError, archive_removed, plan_form
from engines.form.overview import check_overviews
from engines.form.schema import FormSchema
from engines.rules.check import RuleContext, check_policies, check_rules
from runtime.audit import service as audit
from runtime.auth.principal import Principal
from runtime.config import Settings
from runtime.db import utcnow
from runtime.errors import FieldError, ProblemError, field_errors_from_pydantic
from runtime.i18n import current_locale, pick
from runtime.net.egress import EgressPolicy

DRAFT_NUMBER = 0


# --- apps ----------------------------------------------------------------------------------


async def create_app(
    db: AsyncSession,
    actor: Principal,
    *,
    key: str,
    name: dict[str, str],
    description: dict[str, str],
    icon: str | None,
) -> App:
    if (await db.execute(select(App.id).where(App.key == key))).first():
        raise ProblemError(
            "validation_failed",
            errors=[FieldError("key", "already_exists", _said(APP_KEY_TAKEN))],
        )
    app = App(key=key, name=name, description=description, icon=icon, created_by=actor.user_id)
    db.add(app)
    try:
        await db.flush()
    except IntegrityError as exc:
        await db.rollback()
        raise ProblemError("already_exists", params={"what": key}) from exc
    db.add(
        AppVersion(
            app_id=app.id,
            number=DRAFT_NUMBER,
            status=DRAFT,
            definition=AppDefinition().model_dump(mode="json"),
            created_by=actor.user_id,
        )
    )
    audit.record(db, actor, "app.create", "app", app.id, {"key": key})
    return app


async def get_app(db: AsyncSession, app_id: int) -> App:
    app = await db.get(App, app_id)
    if app is None or app.deleted_at is not None:
        raise ProblemError("not_found")
    return app


async def list_apps(db: AsyncSession) -> list[App]:
    rows = await db.execute(select(App).where(App.deleted_at.is_(None)).order_by(App.id))
    return list(rows.scalars())


async def get_draft(db: AsyncSession, app_id: int) -> AppVersion:
    await get_app(db, app_id)
    draft = (
        await db.execute(
            select(AppVersion).where(AppVersion.app_id == app_id, AppVersion.number == DRAFT_NUMBER)
        )
    ).scalar_one()
    return draft


async def published_version(db: AsyncSession, app: App) -> AppVersion | None:
    if app.published_version_id is None:
        return None
    return await db.get(AppVersion, app.published_version_id)


async def published_definition(db: AsyncSession, app: App) -> AppDefinition | None:
    version = await published_version(db, app)
    return load(version.definition) if version else None


async def list_versions(db: AsyncSession, app_id: int) -> list[AppVersion]:
    await get_app(db, app_id)
    rows = await db.execute(
        select(AppVersion)
        .where(AppVersion.app_id == app_id, AppVersion.number != DRAFT_NUMBER)
        .order_by(AppVersion.number.desc())
    )
    return list(rows.scalars())


# --- the draft -----------------------------------------------------------------------------


#: Messages of the builder's own checks, in English and 简体中文 (the caller's language).
APP_KEY_TAKEN = ("An app with this key exists.", "已有应用使用此键。")
FORM_KEY_TAKEN = ("This app has a form with this key.", "此应用中已有表单使用此键。")
FORM_WITHOUT_ID = (
    "Add forms through POST /forms so that they get a stable id.",
    "请通过 POST /forms 添加表单，以获得固定的 id。",
)


def _said(message: tuple[str, str]) -> str:
    return pick({"en": message[0], "zh-CN": message[1]})


def problem_message(path: str, code: str, message: str) -> str:
    """A definition problem's message in the caller's language: the form checks' codes are
    localised (builder.apps.form_messages, as the designer's check-on-edit shows them); other
    parts' engines word their own (``message`` is kept)."""
    if path.startswith(("forms[", "definition.forms[")):
        return form_messages.localise(code, message)
    return message


def parse_definition(document: dict[str, Any]) -> AppDefinition:
    try:
        return load(document)
    except ValidationError as exc:
        errors = field_errors_from_pydantic(exc.errors())
        for error in errors:
            error.field = f"definition.{error.field}" if error.field else "definition"
            error.message = problem_message(error.field, error.code, error.message)
        raise ProblemError("validation_failed", errors=errors) from exc


def check_version(row: App | AppVersion, row_version: int) -> None:
    """409 with the current row version unless ``row_version`` is the row's (a draft, an app)."""
    if row.row_version != row_version:
        raise ProblemError("conflict", extra={"current_row_version": row.row_version})


async def _known_form_ids(db: AsyncSession, app_id: int) -> set[int]:
    rows = await db.execute(select(FormRecord.id).where(FormRecord.app_id == app_id))
    return set(rows.scalars())


async def save_draft(
    db: AsyncSession, actor: Principal, app_id: int, row_version: int, document: dict[str, Any]
) -> AppVersion:
    draft = await get_draft(db, app_id)
    check_version(draft, row_version)
    definition = parse_definition(document)
    known = await _known_form_ids(db, app_id)
    unknown = [
        FieldError(
            f"definition.forms[{i}].id",
            "unknown_form",
            _said(FORM_WITHOUT_ID),
        )
        for i, form in enumerate(definition.forms)
        if form.id not in known
    ]
    if unknown:
        raise ProblemError("validation_failed", errors=unknown)
    previous = load(draft.definition)
    definition = _keep_removed_fields(previous, definition)
    draft.definition = definition.model_dump(mode="json")
    audit.record(db, actor, "app.draft_save", "app", app_id)
    return draft


def _keep_removed_fields(previous: AppDefinition, new: AppDefinition) -> AppDefinition:
    """A field deleted in the designer is archived, so its id is never reused."""
    forms = []
    for form in new.forms:
        before = previous.form_by_id(form.id)
        forms.append(archive_removed(before, form) if before else form)
    return new.model_copy(update={"forms": forms})


async def add_form(
    db: AsyncSession,
    actor: Principal,
    app_id: int,
    row_version: int,
    key: str,
    label: dict[str, str],
) -> tuple[AppVersion, FormSchema]:
    draft = await get_draft(db, app_id)
    check_version(draft, row_version)
    definition = load(draft.definition)
    if definition.form(key) is not None:
        raise ProblemError(
            "validation_failed",
            errors=[FieldError("key", "already_exists", _said(FORM_KEY_TAKEN))],
        )
    record = FormRecord(app_id=app_id, key=key)
    db.add(record)
    await db.flush()
    form = FormSchema(id=record.id, key=key, label=label)
    definition = definition.model_copy(update={"forms": [*definition.forms, form]})
    draft.definition = definition.model_dump(mode="json")
    audit.record(db, actor, "form.create", "form", record.id, {"key": key, "app_id": app_id})
    return draft, form


def installation_checks(settings: Settings | None) -> dict[str, Any]:
    """What flow checks take from the installation: its egress policy for webhook URLs (no
    DNS: literal addresses only) and its webhook secret names (``CheckContext`` fields)."""
    if settings is None:
        return {}
    return {
        "url_check": EgressPolicy.from_settings(settings).check_parsed,
        "webhook_secrets": set(settings.webhook_secrets),
    }


def flow_context(
    definition: AppDefinition, settings: Settings | None = None, flows: set[str] | None = None
) -> CheckContext:
    """What the flows of ``definition`` may refer to (``flows``: other flows' keys)."""
    return CheckContext(
        forms={f.key: f for f in definition.forms},
        app_roles={r.key for r in definition.roles},
        flows=flows if flows is not None else set(),
        calendars={c.key for c in definition.calendars},
        locale=current_locale.get(),
        **installation_checks(settings),
    )


def rule_context(definition: AppDefinition, settings: Settings | None = None) -> RuleContext:
    """What the rules and SLA policies of ``definition`` may refer to."""
    installation = installation_checks(settings)
    return RuleContext(
        forms={f.key: f for f in definition.forms},
        flows={f.key: f.form for f in definition.flows},
        url_check=installation.get("url_check"),
        webhook_secrets=installation.get("webhook_secrets"),
        calendars=[c.key for c in definition.calendars],
        locale=current_locale.get(),
    )


def validate_definition(
    definition: AppDefinition, settings: Settings | None = None
) -> list[SchemaProblem]:
    """Every problem of ``definition``; with ``settings``, webhook URLs are checked against the
    installation's egress policy too."""
    problems: list[SchemaProblem] = []
    for index, form in enumerate(definition.forms):
        problems.extend(check_form(form, f"forms[{index}]."))
    problems.extend(check_relations(definition.forms))
    problems.extend(check_overviews(definition.forms, current_locale.get()))
    problems.extend(check_permissions(definition.roles, definition.permissions, definition.forms))
    problems.extend(check_flows(definition.flows, flow_context(definition, settings)))
    problems.extend(check_dashboards(definition.dashboards, definition.forms))
    rules = rule_context(definition, settings)
    problems.extend(check_rules(definition.rules, rules))
    problems.extend(check_policies(definition.sla, rules))
    problems.extend(check_intake(definition.intake, definition.forms, current_locale.get()))
    return problems


# --- plan and publish ----------------------------------------------------------------------


async def _applied(db: AsyncSession, app_id: int) -> dict[int, FormSchema]:
    rows = await db.execute(
        select(FormRecord).where(FormRecord.app_id == app_id, FormRecord.applied.is_not(None))
    )
    return {r.id: FormSchema.model_validate(r.applied) for r in rows.scalars()}


def _plan(
    applied: dict[int, FormSchema], definition: AppDefinition, purge: set[tuple[int, int]]
) -> list[Operation]:
    ops: list[Operation] = []
    try:
        for form in definition.forms:
            before = applied.get(form.id)
            target = archive_removed(before, form) if before else form
            ops.extend(
                plan_form(
                    before, target, purge={fid for (form_id, fid) in purge if form_id == form.id}
                )
            )
    except PlanError as exc:
        raise ProblemError(
            "plan_impossible",
            detail=exc.detail,
            errors=[FieldError(f"{exc.form_key}.{exc.field_key}", exc.code, exc.detail)],
        ) from exc
    return ops


def _targets(
    applied: dict[int, FormSchema], definition: AppDefinition, purge: set[tuple[int, int]]
) -> dict[int, FormSchema]:
    targets = {}
    for form in definition.forms:
        before = applied.get(form.id)
        target = archive_removed(before, form) if before else form
        gone = {fid for (form_id, fid) in purge if form_id == form.id}
        if gone:
            target = target.model_copy(
                update={"archived": [f for f in target.archived if f.id not in gone]}
            )
        targets[form.id] = target
    return targets


def _definition_problem(problems: list[SchemaProblem]) -> ProblemError:
    return ProblemError(
        "definition_invalid",
        errors=[
            FieldError(p.path, p.code, problem_message(p.path, p.code, p.message)) for p in problems
        ],
    )


@dataclass
class Plan:
    """What publishing the draft would do: the operations, the rows that block them, the forms
    as they are applied now and as they would be (``targets``), and the draft's definition."""

    operations: list[Operation]
    blockers: list[applier.Blocker]
    applied: dict[int, FormSchema]
    targets: dict[int, FormSchema]
    definition: AppDefinition


async def plan_details(
    db: AsyncSession,
    app_id: int,
    purge: set[tuple[int, int]] | None = None,
    settings: Settings | None = None,
) -> Plan:
    """What publishing the draft now would change, which rows would block it, and the forms
    before and after (for describing the plan)."""
    draft = await get_draft(db, app_id)
    definition = load(draft.definition)
    problems = validate_definition(definition, settings)
    if problems:
        raise _definition_problem(problems)
    applied = await _applied(db, app_id)
    ops = _plan(applied, definition, purge or set())
    targets = _targets(applied, definition, purge or set())
    conn = await db.connection()
    blockers = await conn.run_sync(lambda c: applier.preflight(c, ops, applied, targets))
    return Plan(ops, blockers, applied, targets, definition)


async def plan(
    db: AsyncSession,
    app_id: int,
    purge: set[tuple[int, int]] | None = None,
    settings: Settings | None = None,
) -> tuple[list[Operation], list[applier.Blocker]]:
    """What publishing the draft now would change, and which rows would block it."""
    found = await plan_details(db, app_id, purge, settings)
    return found.operations, found.blockers


#: Called with each stage of a publish as it begins: validate, plan, migrate, apply.
Progress = Callable[[str], Awaitable[None]]


async def _no_progress(stage: str) -> None:
    return None


async def publish(
    db: AsyncSession,
    actor: Principal,
    app_id: int,
    row_version: int,
    note: str,
    purge: set[tuple[int, int]],
    settings: Settings | None = None,
    progress: Progress = _no_progress,
) -> tuple[AppVersion, list[Operation]]:
    """Validate, plan, check rows, apply and record a version — one transaction. ``progress``
    hears of each stage as it begins (the publish job reports them)."""
    await progress("validate")
    app = await get_app(db, app_id)
    draft = await get_draft(db, app_id)
    check_version(draft, row_version)
    definition = load(draft.definition)
    problems = validate_definition(definition, settings)
    if not problems:
        problems = await grantee_problems(db, app_id, definition)
    if problems:
        raise _definition_problem(problems)
    await progress("plan")
    applied = await _applied(db, app_id)
    ops = _plan(applied, definition, purge)
    targets = _targets(applied, definition, purge)
    conn = await db.connection()
    blockers = await conn.run_sync(lambda c: applier.preflight(c, ops, applied, targets))
    if blockers:
        raise ProblemError("publish_blocked", extra={"blockers": [b.as_dict() for b in blockers]})
    await progress("migrate")
    await conn.run_sync(lambda c: applier.apply(c, ops, applied, targets))
    await progress("apply")
    await sync_roles(db, app_id, definition)
    now = utcnow()
    for form_id, target in targets.items():
        await db.execute(
            update(FormRecord)
            .where(FormRecord.id == form_id)
            .values(applied=target.model_dump(mode="json"), applied_at=now, key=target.key)
        )
    published = definition.model_copy(update={"forms": list(targets.values())})
    number = (
        await db.execute(select(func.max(AppVersion.number)).where(AppVersion.app_id == app_id))
    ).scalar_one() + 1
    await db.execute(
        update(AppVersion)
        .where(AppVersion.app_id == app_id, AppVersion.status == PUBLISHED)
        .values(status=ARCHIVED)
    )
    version = AppVersion(
        app_id=app_id,
        number=number,
        status=PUBLISHED,
        definition=published.model_dump(mode="json"),
        note=note,
        created_by=actor.user_id,
        published_at=now,
        published_by=actor.user_id,
    )
    db.add(version)
    await db.flush()
    app.published_version_id = version.id
    draft.definition = published.model_dump(mode="json")
    audit.record(
        db,
        actor,
        "app.publish",
        "app",
        app_id,
        {"version": number, "operations": [op.as_dict() for op in ops]},
    )
    return version, ops


async def rollback(
    db: AsyncSession, actor: Principal, app_id: int, number: int
) -> tuple[AppVersion, list[Operation]]:
    """Publish an earlier version again. Fields added since are archived, not dropped."""
    version = (
        await db.execute(
            select(AppVersion).where(
                AppVersion.app_id == app_id,
                AppVersion.number == number,
                AppVersion.number != DRAFT_NUMBER,
            )
        )
    ).scalar_one_or_none()
    if version is None:
        raise ProblemError("not_found")
    draft = await get_draft(db, app_id)
    draft.definition = version.definition
    await db.flush()
    result = await publish(
        db, actor, app_id, draft.row_version, f"rollback to version {number}", set()
    )
    audit.record(db, actor, "app.rollback", "app", app_id, {"to": number})
    return result
