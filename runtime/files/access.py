"""Who may read a stored file (its metadata and its bytes) — the one rule for every download.

Administrators and the uploader always may. Anyone else may when the file is held by a live
record they can read — in one of the form's live attachment fields or in a live comment on the
record — as decided by the records' one read scope (``runtime.records.scope.read_scope``).
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.files.models import StoredFile
from runtime.records.forms import published_form
from runtime.records.models import RecordComment, RecordFile
from runtime.records.scope import read_scope


async def readable(db: AsyncSession, principal: Principal, file: StoredFile) -> bool:
    if principal.is_admin or file.created_by == principal.user_id:
        return True
    forms = await db.execute(
        select(RecordFile.form_id).where(RecordFile.file_id == file.id).distinct()
    )
    for form_id in forms.scalars().all():
        handle = await published_form(db, form_id)
        if handle is None:
            continue
        fields = [spec.id for spec in handle.form.fields if handle.field_type(spec.key).holds_files]
        holders = (
            select(RecordFile.record_id)
            .outerjoin(RecordComment, RecordComment.id == RecordFile.comment_id)
            .where(
                RecordFile.file_id == file.id,
                RecordFile.form_id == form_id,
                or_(
                    RecordFile.field_id.in_(fields),
                    and_(RecordFile.comment_id.is_not(None), RecordComment.deleted_at.is_(None)),
                ),
            )
        )
        table = handle.table
        found = await db.execute(
            select(table.c.id)
            .where(
                table.c.id.in_(holders),
                table.c.deleted_at.is_(None),
                read_scope(handle, principal),
            )
            .limit(1)
        )
        if found.first() is not None:
            return True
    return False
