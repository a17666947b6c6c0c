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
from runtime.permissions.access import access
from runtime.records.forms import published_form
from runtime.records.models import RecordComment, RecordFile
from runtime.records.scope import read_scope


async def readable(db: AsyncSession, principal: Principal, file: StoredFile) -> bool:
    """Whether ``principal`` may read ``file``. Through a record, the attachment field must be
    one the caller may read on that record (field rights), and the record in their scope."""
    narrowed = principal.token_apps is not None
    if (principal.is_admin and not narrowed) or file.created_by == principal.user_id:
        return True
    forms = await db.execute(
        select(RecordFile.form_id).where(RecordFile.file_id == file.id).distinct()
    )
    for form_id in forms.scalars().all():
        handle = await published_form(db, form_id)
        if handle is None:
            continue
        rights = access(handle, principal)
        table = handle.table
        holders = select(RecordFile.record_id).where(
            RecordFile.file_id == file.id, RecordFile.form_id == form_id
        )
        ways = [
            table.c.id.in_(
                holders.outerjoin(RecordComment, RecordComment.id == RecordFile.comment_id).where(
                    RecordFile.comment_id.is_not(None), RecordComment.deleted_at.is_(None)
                )
            )
        ]
        for spec in handle.form.fields:
            if not handle.field_type(spec.key).holds_files:
                continue
            visibility = rights.field_visibility(spec.key)
            if visibility is False:
                continue
            through = table.c.id.in_(holders.where(RecordFile.field_id == spec.id))
            ways.append(through if visibility is True else and_(through, visibility))
        found = await db.execute(
            select(table.c.id)
            .where(or_(*ways), table.c.deleted_at.is_(None), read_scope(handle, principal))
            .limit(1)
        )
        if found.first() is not None:
            return True
    return False
