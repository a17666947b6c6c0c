"""Names behind a widget's reference dimensions: users, departments, related records.

A dimension on a user field (or ``created_by`` / ``updated_by`` / ``owner_id``) groups by user
id, one on a department field (or ``department_id``) by department id, one on a relation by
the related record's id. :func:`dimension_labels` reads the names of the ids in a shaped
result — one query per such dimension, never one per row — as ``{dimension key: {str(id):
name}}``, attached to every result as ``labels``. People's and departments' names are shown
everywhere and need no right; a related record's title only when the viewer may read that
record (its form's read scope and the title field's right, as the record list does), else the
id stays as it is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.schema import FieldSpec, FormSchema
from engines.report.spec import Widget
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.errors import ProblemError
from runtime.org.models import Department
from runtime.permissions.access import access
from runtime.records.forms import FormHandle, PublishedApp, sibling
from runtime.records.scope import read_scope

USER_COLUMNS = frozenset({"created_by", "updated_by", "owner_id"})
DEPARTMENT_COLUMNS = frozenset({"department_id"})


def _form(app: PublishedApp, key: str) -> FormSchema | None:
    handle = app.handles.get(key)
    return handle.form if handle is not None else None


def _form_by_id(app: PublishedApp, form_id: Any) -> FormSchema | None:
    return next((h.form for h in app.handles.values() if h.form_id == form_id), None)


def _spec(form: FormSchema, key: str) -> FieldSpec | None:
    return next((f for f in form.fields if f.key == key), None)


def resolve(app: PublishedApp, widget: Widget, path: str) -> FieldSpec | None:
    """The field a path names (through relations and the widget's joins), or None for a
    system column or a path that does not resolve."""
    form = _form(app, widget.form)
    parts = path.split(".")
    for index, part in enumerate(parts):
        if form is None:
            return None
        last = index == len(parts) - 1
        spec = _spec(form, part)
        if spec is None:
            join = next((j for j in widget.joins if j.key == part), None) if index == 0 else None
            if join is None or last:
                return None
            form = _form(app, join.form)
            continue
        if last:
            return spec
        form = _form_by_id(app, spec.options.get("form_id"))
    return None


def reference_kind(app: PublishedApp, widget: Widget, path: str) -> tuple[str, int] | None:
    """``("user", 0)``, ``("department", 0)`` or ``("relation", target form id)`` for a path
    to a reference, else None."""
    spec = resolve(app, widget, path)
    if spec is None:
        last = path.rsplit(".", 1)[-1]
        if last in USER_COLUMNS:
            return "user", 0
        if last in DEPARTMENT_COLUMNS:
            return "department", 0
        return None
    if spec.type == "user":
        return "user", 0
    if spec.type == "department":
        return "department", 0
    if spec.type in ("relation", "multirelation") and spec.options.get("form_id"):
        return "relation", int(spec.options["form_id"])
    return None


def _ids(result: dict[str, Any], key: str) -> set[int]:
    """The ids in dimension ``key`` of a shaped result (a pivot's rows are its cells)."""
    values = (r.get(key) for r in result.get("rows") or [])
    return {v for v in values if isinstance(v, int) and not isinstance(v, bool)}


async def user_names(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    """Display names (else usernames) of users by id; unknown ids are left out."""
    if not ids:
        return {}
    rows = await db.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(sorted(ids)))
    )
    return {i: shown or name for i, shown, name in rows.all()}


async def department_names(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await db.execute(
        select(Department.id, Department.name).where(Department.id.in_(sorted(ids)))
    )
    return {i: n for i, n in rows.all()}


async def related_titles(
    db: AsyncSession, handle: FormHandle, principal: Principal, form_id: int, ids: set[int]
) -> tuple[FormHandle | None, dict[int, str]]:
    """The target form of a relation from ``handle`` and the titles of the records ``ids``
    the principal may read (``#id`` when the title field is empty or hidden from them)."""
    try:
        target = await sibling(db, handle, form_id)
    except ProblemError:
        return None, {}
    if not ids:
        return target, {}
    title_key = target.form.title_field
    title = None
    if title_key and title_key in target.validator.specs:
        rights = access(target, principal)
        title = rights.readable(title_key) if target.field_type(title_key).has_column else None
    columns = [target.table.c.id] + ([title.label("title")] if title is not None else [])
    rows = await db.execute(
        select(*columns).where(
            target.table.c.id.in_(sorted(ids)),
            target.table.c.deleted_at.is_(None),
            read_scope(target, principal),
        )
    )
    titles = {}
    for row in rows.mappings():
        text = row.get("title") if title is not None else None
        titles[row["id"]] = str(text) if text not in (None, "") else f"#{row['id']}"
    return target, titles


async def dimension_labels(
    db: AsyncSession,
    app: PublishedApp,
    principal: Principal,
    widget: Widget,
    result: dict[str, Any],
) -> dict[str, dict[str, str]]:
    """``{dimension key: {str(id): name}}`` for the widget's reference dimensions."""
    labels: dict[str, dict[str, str]] = {}
    source = app.handles.get(widget.form)
    for dimension in widget.dimensions:
        kind = reference_kind(app, widget, dimension.field)
        if kind is None:
            continue
        ids = _ids(result, dimension.key)
        if not ids:
            continue
        if kind[0] == "user":
            names = await user_names(db, ids)
        elif kind[0] == "department":
            names = await department_names(db, ids)
        elif source is not None:
            names = (await related_titles(db, source, principal, kind[1], ids))[1]
        else:
            names = {}
        labels[dimension.key] = {str(i): n for i, n in names.items()}
    return labels
