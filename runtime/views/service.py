"""Saved views: a user's own views of a form and the shared ones; only the owner changes one.

Columns, filter and sort are checked against what the owner may read when saved (the list
checks them again whenever a view is shown, since rights and forms change).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.db import utcnow
from runtime.errors import FieldError, ProblemError
from runtime.permissions.access import access
from runtime.records import reader
from runtime.records.forms import FormHandle
from runtime.views.models import SavedView

#: Record columns a view may show besides the form's fields.
SYSTEM_COLUMNS = ("id", "created_at", "updated_at")


def _bad(field: str, code: str, message: str) -> ProblemError:
    return ProblemError("validation_failed", errors=[FieldError(field, code, message)])


def check_columns(handle: FormHandle, principal: Principal, columns: list[str]) -> list[str]:
    """The columns, unless one is unknown or hidden from ``principal`` (422)."""
    hidden = access(handle, principal).hidden_keys()
    for index, key in enumerate(columns):
        known = key in SYSTEM_COLUMNS or key in handle.validator.specs
        if not known or key in hidden:
            raise _bad(f"columns[{index}]", "unknown_field", f"no field {key!r}")
    if len(set(columns)) != len(columns):
        raise _bad("columns", "duplicate", "a column appears twice")
    return columns


def check_query(handle: FormHandle, principal: Principal, rule: Any, sort: str | None) -> None:
    """422 unless the filter compiles and the sort is allowed for ``principal``."""
    reader.compile_filter(handle, rule, principal)
    reader.parse_sort(handle, sort, access(handle, principal))


async def visible_views(
    db: AsyncSession, handle: FormHandle, principal: Principal
) -> list[SavedView]:
    """The caller's own views of the form, then the shared ones, by name."""
    query = (
        select(SavedView)
        .where(
            SavedView.form_id == handle.form_id,
            or_(SavedView.owner_id == principal.user_id, SavedView.shared.is_(True)),
        )
        .order_by(SavedView.owner_id != principal.user_id, SavedView.name, SavedView.id)
    )
    return list((await db.scalars(query)).all())


async def get_view(
    db: AsyncSession, handle: FormHandle, principal: Principal, view_id: int
) -> SavedView:
    """A view the caller may use (their own or a shared one); 404 otherwise."""
    view = await db.get(SavedView, view_id)
    if view is None or view.form_id != handle.form_id:
        raise ProblemError("not_found")
    if view.owner_id != principal.user_id and not view.shared:
        raise ProblemError("not_found")
    return view


async def _owned(
    db: AsyncSession, handle: FormHandle, principal: Principal, view_id: int
) -> SavedView:
    view = await get_view(db, handle, principal, view_id)
    if view.owner_id != principal.user_id:
        raise ProblemError("forbidden", extra={"action": "update"})
    return view


def _check_shared(principal: Principal, shared: bool) -> None:
    if shared and not principal.is_admin:
        raise ProblemError("admin_required")


async def _name_taken(
    db: AsyncSession, handle: FormHandle, principal: Principal, name: str, other: int | None
) -> None:
    query = select(SavedView.id).where(
        SavedView.form_id == handle.form_id,
        SavedView.owner_id == principal.user_id,
        SavedView.name == name,
    )
    found = await db.scalar(query)
    if found is not None and found != other:
        raise ProblemError(
            "already_exists",
            params={"what": name},
            errors=[FieldError("name", "taken", "You already have a view with this name.")],
        )


async def create_view(
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    *,
    name: str,
    columns: list[str],
    rule: Any,
    sort: str | None,
    shared: bool = False,
) -> SavedView:
    _check_shared(principal, shared)
    check_columns(handle, principal, columns)
    check_query(handle, principal, rule, sort)
    await _name_taken(db, handle, principal, name, None)
    view = SavedView(
        form_id=handle.form_id,
        owner_id=principal.user_id,
        name=name,
        columns=columns,
        filter=rule,
        sort=sort or None,
        shared=shared,
        row_version=1,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    db.add(view)
    await db.flush()
    return view


async def update_view(
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    view_id: int,
    row_version: int,
    changes: dict[str, Any],
) -> SavedView:
    """Change the owner's view; ``changes`` holds name, columns, filter, sort, shared."""
    view = await _owned(db, handle, principal, view_id)
    if view.row_version != row_version:
        raise ProblemError("conflict", extra={"current_row_version": view.row_version})
    if "shared" in changes:
        _check_shared(principal, bool(changes["shared"]))
    if "columns" in changes:
        check_columns(handle, principal, changes["columns"])
    rule, sort = changes.get("filter", view.filter), changes.get("sort", view.sort)
    check_query(handle, principal, rule, sort)
    if "name" in changes:
        await _name_taken(db, handle, principal, changes["name"], view.id)
    for name, value in changes.items():
        setattr(view, name, (value or None) if name == "sort" else value)
    view.row_version += 1
    view.updated_at = utcnow()
    await db.flush()
    return view


async def delete_view(
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    view_id: int,
    row_version: int | None,
) -> None:
    view = await _owned(db, handle, principal, view_id)
    if row_version is not None and view.row_version != row_version:
        raise ProblemError("conflict", extra={"current_row_version": view.row_version})
    await db.delete(view)
    await db.flush()
