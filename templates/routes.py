"""/api/v1/templates: check, import (install or upgrade) as a job, export, upgrade conflicts."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Path, Query, UploadFile, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from builder.apps.designers import Designer
from builder.apps.routes import commit
from engines.form.schema import KEY_PATTERN
from runtime.deps import AdminUser, IdPath, SessionDep, SettingsDep
from runtime.errors import FieldError, ProblemError, Text
from runtime.i18n import pick
from templates import jobs, service
from templates.manifest import SEMVER

router = APIRouter(prefix="/api/v1/templates", tags=["templates"])


class ChoiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choice: Literal["local", "theirs"]


async def _read(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ProblemError("payload_too_large", params={"limit": limit})
    return data


def _job(job_id: int, **extra: Any) -> JSONResponse:
    body = {"job_id": job_id, "status": "queued", "url": f"/api/v1/jobs/{job_id}", **extra}
    return JSONResponse(body, status_code=status.HTTP_202_ACCEPTED)


FileIn = Annotated[UploadFile, File(description="The template as a .zip")]


@router.post("/validate")
async def validate_template(
    file: FileIn, admin: AdminUser, db: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """Check a template without installing it: 200 with its manifest (and the app it would
    upgrade), or 422 ``template_invalid`` with every problem (``problems``: file, path, code,
    message)."""
    template = service.check_zip(await _read(file, settings.max_upload_bytes), settings)
    found = await service.installed_from(db, template.manifest.key)
    return {
        "ok": True,
        "manifest": template.manifest.model_dump(mode="json"),
        "upgrade": {"app_id": found.app_id, "from_version": found.version} if found else None,
    }


@router.post("/imports")
async def import_template(
    file: FileIn,
    admin: AdminUser,
    db: SessionDep,
    settings: SettingsDep,
    demo: Annotated[bool, Form(description="Load the seed/demo data")] = True,
    key: Annotated[str | None, Form(pattern=KEY_PATTERN, description="App key")] = None,
) -> Response:
    """Install a template as a new app (202 with the job), or — when an app was installed from
    a template with this key — plan the upgrade: 202 with the job when nothing conflicts,
    200 with the conflicts to decide otherwise."""
    data = await _read(file, settings.max_upload_bytes)
    template = service.check_zip(data, settings)
    found = await service.installed_from(db, template.manifest.key) if key is None else None
    if found is not None:
        view = await service.plan_upgrade(db, admin, found, template)
        if view["unresolved"]:
            await commit(db)
            return JSONResponse({"kind": "upgrade", "job_id": None, "upgrade": view})
        job_id = await jobs.enqueue_upgrade(db, admin, found.app_id)
        await commit(db)
        return _job(job_id, kind="upgrade", upgrade=view)
    problems = await service.install_problems(db, template, key, demo=demo)
    if problems:
        from templates.problems import invalid

        raise invalid(problems)
    upload = jobs.keep_upload(settings, data)
    job_id = await jobs.enqueue_install(db, admin, upload, key=key, demo=demo)
    await commit(db)
    return _job(job_id, kind="install")


@router.get("/apps/{app_id}/export")
async def export_template(
    app_id: IdPath,
    designer: Designer,
    db: SessionDep,
    with_data: Annotated[bool, Query(description="Records as seed data")] = False,
    version: Annotated[Text | None, Query(max_length=64, description="1.2.0")] = None,
) -> Response:
    """The app's draft as a template .zip (``<key>-<version>.zip``); ``version`` left out or
    empty: the installed template's version, else 1.0.0."""
    version = version or None
    if version is not None and not re.match(SEMVER, version):
        message = pick({"en": "Give a version like 1.2.0.", "zh-CN": "请填写形如 1.2.0 的版本号。"})
        raise ProblemError(
            "validation_failed", errors=[FieldError("version", "not_semver", message)]
        )
    app, data = await service.export_app(db, designer, app_id, with_data=with_data, version=version)
    await commit(db)
    install = await service.installed(db, app_id)
    shown = version or (install.version if install else "1.0.0")
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{app.key}-{shown}.zip"'},
    )


@router.get("/apps/{app_id}")
async def installed_template(app_id: IdPath, designer: Designer, db: SessionDep) -> dict[str, Any]:
    """Which template and version the app was installed from (404 when none)."""
    install = await service.installed(db, app_id)
    if install is None:
        raise ProblemError("not_found")
    return {
        "app_id": app_id,
        "template": install.template_key,
        "version": install.version,
        "installed_at": install.installed_at.isoformat(),
        "upgraded_at": install.upgraded_at.isoformat() if install.upgraded_at else None,
        "upgrade_pending": install.pending is not None,
    }


@router.get("/apps/{app_id}/upgrade")
async def pending_upgrade(app_id: IdPath, admin: AdminUser, db: SessionDep) -> dict[str, Any]:
    """The planned upgrade: its conflicts (part, element, paths, base, local, theirs, choice)."""
    return service.upgrade_view(await service.pending_install(db, app_id))


@router.put("/apps/{app_id}/upgrade/conflicts/{index}")
async def resolve_conflict(
    app_id: IdPath,
    index: Annotated[int, Path(ge=0, le=100_000)],
    body: ChoiceIn,
    admin: AdminUser,
    db: SessionDep,
) -> dict[str, Any]:
    """Decide one conflict: keep the app's ``local`` version or take ``theirs``."""
    view = await service.resolve(db, admin, app_id, index, body.choice)
    await commit(db)
    return view


@router.post("/apps/{app_id}/upgrade/apply")
async def apply_upgrade(app_id: IdPath, admin: AdminUser, db: SessionDep) -> Response:
    """Apply the planned upgrade as a job (409 ``upgrade_unresolved`` while a conflict is
    undecided)."""
    install = await service.pending_install(db, app_id)
    view = service.upgrade_view(install)
    if view["unresolved"]:
        raise ProblemError("upgrade_unresolved", extra={"upgrade": view})
    job_id = await jobs.enqueue_upgrade(db, admin, app_id)
    await commit(db)
    return _job(job_id, kind="upgrade")
