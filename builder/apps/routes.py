"""/api/v1/apps: apps, drafts, validation, migration plans, publishing and versions.

Designing apps needs the design right; until permission sets arrive (permissions issue) that
is the administrators'.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm.exc import StaleDataError

from builder.apps import service
from builder.apps.definition import load
from builder.apps.designers import Designer, designable
from builder.apps.parts import diff_definitions
from builder.apps.plan_words import describe
from builder.apps.schemas import (
    AppCreateIn,
    AppOut,
    DraftIn,
    DraftOut,
    FormCreateIn,
    PlanOut,
    ProblemOut,
    PublishIn,
    PublishOut,
    ValidationOut,
    VersionOut,
)
from runtime.deps import AdminUser, CurrentUser, IdPath, SessionDep, SettingsDep
from runtime.errors import FieldError, ProblemError, Text

router = APIRouter(prefix="/api/v1/apps", tags=["apps"])
#: Version numbers are INTEGER columns; larger ones are a 422, not a driver overflow (500).
VersionNumber = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def commit(db: SessionDep) -> None:
    """Commit; a concurrent change of a versioned row (StaleDataError) is a 409."""
    try:
        await db.commit()
    except StaleDataError as exc:
        await db.rollback()
        raise ProblemError("conflict") from exc


def _draft_out(draft) -> DraftOut:  # type: ignore[no-untyped-def]
    return DraftOut(app_id=draft.app_id, row_version=draft.row_version, definition=draft.definition)


@router.get("", response_model=list[AppOut])
async def list_apps(principal: CurrentUser, db: SessionDep) -> list[AppOut]:
    """The apps the caller may design (every app, for administrators)."""
    apps = await designable(db, principal, await service.list_apps(db))
    return [AppOut.model_validate(a) for a in apps]


@router.post("", response_model=AppOut, status_code=status.HTTP_201_CREATED)
async def create_app(body: AppCreateIn, admin: AdminUser, db: SessionDep) -> AppOut:
    app = await service.create_app(db, admin, **body.model_dump())
    await commit(db)
    return AppOut.model_validate(app)


@router.get("/{app_id}", response_model=AppOut)
async def get_app(app_id: IdPath, admin: Designer, db: SessionDep) -> AppOut:
    return AppOut.model_validate(await service.get_app(db, app_id))


@router.get("/{app_id}/draft", response_model=DraftOut)
async def get_draft(app_id: IdPath, admin: Designer, db: SessionDep) -> DraftOut:
    return _draft_out(await service.get_draft(db, app_id))


@router.put("/{app_id}/draft", response_model=DraftOut)
async def save_draft(app_id: IdPath, body: DraftIn, admin: Designer, db: SessionDep) -> DraftOut:
    """Replace the draft definition; send the ``row_version`` you read (409 when stale)."""
    draft = await service.save_draft(db, admin, app_id, body.row_version, body.definition)
    await commit(db)
    return _draft_out(draft)


@router.post("/{app_id}/forms", response_model=DraftOut, status_code=status.HTTP_201_CREATED)
async def add_form(app_id: IdPath, body: FormCreateIn, admin: Designer, db: SessionDep) -> DraftOut:
    """Add a form to the draft; it gets a stable id that names its table."""
    draft, _form = await service.add_form(db, admin, app_id, body.row_version, body.key, body.label)
    await commit(db)
    return _draft_out(draft)


@router.post("/{app_id}/draft/validate", response_model=ValidationOut)
async def validate_draft(
    app_id: IdPath, admin: Designer, db: SessionDep, settings: SettingsDep
) -> ValidationOut:
    """Every problem of the draft at once (unknown fields in rules, bad options, cycles …)."""
    draft = await service.get_draft(db, app_id)
    problems = service.validate_definition(service.parse_definition(draft.definition), settings)
    return ValidationOut(
        ok=not problems,
        problems=[
            ProblemOut(
                path=p.path, code=p.code, message=service.problem_message(p.path, p.code, p.message)
            )
            for p in problems
        ],
    )


#: An archived field to purge in a plan: ``<form id>:<field id>``.
PurgeRef = Annotated[list[Text], Query(max_length=200, description="form_id:field_id")]


def _purge_refs(refs: list[str]) -> set[tuple[int, int]]:
    found = set()
    for index, ref in enumerate(refs):
        form_id, _, field_id = ref.partition(":")
        if not (form_id.isdigit() and field_id.isdigit()) or len(ref) > 40:
            raise ProblemError(
                "validation_failed",
                errors=[FieldError(f"query.purge[{index}]", "pattern", "form_id:field_id")],
            )
        found.add((int(form_id), int(field_id)))
    return found


@router.get("/{app_id}/draft/plan", response_model=PlanOut)
async def plan(
    app_id: IdPath,
    admin: Designer,
    db: SessionDep,
    settings: SettingsDep,
    purge: PurgeRef = [],  # noqa: B006  (FastAPI copies defaults)
) -> PlanOut:
    """What publishing would change, and the existing rows that would block it — each in a
    sentence of the caller's language — and what changes against the published version.
    ``purge`` (repeatable, ``form_id:field_id``) plans purging archived fields too."""
    found = await service.plan_details(db, app_id, _purge_refs(purge), settings=settings)
    conn = await db.connection()
    operations, blockers = await conn.run_sync(
        lambda c: describe(c, found.operations, found.blockers, found.applied, found.targets)
    )
    app = await service.get_app(db, app_id)
    published = await service.published_version(db, app)
    before = load(published.definition) if published is not None else None
    changes = diff_definitions(before, found.definition)
    return PlanOut(
        operations=operations,
        blockers=blockers,
        parts=changes["parts"],
        summary=changes["summary"],
        published_version=published.number if published is not None else None,
    )


@router.post("/{app_id}/publish", response_model=PublishOut)
async def publish(
    app_id: IdPath, body: PublishIn, admin: Designer, db: SessionDep, settings: SettingsDep
) -> PublishOut:
    """Validate, migrate the tables and publish the draft, in one transaction."""
    purge = {(p.form_id, p.field_id) for p in body.purge}
    version, ops = await service.publish(
        db, admin, app_id, body.row_version, body.note, purge, settings
    )
    await commit(db)
    return PublishOut(
        version=VersionOut.model_validate(version), operations=[op.as_dict() for op in ops]
    )


@router.get("/{app_id}/versions", response_model=list[VersionOut])
async def versions(app_id: IdPath, admin: Designer, db: SessionDep) -> list[VersionOut]:
    return [VersionOut.model_validate(v) for v in await service.list_versions(db, app_id)]


@router.post("/{app_id}/versions/{number}/rollback", response_model=PublishOut)
async def rollback(
    app_id: IdPath, number: VersionNumber, admin: Designer, db: SessionDep
) -> PublishOut:
    """Publish an earlier version again; fields added since are archived with their data."""
    version, ops = await service.rollback(db, admin, app_id, number)
    await commit(db)
    return PublishOut(
        version=VersionOut.model_validate(version), operations=[op.as_dict() for op in ops]
    )
