"""The one write path for records (DESIGN §10.11): validate → write → history → events.

Every record write — the API, imports, and later flows, rules and channels — goes through
:class:`RecordWriter`, so they all validate, convert, check references and uniqueness, record
history and raise events the same way. Events are delivered after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form import search
from engines.form.errors import FieldProblem
from engines.form.registry import FIELD_TYPES
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.config import get_settings
from runtime.db import utcnow
from runtime.errors import ProblemError
from runtime.org.models import Department
from runtime.records import attachments, children, links, lookups, related, search_index
from runtime.records.errors import invalid
from runtime.records.forms import FormHandle, sibling
from runtime.records.models import RecordHistory
from runtime.records.numbering import local_now, take_numbers
from runtime.records.scope import read_scope
from runtime.requestctx import request_id_var

MAX_BULK = 1000
#: Ids checked per query (a bulk write of many-relations can refer to many records).
REFERENCE_CHUNK = 5000
_REFERENCE_TABLES = {"users": User, "departments": Department}


@dataclass(frozen=True)
class RecordEvent:
    """Something that happened to a record; delivered to listeners after commit."""

    kind: str  # created, updated, deleted, restored
    app_id: int
    form_id: int
    record_id: int
    actor_id: int | None
    changes: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[RecordEvent], Awaitable[None]]
_listeners: list[Listener] = []


def on_record_event(listener: Listener) -> Listener:
    """Register a listener (rules, flows, webhooks) for record events after commit."""
    _listeners.append(listener)
    return listener


async def commit_and_dispatch(db: AsyncSession) -> None:
    """Commit, then deliver the events the transaction collected."""
    events: list[RecordEvent] = db.info.pop("record_events", [])
    await db.commit()
    for event in events:
        for listener in list(_listeners):
            await listener(event)


def logic_context(principal: Principal | None) -> dict[str, Any]:
    if principal is None:
        return {}
    user = principal.user
    return {
        "user": {
            "id": user.id,
            "username": user.username,
            "name": user.display_name,
            "email": user.email,
            **(user.attributes or {}),
        }
    }


class RecordWriter:
    def __init__(
        self,
        db: AsyncSession,
        handle: FormHandle,
        actor: Principal | None,
        *,
        source: str = "api",
        time_zone: str | None = None,
    ) -> None:
        self.db = db
        self.handle = handle
        self.actor = actor
        self.source = source
        self.table = handle.table
        self.time_zone = time_zone or get_settings().time_zone

    # --- create --------------------------------------------------------------------------------

    async def create(self, values: dict[str, Any]) -> dict[str, Any]:
        [record] = await self.create_many([values])
        return record

    async def create_many(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Validate every item first; insert all or nothing."""
        if len(items) > MAX_BULK:
            raise ProblemError("validation_failed", detail=f"at most {MAX_BULK} records at once")
        context = logic_context(self.actor)
        items, problems = await attachments.resolve(
            self.db, self.handle, self.actor, items, [None] * len(items)
        )
        prepared = []
        for index, values in enumerate(items):
            result = self.handle.validator.check(values, context=context)
            prefix = f"[{index}]." if len(items) > 1 else ""
            problems.extend(_prefixed(result.problems, prefix))
            prepared.append(result.values)
        if not problems:
            problems.extend(await self._reference_problems(prepared, multiple=len(items) > 1))
            problems.extend(await self._unique_problems(prepared, [None] * len(prepared)))
        if problems:
            raise invalid(problems)
        await self._generate(prepared)
        now = utcnow()
        actor_id = self.actor.user_id if self.actor else None
        rows = [
            {
                **self._columns(values),
                "created_at": now,
                "updated_at": now,
                "created_by": actor_id,
                "updated_by": actor_id,
                "owner_id": actor_id,
                "row_version": 1,
                "search_text": self._document(values),
            }
            for values in prepared
        ]
        # One executemany needs the same columns in every row (empty ones are NULL).
        names = {name for row in rows for name in row}
        rows = [{**dict.fromkeys(names), **row} for row in rows]
        try:
            result = await self.db.execute(
                insert(self.table).returning(*self.table.c, sort_by_parameter_order=True), rows
            )
        except IntegrityError as exc:
            raise self._integrity_problem(exc) from exc
        created = [dict(r._mapping) for r in result.all()]
        rows_of: dict[str, dict[int, Any]] = {
            key: {
                row["id"]: values.get(key) or []
                for row, values in zip(created, prepared, strict=True)
            }
            for key in self.handle.children
        }
        for key, by_parent in rows_of.items():
            await children.write(self.db, self.handle, key, by_parent, replace=False)
        for key in self.handle.links:
            links_of = {
                row["id"]: values.get(key) for row, values in zip(created, prepared, strict=True)
            }
            await links.write(self.db, self.handle, key, links_of, replace=False)
            rows_of[key] = links_of
        await attachments.record(
            self.db,
            self.handle,
            [(row["id"], values) for row, values in zip(created, prepared, strict=True)],
            replace=False,
        )
        await search_index.add(self.db, self.handle, [(r["id"], r["search_text"]) for r in created])
        for row, values in zip(created, prepared, strict=True):
            changes = {
                k: [None, self._api(k, v)] for k, v in values.items() if v is not None and v != []
            }
            self._history(row["id"], "create", changes)
            self._event("created", row["id"], changes)
        shown: dict[str, Any] = dict(rows_of)
        shown.update(await lookups.load(self.db, self.handle, created, self.actor, None, shown))
        return [self.handle.to_api(row, children=shown) for row in created]

    # --- update --------------------------------------------------------------------------------

    async def update(
        self, record_id: int, row_version: int, values: dict[str, Any]
    ) -> dict[str, Any]:
        [record] = await self.update_many([(record_id, row_version, values)])
        return record

    async def update_many(
        self, items: list[tuple[int, int, dict[str, Any]]]
    ) -> list[dict[str, Any]]:
        if len(items) > MAX_BULK:
            raise ProblemError("validation_failed", detail=f"at most {MAX_BULK} records at once")
        ids = [record_id for record_id, _, _ in items]
        if len(set(ids)) != len(ids):
            raise ProblemError("validation_failed", detail="a record appears twice")
        current = await self._load_for_update(ids)
        current_rows = await related.stored(self.db, self.handle, ids)
        context = logic_context(self.actor)
        submitted, problems = await attachments.resolve(
            self.db, self.handle, self.actor, [values for _, _, values in items], ids
        )
        prepared: list[dict[str, Any]] = []
        for index, ((record_id, row_version, _), values) in enumerate(
            zip(items, submitted, strict=True)
        ):
            row = current.get(record_id)
            if row is None:
                raise ProblemError("not_found", detail=f"record {record_id}")
            if row["row_version"] != row_version:
                raise ProblemError(
                    "conflict",
                    extra={"record_id": record_id, "current_row_version": row["row_version"]},
                )
            existing = self.handle.storage_values(row, current_rows)
            result = self.handle.validator.check(values, existing=existing, context=context)
            problems.extend(_prefixed(result.problems, f"[{index}]." if len(items) > 1 else ""))
            prepared.append({k: v for k, v in result.values.items() if existing.get(k) != v})
        if not problems:
            problems.extend(await self._reference_problems(prepared, multiple=len(items) > 1))
            problems.extend(await self._unique_problems(prepared, ids))
        if problems:
            raise invalid(problems)
        now = utcnow()
        actor_id = self.actor.user_id if self.actor else None
        updated = []
        for (record_id, row_version, _), changed in zip(items, prepared, strict=True):
            before = self.handle.storage_values(current[record_id], current_rows)
            statement = (
                update(self.table)
                .where(self.table.c.id == record_id, self.table.c.row_version == row_version)
                .values(
                    **self._columns(changed),
                    **self._document_change(before, changed),
                    updated_at=now,
                    updated_by=actor_id,
                    row_version=self.table.c.row_version + 1,
                )
                .returning(*self.table.c)
            )
            try:
                row = (await self.db.execute(statement)).one_or_none()
            except IntegrityError as exc:
                raise self._integrity_problem(exc) from exc
            if row is None:  # changed since we read it
                raise ProblemError("conflict", extra={"record_id": record_id})
            if self._document_change(before, changed):
                await search_index.replace(self.db, self.handle, record_id, row.search_text)
            for key in self.handle.children:
                if key in changed:
                    rows = {record_id: changed[key] or []}
                    await children.write(self.db, self.handle, key, rows, replace=True)
                    current_rows[key][record_id] = changed[key] or []
            for key in self.handle.links:
                if key in changed:
                    targets = {record_id: changed[key]}
                    await links.write(self.db, self.handle, key, targets, replace=True)
                    current_rows[key][record_id] = changed[key]
            await attachments.record(self.db, self.handle, [(record_id, changed)], replace=True)
            changes = {
                key: [self._api(key, before[key]), self._api(key, value)]
                for key, value in changed.items()
            }
            if changes:
                self._history(record_id, "update", changes)
                self._event("updated", record_id, changes)
            updated.append(row._mapping)
        shown: dict[str, Any] = dict(current_rows)
        shown.update(await lookups.load(self.db, self.handle, updated, self.actor, None, shown))
        return [self.handle.to_api(row, children=shown) for row in updated]

    # --- delete and restore --------------------------------------------------------------------

    async def delete(self, record_id: int, row_version: int | None = None) -> dict[str, Any]:
        return await self._set_deleted(record_id, row_version, deleted=True)

    async def restore(self, record_id: int) -> dict[str, Any]:
        return await self._set_deleted(record_id, None, deleted=False)

    async def _set_deleted(
        self, record_id: int, row_version: int | None, *, deleted: bool
    ) -> dict[str, Any]:
        table = self.table
        row = (
            (await self.db.execute(select(table).where(table.c.id == record_id)))
            .mappings()
            .one_or_none()
        )
        if row is None or (row["deleted_at"] is not None) == deleted:
            raise ProblemError("not_found")
        if row_version is not None and row["row_version"] != row_version:
            raise ProblemError("conflict", extra={"current_row_version": row["row_version"]})
        if not deleted:
            problems = await self._unique_problems([self.handle.storage_values(row)], [record_id])
            if problems:
                raise invalid(problems)
        actor_id = self.actor.user_id if self.actor else None
        result = await self.db.execute(
            update(table)
            .where(table.c.id == record_id, table.c.row_version == row["row_version"])
            .values(
                deleted_at=utcnow() if deleted else None,
                updated_by=actor_id,
                updated_at=utcnow(),
                row_version=table.c.row_version + 1,
            )
            .returning(*table.c)
        )
        updated = result.one_or_none()
        if updated is None:
            raise ProblemError("conflict")
        action = "delete" if deleted else "restore"
        self._history(record_id, action, {})
        self._event("deleted" if deleted else "restored", record_id, {})
        shown = await related.load(self.db, self.handle, [updated._mapping], self.actor)
        return self.handle.to_api(updated._mapping, children=shown)

    # --- helpers -------------------------------------------------------------------------------

    async def _generate(self, prepared: list[dict[str, Any]]) -> None:
        """Fill server-generated fields (auto-numbers) of new records."""
        moment = local_now(self.time_zone)
        for spec in self.handle.form.fields:
            field_type = self.handle.field_type(spec.key)
            if not field_type.generated:
                continue
            pattern = field_type.settings(spec).pattern
            numbers = await take_numbers(
                self.db, self.handle.form_id, spec.id, pattern, moment, len(prepared)
            )
            for values, number in zip(prepared, numbers, strict=True):
                values[spec.key] = number

    def _column_name(self, key: str) -> str:
        return f"f_{self.handle.spec(key).id}"

    def _document(self, values: dict[str, Any]) -> str | None:
        """The search words of a record's searchable fields (stored values)."""
        texts = []
        for key, stored in values.items():
            field_type = self.handle.field_type(key)
            if field_type.searchable and stored is not None:
                spec = self.handle.spec(key)
                texts.append(field_type.format_text(spec, field_type.from_storage(spec, stored)))
        return search.document(texts)

    def _document_change(self, before: dict[str, Any], changed: dict[str, Any]) -> dict[str, Any]:
        if not any(self.handle.field_type(key).searchable for key in changed):
            return {}
        return {"search_text": self._document({**before, **changed})}

    def _columns(self, values: dict[str, Any]) -> dict[str, Any]:
        """Values of the fields stored in the record's own row."""
        return {
            self._column_name(k): v
            for k, v in values.items()
            if self.handle.field_type(k).has_column
        }

    def _api(self, key: str, stored: Any) -> Any:
        if stored is None:
            return None
        if key in self.handle.children:
            return self.handle.rows_to_api(key, stored)
        spec = self.handle.spec(key)
        return FIELD_TYPES.get(spec.type).from_storage(spec, stored)

    async def _load_for_update(self, ids: list[int]) -> dict[int, Any]:
        query = select(self.table).where(
            self.table.c.id.in_(ids), self.table.c.deleted_at.is_(None)
        )
        if self.db.bind.dialect.name == "postgresql":
            query = query.with_for_update()
        rows = (await self.db.execute(query)).mappings().all()
        return {row["id"]: row for row in rows}

    async def _reference_problems(
        self, prepared: list[dict[str, Any]], *, multiple: bool
    ) -> list[FieldProblem]:
        """Referenced users, departments and related records must exist and, for related
        records, be live and visible to the writer (one query per target)."""
        wanted: dict[tuple[str, str | int], set[int]] = {}
        where: list[tuple[str, int, tuple[str, str | int]]] = []
        for index, values in enumerate(prepared):
            prefix = f"[{index}]." if multiple else ""
            for key, value in values.items():
                field_type, spec = self.handle.field_type(key), self.handle.spec(key)
                target = field_type.reference(spec)
                if target is None or value is None:
                    continue
                for suffix, referenced in field_type.references(spec, value):
                    wanted.setdefault(target, set()).add(referenced)
                    where.append((f"{prefix}{key}{suffix}", referenced, target))
        missing: dict[tuple[str, str | int], set[int]] = {}
        for target, ids in wanted.items():
            found: set[int] = set()
            ordered = sorted(ids)
            for start in range(0, len(ordered), REFERENCE_CHUNK):
                found |= await self._existing(target, ordered[start : start + REFERENCE_CHUNK])
            missing[target] = ids - found
        return [
            FieldProblem(path, "unknown_reference", {"id": value})
            for path, value, target in where
            if value in missing[target]
        ]

    async def _existing(self, target: tuple[str, str | int], ids: list[int]) -> set[int]:
        kind, name = target
        if kind == "table":
            model = _REFERENCE_TABLES[str(name)]
            query = select(model.id).where(model.id.in_(ids))
        else:
            related = await sibling(self.db, self.handle, int(name))
            table = related.table
            query = select(table.c.id).where(table.c.id.in_(ids), table.c.deleted_at.is_(None))
            if self.actor is not None:
                query = query.where(read_scope(related, self.actor))
        return set((await self.db.execute(query)).scalars())

    async def _unique_problems(
        self, prepared: list[dict[str, Any]], ids: list[int | None]
    ) -> list[FieldProblem]:
        """Unique values repeated in ``prepared`` or held by another live record.

        One query per unique field for the whole batch (not one per value), so a
        1,000-row import chunk costs one round trip per unique field.
        """
        problems: list[FieldProblem] = []
        multiple = len(prepared) > 1
        for spec in self.handle.form.fields:
            if not spec.unique:
                continue
            column = self.table.c[f"f_{spec.id}"]
            first: dict[Any, int] = {}
            repeated: set[int] = set()
            for index, values in enumerate(prepared):
                value = values.get(spec.key)
                if value is None:
                    continue
                if value in first:
                    repeated.add(index)
                else:
                    first[value] = index
            holders: dict[Any, set[int]] = {}
            if first:
                found = await self.db.execute(
                    select(column, self.table.c.id).where(
                        column.in_(list(first)), self.table.c.deleted_at.is_(None)
                    )
                )
                for value, record_id in found:
                    holders.setdefault(value, set()).add(record_id)
            for index, values in enumerate(prepared):
                value = values.get(spec.key)
                if value is None:
                    continue
                if index in repeated or holders.get(value, set()) - {ids[index]}:
                    prefix = f"[{index}]." if multiple else ""
                    problems.append(FieldProblem(f"{prefix}{spec.key}", "not_unique"))
        return problems

    def _integrity_problem(self, exc: IntegrityError) -> ProblemError:
        text = str(exc.orig)
        for spec in self.handle.form.fields:
            if spec.unique and f"f_{spec.id}" in text:
                return invalid([FieldProblem(spec.key, "not_unique")])
        return ProblemError("conflict", detail="the write conflicts with another record")

    def _history(self, record_id: int, action: str, changes: dict[str, Any]) -> None:
        self.db.add(
            RecordHistory(
                form_id=self.handle.form_id,
                record_id=record_id,
                actor_id=self.actor.user_id if self.actor else None,
                action=action,
                source=self.source,
                changes=_jsonable(changes),
                request_id=request_id_var.get(),
            )
        )

    def _event(self, kind: str, record_id: int, changes: dict[str, Any]) -> None:
        events = self.db.info.setdefault("record_events", [])
        events.append(
            RecordEvent(
                kind,
                self.handle.app_id,
                self.handle.form_id,
                record_id,
                self.actor.user_id if self.actor else None,
                changes,
            )
        )


def _prefixed(problems: list[FieldProblem], prefix: str) -> list[FieldProblem]:
    return [FieldProblem(f"{prefix}{p.field}", p.code, p.params) for p in problems]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
