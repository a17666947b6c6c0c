"""Files posted with a page's form (the pages used without JavaScript), stored like uploads
through the files API (``runtime.files.routes.store_upload``): one code path for every file."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from runtime.auth.principal import Principal
from runtime.files.routes import store_upload
from runtime.files.storage import FileTooLarge
from runtime.web.forms import FormErrors
from runtime.web.i18n import gettext as _


def posted_files(form: Any, name: str) -> list[UploadFile]:
    """The files a multipart form sent under ``name`` (empty file inputs left out)."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


async def store_file(
    request: Request, db: AsyncSession, principal: Principal, upload: UploadFile
) -> int:
    """Store one posted file as ``principal``'s; its id (:class:`FileTooLarge` beyond the
    upload limit)."""
    settings = request.app.state.settings
    storage = request.app.state.storage
    stored = await store_upload(db, storage, principal, upload, settings.max_upload_bytes)
    return stored.id


async def form_uploads(
    request: Request, db: AsyncSession, principal: Principal, view: Any, form: Any
) -> tuple[dict[str, list[int]], FormErrors]:
    """The files posted in a record form's file fields (``view``: a ``FormView``): their ids
    by field key, and a message under each field whose file was too large."""
    uploaded: dict[str, list[int]] = {}
    errors = FormErrors()
    for field in view.editable():
        if field.widget != "files":
            continue
        for item in posted_files(form, field.name):
            try:
                file_id = await store_file(request, db, principal, item)
            except FileTooLarge:
                errors.add(field.name, _("%(name)s is too large.", name=item.filename))
                continue
            uploaded.setdefault(field.key, []).append(file_id)
    return uploaded, errors
