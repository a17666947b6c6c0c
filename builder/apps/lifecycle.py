"""An app's life beside its definition: rename, copy, soft delete and export.

A copy is a new, unpublished app with the source's draft: every form gets a fresh stable id
(as ``service.add_form`` gives one) and relations follow the copied forms; no records are
copied and archived fields are left behind (the copy has no data to keep). A deleted app
keeps its rows and tables (``deleted_at`` is set): it disappears from the lists, the runtime
navigation and every records path, and its key stays taken.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps import service
from builder.apps.definition import load
from builder.apps.models import App, FormRecord
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec
from runtime.audit import service as audit
from runtime.auth.principal import Principal
from runtime.db import utcnow
from runtime.errors import ProblemError

#: The ``format`` of an exported app document.
EXPORT_FORMAT = "tangram.app"
EXPORT_FORMAT_VERSION = 1


async def rename_app(
    db: AsyncSession, actor: Principal, app_id: int, row_version: int, changes: dict[str, Any]
) -> App:
    """Change the name, description or icon; ``row_version`` must be the one read (409)."""
    app = await service.get_app(db, app_id)
    service.check_version(app, row_version)
    before = {key: getattr(app, key) for key in changes}
    for key, value in changes.items():
        setattr(app, key, value)
    audit.record(db, actor, "app.update", "app", app_id, {"before": before, "after": changes})
    return app


def retarget(document: dict[str, Any], forms: dict[int, int]) -> dict[str, Any]:
    """A field (and the fields of its sub-table) pointing at the copied forms."""
    spec = FieldSpec.model_validate(document)
    reference = FIELD_TYPES.get(spec.type).reference(spec)
    options = dict(document.get("options") or {})
    if reference is not None and reference[0] == "form" and reference[1] in forms:
        options["form_id"] = forms[int(reference[1])]
    for nested in ("fields", "archived"):
        if isinstance(options.get(nested), list) and FIELD_TYPES.get(spec.type).has_children:
            options[nested] = [retarget(child, forms) for child in options[nested]]
    return {**document, "options": options}


async def copy_app(
    db: AsyncSession,
    actor: Principal,
    app_id: int,
    *,
    key: str,
    name: dict[str, str],
    description: dict[str, str] | None,
) -> App:
    """A new unpublished app with a copy of ``app_id``'s draft (fresh form ids, no records)."""
    source = await service.get_app(db, app_id)
    draft = await service.get_draft(db, app_id)
    definition = load(draft.definition)
    copy = await service.create_app(
        db,
        actor,
        key=key,
        name=name,
        description=source.description if description is None else description,
        icon=source.icon,
    )
    forms: dict[int, int] = {}
    for form in definition.forms:
        record = FormRecord(app_id=copy.id, key=form.key)
        db.add(record)
        await db.flush()
        forms[form.id] = record.id
    documents = []
    for form in definition.forms:
        document = form.model_dump(mode="json")
        document["id"] = forms[form.id]
        document["archived"] = []
        document["fields"] = [retarget(f, forms) for f in document["fields"]]
        documents.append(document)
    copied = {**definition.model_dump(mode="json"), "forms": documents}
    new_draft = await service.get_draft(db, copy.id)
    new_draft.definition = load(copied).model_dump(mode="json")
    audit.record(db, actor, "app.copy", "app", copy.id, {"from": source.key, "key": key})
    return copy


async def delete_app(db: AsyncSession, actor: Principal, app_id: int, confirm: str | None) -> None:
    """Soft-delete the app; ``confirm`` must be its key (422 ``confirmation_required``)."""
    app = await service.get_app(db, app_id)
    if confirm != app.key:
        raise ProblemError("confirmation_required", params={"key": app.key})
    app.deleted_at = utcnow()
    audit.record(db, actor, "app.delete", "app", app_id, {"key": app.key})


async def export_app(db: AsyncSession, actor: Principal, app_id: int) -> dict[str, Any]:
    """The app as a document: its names, its draft definition and the published number."""
    app = await service.get_app(db, app_id)
    draft = await service.get_draft(db, app_id)
    published = await service.published_version(db, app)
    audit.record(db, actor, "app.export", "app", app_id)
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "app": {
            "key": app.key,
            "name": app.name,
            "description": app.description,
            "icon": app.icon,
        },
        "published_version": published.number if published is not None else None,
        "draft_row_version": draft.row_version,
        "definition": draft.definition,
    }
