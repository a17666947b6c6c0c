"""/api/v1/files: upload and download files (attachments, import sources).

Uploads are stored by content (``runtime.files.storage``): the same bytes uploaded twice are two
files sharing one blob. Downloads follow ``runtime.files.access``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile as StarletteUpload

from runtime.audit import service as audit
from runtime.auth.principal import Principal
from runtime.deps import CurrentUser, IdPath, SessionDep, SettingsDep
from runtime.errors import ProblemError
from runtime.files import service
from runtime.files.access import readable
from runtime.files.models import StoredFile
from runtime.files.storage import FileTooLarge, LocalStorage, Staged

router = APIRouter(prefix="/api/v1/files", tags=["files"])


class FileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    created_by: int | None
    created_at: datetime


def _storage(request: Request) -> LocalStorage:
    return request.app.state.storage  # type: ignore[no-any-return]


@router.post("", response_model=FileOut, status_code=status.HTTP_201_CREATED)
async def upload(
    request: Request,
    file: Annotated[UploadFile, File(description="The file to store")],
    principal: CurrentUser,
    db: SessionDep,
    settings: SettingsDep,
) -> FileOut:
    try:
        return await store_upload(db, _storage(request), principal, file, settings.max_upload_bytes)
    except FileTooLarge as exc:
        raise ProblemError(
            "payload_too_large", params={"limit": settings.max_upload_bytes}
        ) from exc


async def store_upload(
    db: AsyncSession,
    storage: LocalStorage,
    principal: Principal,
    file: StarletteUpload,
    max_bytes: int,
) -> FileOut:
    """Stage one upload, store it as a file of ``principal`` and drop the staging copy (raises
    :class:`FileTooLarge` beyond ``max_bytes``). The pages' file inputs store through it too."""
    staged = await storage.stage(file, max_bytes)
    try:
        return await _store(db, storage, principal, file, staged)
    finally:
        storage.discard(staged)


async def _store(
    db: AsyncSession,
    storage: LocalStorage,
    principal: Principal,
    file: StarletteUpload,
    staged: Staged,
) -> FileOut:
    """The metadata row of a staged upload, its blob published under its hash."""
    # NUL cannot be stored in PostgreSQL text; "/" and "\\" would look like paths.
    name = (file.filename or "file").replace("/", "_").replace("\\", "_").replace("\x00", "")
    name = name[:255] or "file"
    record = StoredFile(
        key=staged.key,
        filename=name,
        content_type=(file.content_type or "").replace("\x00", "")[:200]
        or "application/octet-stream",
        size=staged.size,
        sha256=staged.sha256,
        created_by=principal.user.id,
    )
    created = storage.publish(staged)
    db.add(record)
    try:
        await db.flush()
        audit.record(
            db,
            principal,
            "file.upload",
            "file",
            record.id,
            {"filename": name, "size": staged.size},
        )
        await db.commit()
    except Exception:
        await db.rollback()
        if created:  # a blob this upload added, unless another file uses it meanwhile
            await service.release(db, storage, staged.key)
        raise
    storage.publish(staged)  # again, should a failed upload have released it in between
    return FileOut.model_validate(record)


async def _visible(db: SessionDep, principal: CurrentUser, file_id: int) -> StoredFile:
    """The file, if the caller may read it (404 otherwise: its existence is not revealed)."""
    record = await db.get(StoredFile, file_id)
    if record is None or not await readable(db, principal, record):
        raise ProblemError("not_found")
    return record


@router.get("/{file_id}", response_model=FileOut)
async def metadata(file_id: IdPath, principal: CurrentUser, db: SessionDep) -> FileOut:
    return FileOut.model_validate(await _visible(db, principal, file_id))


@router.get("/{file_id}/content", response_class=FileResponse)
async def content(
    file_id: IdPath, request: Request, principal: CurrentUser, db: SessionDep
) -> FileResponse:
    record = await _visible(db, principal, file_id)
    path = _storage(request).path_for(record.key)
    if not path.exists():
        raise ProblemError("not_found")
    return FileResponse(path, media_type=record.content_type, filename=record.filename)
