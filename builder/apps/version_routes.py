"""/api/v1/apps/{id}/versions/…: one version's definition, the diff of two versions (or of a
version and the draft), and publishing as a job with progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from fastapi.responses import JSONResponse

from builder.apps import versions
from builder.apps.design_schemas import DiffOut, PublishJobOut, VersionDetailOut
from builder.apps.designers import Designer
from builder.apps.publish_jobs import enqueue_publish
from builder.apps.routes import VersionNumber, commit
from builder.apps.schemas import PublishIn
from runtime.deps import IdPath, SessionDep

router = APIRouter(prefix="/api/v1/apps", tags=["apps"])
#: A version number, or ``draft`` (also ``0``) for the draft.
VersionRef = Annotated[str, Path(pattern=r"^(draft|0|[1-9][0-9]{0,8})$")]


@router.get("/{app_id}/versions/{number}", response_model=VersionDetailOut)
async def get_version(
    app_id: IdPath, number: VersionNumber, designer: Designer, db: SessionDep
) -> VersionDetailOut:
    """A published (or archived) version with its whole definition."""
    version = await versions.get_version(db, app_id, number)
    return VersionDetailOut.model_validate(version)


@router.get("/{app_id}/versions/{base}/diff/{target}", response_model=DiffOut)
async def diff(
    app_id: IdPath, base: VersionRef, target: VersionRef, designer: Designer, db: SessionDep
) -> DiffOut:
    """What changed from version ``base`` to ``target`` (``draft`` or 0: the draft), part by
    part, each change with a summary in the caller's language."""
    found = await versions.diff_versions(
        db, app_id, versions.version_number(base), versions.version_number(target)
    )
    return DiffOut(**found)


@router.post(
    "/{app_id}/publish-jobs",
    response_model=PublishJobOut,
    status_code=status.HTTP_202_ACCEPTED,
)
async def publish_job(
    app_id: IdPath, body: PublishIn, designer: Designer, db: SessionDep
) -> JSONResponse:
    """Publish the draft as a job: answers 202 with the job at once; poll
    ``GET /api/v1/jobs/{job_id}`` for progress (validate, plan, migrate tables, apply, done)
    and the result (``{"ok": true, "version": …}`` or ``{"ok": false, "problem": …}``)."""
    purge = {(p.form_id, p.field_id) for p in body.purge}
    job_id = await enqueue_publish(db, designer, app_id, body.row_version, body.note, purge)
    await commit(db)
    out = PublishJobOut(job_id=job_id, url=f"/api/v1/jobs/{job_id}")
    return JSONResponse(out.model_dump(), status_code=status.HTTP_202_ACCEPTED)
