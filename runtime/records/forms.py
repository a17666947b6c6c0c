"""Resolving a published form to its table and validator, cached by published version."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import MetaData, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.definition import AppDefinition, load
from builder.apps.models import App, AppVersion, FormRecord
from builder.apps.permissions import Grant
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec, FormSchema
from engines.form.tables import build_table, child_tables, link_tables
from engines.form.types.base import FieldType
from engines.form.validate import FormValidator
from runtime.errors import ProblemError
from runtime.models import metadata as platform_metadata


@dataclass(frozen=True)
class FormHandle:
    """A form as end users run it: the published schema, its table and its validator."""

    app_id: int
    app_key: str
    version_id: int
    form: FormSchema
    table: Table
    validator: FormValidator
    #: Child tables of the live sub-table fields, by field key.
    children: dict[str, Table]
    #: Identifies the published version (id and publish time) for caches.
    stamp: str
    #: The app's permission grants (all forms; :mod:`runtime.permissions` picks).
    grants: tuple[Grant, ...] = ()
    #: Link tables of the live many-relation fields, by field key.
    links: dict[str, Table] = field(default_factory=dict)

    @property
    def form_id(self) -> int:
        return self.form.id

    @cached_property
    def unique_keys(self) -> tuple[str, ...]:
        """Fields with a unique index (unique fields and always-unique types)."""
        return tuple(
            spec.key
            for spec in self.form.fields
            if spec.unique or FIELD_TYPES.get(spec.type).always_unique
        )

    def spec(self, key: str) -> FieldSpec:
        return self.validator.specs[key]

    def field_type(self, key: str) -> FieldType:
        return self.validator.types[key]

    def column(self, key: str) -> Any:
        return self.table.c[f"f_{self.validator.specs[key].id}"]

    def to_api(
        self,
        row: Any,
        keys: list[str] | None = None,
        children: dict[str, dict[int, Any]] | None = None,
    ) -> dict[str, Any]:
        """A table row as the API shows it. ``children`` holds what lives in other tables, by
        field key and record id: sub-table rows (stored values), many-relation links (lists of
        ids) and lookup values (API values).
        """
        values = {}
        for key in keys if keys is not None else self.form.keys:
            spec = self.validator.specs[key]
            if key in self.children:
                rows = (children or {}).get(key, {}).get(row["id"], [])
                values[key] = self.rows_to_api(key, rows)
                continue
            if not self.field_type(key).has_column:
                values[key] = (children or {}).get(key, {}).get(row["id"])
                continue
            stored = row[f"f_{spec.id}"]
            values[key] = (
                None if stored is None else FIELD_TYPES.get(spec.type).from_storage(spec, stored)
            )
        return {
            "id": row["id"],
            "row_version": row["row_version"],
            "created_at": row["created_at"],
            "created_by": row["created_by"],
            "updated_at": row["updated_at"],
            "updated_by": row["updated_by"],
            "owner_id": row["owner_id"],
            "department_id": row["department_id"],
            "deleted_at": row["deleted_at"],
            "values": values,
        }

    def rows_to_api(self, key: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Sub-table rows (stored values) as the API shows them."""
        specs = self.validator.children[key].specs
        return [
            {
                k: None if v is None else FIELD_TYPES.get(specs[k].type).from_storage(specs[k], v)
                for k, v in row.items()
            }
            for row in rows
        ]

    def storage_values(
        self, row: Any, children: dict[str, dict[int, Any]] | None = None
    ) -> dict[str, Any]:
        """Stored values by key (what validators and history compare)."""
        values = {}
        for key, spec in self.validator.specs.items():
            if key in self.children:
                values[key] = (children or {}).get(key, {}).get(row["id"], [])
            elif key in self.links:
                values[key] = (children or {}).get(key, {}).get(row["id"])
            elif self.field_type(key).has_column:
                values[key] = row[f"f_{spec.id}"]
        return values


#: Handles by (published version id, form key); a new version simply gets new entries.
_cache: dict[tuple[str, str], FormHandle] = {}
_CACHE_LIMIT = 1000


def clear_cache() -> None:
    _cache.clear()
    _apps.clear()


def _metadata() -> MetaData:
    metadata = MetaData()
    for name in ("users", "departments"):
        platform_metadata.tables[name].to_metadata(metadata)
    return metadata


#: Which version of an app is published (asked on every records request; built once).
_PUBLISHED_QUERY = (
    select(App.id, App.key, AppVersion.id, AppVersion.published_at)
    .join(AppVersion, AppVersion.id == App.published_version_id)
    .where(App.key == bindparam("app_key"), App.deleted_at.is_(None))
)


async def resolve(db: AsyncSession, app_key: str, form_key: str) -> FormHandle:
    """The published form ``form_key`` of app ``app_key``; 404 if either is not published."""
    row = (await db.execute(_PUBLISHED_QUERY, {"app_key": app_key})).one_or_none()
    if row is None:
        raise ProblemError("not_found")
    app_id, key, version_id, published_at = row
    stamp = f"{version_id}@{published_at.isoformat()}"
    return await _load(db, app_id, key, version_id, stamp, form_key=form_key)


async def published_form(db: AsyncSession, form_id: int) -> FormHandle | None:
    """The form with id ``form_id`` as its app publishes it now; None if it is not published
    (the app is deleted or unpublished, or the published version has no such form)."""
    row = (
        await db.execute(
            select(App.id, App.key, AppVersion.id, AppVersion.published_at)
            .join(FormRecord, FormRecord.app_id == App.id)
            .join(AppVersion, AppVersion.id == App.published_version_id)
            .where(FormRecord.id == form_id, App.deleted_at.is_(None))
        )
    ).one_or_none()
    if row is None:
        return None
    app_id, key, version_id, published_at = row
    stamp = f"{version_id}@{published_at.isoformat()}"
    try:
        return await _load(db, app_id, key, version_id, stamp, form_id=form_id)
    except ProblemError:
        return None


async def sibling(db: AsyncSession, handle: FormHandle, form_id: int) -> FormHandle:
    """Another form of the same published app version (the target of a relation)."""
    return await _load(
        db, handle.app_id, handle.app_key, handle.version_id, handle.stamp, form_id=form_id
    )


async def _definition(db: AsyncSession, version_id: int) -> AppDefinition:
    document = (
        await db.execute(select(AppVersion.definition).where(AppVersion.id == version_id))
    ).scalar_one()
    return load(document)


async def _load(
    db: AsyncSession,
    app_id: int,
    app_key: str,
    version_id: int,
    stamp: str,
    *,
    form_key: str | None = None,
    form_id: int | None = None,
) -> FormHandle:
    # Keyed by the version and its publish time: ids can be reused after deletes (SQLite).
    cache_key = (stamp, form_key if form_key is not None else f"#{form_id}")
    cached = _cache.get(cache_key)
    if cached is not None:
        return cached
    definition = await _definition(db, version_id)
    form = (
        definition.form(form_key) if form_key is not None else definition.form_by_id(form_id or 0)
    )
    if form is None:
        raise ProblemError("not_found")
    # One handle (and one Table) per form, however it was asked for: permissions cache their
    # view of a form by its id, and two tables named alike would join as ``FROM t_1, t_1``.
    names = [(stamp, form.key), (stamp, f"#{form.id}")]
    twin = next((_cache[name] for name in names if name in _cache), None)
    if twin is not None:
        _cache[cache_key] = twin
        return twin
    table = build_table(form, _metadata())
    live = set(form.keys)
    children = {k: t for k, t in child_tables(form, table).items() if k in live}
    links = {k: t for k, t in link_tables(form, table).items() if k in live}
    handle = FormHandle(
        app_id,
        app_key,
        version_id,
        form,
        table,
        FormValidator(form),
        children,
        stamp,
        tuple(definition.permissions),
        links,
    )
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    for name in names:
        _cache[name] = handle
    return handle


@dataclass(frozen=True)
class PublishedApp:
    """An app as end users run it: its published definition and a handle per form."""

    app_id: int
    app_key: str
    version_id: int
    stamp: str
    definition: AppDefinition
    handles: dict[str, FormHandle]


_apps: dict[str, PublishedApp] = {}


async def resolve_app(db: AsyncSession, app_key: str) -> PublishedApp:
    """The published version of ``app_key`` with every form's handle; 404 if unpublished."""
    row = (await db.execute(_PUBLISHED_QUERY, {"app_key": app_key})).one_or_none()
    if row is None:
        raise ProblemError("not_found")
    app_id, key, version_id, published_at = row
    stamp = f"{version_id}@{published_at.isoformat()}"
    cached = _apps.get(stamp)
    if cached is not None:
        return cached
    definition = await _definition(db, version_id)
    handles = {
        form.key: await _load(db, app_id, key, version_id, stamp, form_key=form.key)
        for form in definition.forms
    }
    published = PublishedApp(app_id, key, version_id, stamp, definition, handles)
    if len(_apps) >= 100:
        _apps.clear()
    _apps[stamp] = published
    return published
