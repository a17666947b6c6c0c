"""The one write path for records (DESIGN §10.11): validate → write → history → events.

Every record write — the API, imports, and later flows, rules and channels — goes through
:class:`RecordWriter`, so they all validate, convert, check references and uniqueness, record
history and raise events the same way. Events are delivered after the transaction commits.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from builder.apps.permissions import Grant
from engines.form import search
from engines.form.errors import FieldProblem
from engines.form.registry import FIELD_TYPES
from engines.form.types.computed import format_number
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.config import get_settings
from runtime.db import utcnow
from runtime.errors import ProblemError
from runtime.org.models import Department, DepartmentMember
from runtime.permissions.access import Access, access, logic_context
from runtime.records import attachments, children, links, lookups, related, search_index
from runtime.records.errors import invalid
from runtime.records.forms import FormHandle, sibling
from runtime.records.models import RecordHistory
from runtime.records.numbering import local_now, take_numbers
from runtime.records.scope import read_scope, require
from runtime.records.versions import mark_written
from runtime.requestctx import request_id_var

MAX_BULK = 1000
#: Marks a new row whose department the insert reads itself (the creator's primary one).
_PRIMARY_DEPARTMENT = object()
_PRIMARY_DEPARTMENT_QUERY = (
    select(DepartmentMember.department_id)
    .where(
        DepartmentMember.user_id == bindparam("department_user"),
        DepartmentMember.is_primary.is_(True),
    )
    .limit(1)
)
#: Built single-row insert statements on PostgreSQL (see ``RecordWriter._folded``).
_FOLDED: dict[tuple[Any, ...], Any] = {}
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
    #: The published app version the write went through (flows read their triggers from it).
    version_id: int | None = None


@dataclass
class SystemStamp:
    """What only the system may set on a new record (template seed rows): its system times,
    owner and department, and whether its "created" event is raised (``events`` False: the
    record is written quietly — no rules, flows or notifications). Never taken from a
    request: only :meth:`RecordWriter.create_many` ``system=`` reads it, which no route
    passes."""

    created_at: datetime | None = None
    updated_at: datetime | None = None
    owner_id: int | None = None
    department_id: int | None = None
    events: bool = True


Listener = Callable[[RecordEvent], Awaitable[None]]
_listeners: list[Listener] = []


def on_record_event(listener: Listener) -> Listener:
    """Register a listener (rules, flows, webhooks) for record events after commit."""
    _listeners.append(listener)
    return listener


Hook = Callable[[AsyncSession, list[RecordEvent]], Awaitable[None]]
_hooks: list[Hook] = []
#: Rounds of hooks causing new events (a flow setting a field that starts a flow …).
MAX_CASCADE = 8


def in_transaction(hook: Hook) -> Hook:
    """Register a hook that sees record events inside their transaction, before commit
    (flows start here, so a record and the process it starts commit together)."""
    _hooks.append(hook)
    return hook


async def run_hooks(db: AsyncSession) -> None:
    """Give the in-transaction hooks every event they have not seen yet; events their own
    writes cause are handed to them again, up to ``MAX_CASCADE`` rounds."""
    if not isinstance(db, AsyncSession):
        # Events delivered after their transaction committed (a large import's spool):
        # in-transaction hooks have nothing to write into.
        return
    events: list[RecordEvent] = db.info.get("record_events", [])
    for _ in range(MAX_CASCADE):
        seen = db.info.get("record_events_seen", 0)
        if seen >= len(events) or not _hooks:
            return
        db.info["record_events_seen"] = len(events)
        batch = events[seen:]
        for hook in list(_hooks):
            await hook(db, batch)
    if db.info.get("record_events_seen", 0) < len(events):
        raise ProblemError(
            "validation_failed",
            detail=f"record writes kept triggering each other more than {MAX_CASCADE} times",
        )


async def commit_and_dispatch(db: AsyncSession) -> None:
    """Run the in-transaction hooks, commit, then deliver the events after commit."""
    await run_hooks(db)
    events: list[RecordEvent] = db.info.pop("record_events", [])
    db.info.pop("record_events_seen", None)
    await db.commit()
    for event in events:
        for listener in list(_listeners):
            await listener(event)


class RecordWriter:
    def __init__(
        self,
        db: AsyncSession,
        handle: FormHandle,
        actor: Principal | None,
        *,
        source: str = "api",
        time_zone: str | None = None,
        author_id: int | None = None,
        department_id: int | None = None,
        owner_id: int | None = None,
    ) -> None:
        """``actor`` None writes as the system (no permission checks); ``author_id`` then
        names who the history shows (a flow task's assignee writing the fields its node
        lets them edit), and ``department_id`` / ``owner_id`` whose records new ones are (a
        rule's records belong to the record that fired it); otherwise new records belong to
        their creator and the creator's primary department."""
        self.db = db
        self.handle = handle
        self.actor = actor
        self.author_id = actor.user_id if actor is not None else author_id
        self.department_id = department_id if actor is None else None
        self.owner_id = owner_id if actor is None else None
        self.source = source
        self.table = handle.table
        self.time_zone = time_zone or get_settings().time_zone
        self._history_rows: list[dict[str, Any]] = []

    # --- create --------------------------------------------------------------------------------

    async def create(self, values: dict[str, Any]) -> dict[str, Any]:
        [record] = await self.create_many([values])
        return record

    async def create_many(
        self, items: list[dict[str, Any]], *, system: list[SystemStamp] | None = None
    ) -> list[dict[str, Any]]:
        """Validate every item first; insert all or nothing. ``system`` (one stamp per item,
        writing as the system only) sets what no request can: system times, owner,
        department, and quiet rows."""
        if system is not None and (self.actor is not None or len(system) != len(items)):
            raise ValueError("system stamps are for system writes, one per item")
        if len(items) > MAX_BULK:
            raise ProblemError("validation_failed", detail=f"at most {MAX_BULK} records at once")
        context = logic_context(self.actor)
        restricted: set[str] = set()
        if self.actor is not None:
            restricted = require(self.handle, self.actor, "create").restricted_for_write("create")
        items, problems = await attachments.resolve(
            self.db, self.handle, self.actor, items, [None] * len(items)
        )
        prepared = []
        for index, values in enumerate(items):
            result = self.handle.validator.check(values, context=context)
            prefix = f"[{index}]." if len(items) > 1 else ""
            problems.extend(_prefixed(result.problems, prefix))
            problems.extend(_refused(values, restricted, prefix))
            prepared.append(result.values)
        if not problems:
            problems.extend(await self._reference_problems(prepared, multiple=len(items) > 1))
            if len(prepared) > 1:
                problems.extend(await self._unique_problems(prepared, [None] * len(prepared)))
        if problems:
            raise invalid(problems)
        await self._generate(prepared, system)
        now = utcnow()
        actor_id = self.author_id
        department = await self._department(inline=len(prepared) == 1)
        stamps = system or [None] * len(prepared)
        rows = [
            {
                **self._columns(values),
                "created_at": now,
                "updated_at": now,
                "created_by": actor_id,
                "updated_by": actor_id,
                "owner_id": self.owner_id if self.owner_id is not None else actor_id,
                "department_id": department,
                "row_version": 1,
                "search_text": self._document(values),
                **_stamped(stamp),
            }
            for values, stamp in zip(prepared, stamps, strict=True)
        ]
        # One executemany needs the same columns in every row (empty ones are NULL).
        names = {name for row in rows for name in row}
        rows = [{**dict.fromkeys(names), **row} for row in rows]
        changes_of = [
            {k: [None, self._api(k, v)] for k, v in values.items() if v is not None and v != []}
            for values in prepared
        ]
        created = await self._insert(rows, prepared, changes_of, stamped=system is not None)
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
        for row, changes, stamp in zip(created, changes_of, stamps, strict=True):
            if stamp is None or stamp.events:
                self._event("created", row["id"], changes)
            else:
                mark_written(self.db, self.handle.form_id)  # quiet, but the data changed
        shown: dict[str, Any] = dict(rows_of)
        shown.update(await lookups.load(self.db, self.handle, created, self.actor, None, shown))
        return [self.handle.to_api(row, self._shown(), children=shown) for row in created]

    async def _insert(
        self,
        rows: list[dict[str, Any]],
        prepared: list[dict[str, Any]],
        changes_of: list[dict[str, Any]],
        *,
        stamped: bool = False,
    ) -> list[dict[str, Any]]:
        """Insert the rows and their "create" history (at the rows' creation time when
        ``stamped``); return the rows as stored.

        A batch was checked for unique values beforehand (one query per unique field). A single
        row is not: the partial unique indexes decide, through ``ON CONFLICT DO NOTHING``, which
        keeps the transaction usable (an import goes on after a refused row) and saves a round
        trip on every create. Only when the row was refused are the values looked up, to name
        the field. On PostgreSQL a single row's history is written by the same statement (a
        data-modifying CTE), one round trip for both.
        """
        dialect = self.db.bind.dialect.name
        single = len(rows) == 1
        statement: Any = insert(self.table)
        if single and self.handle.unique_keys:
            upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            statement = upsert(self.table).on_conflict_do_nothing()
        folded = single and dialect == "postgresql" and not stamped
        if folded:
            statement, parameters = self._folded(rows[0], changes_of[0])
        else:
            statement = statement.returning(*self.table.c, sort_by_parameter_order=True)
            # One row goes as a plain execute: executemany ("insertmanyvalues") costs more.
            parameters = rows[0] if single else rows
        try:
            result = await self.db.execute(statement, parameters)
        except IntegrityError as exc:
            raise self._integrity_problem(exc) from exc
        created = [dict(r._mapping) for r in result.all()]
        if single and not created:
            problems = await self._unique_problems(prepared, [None])
            if problems:
                raise invalid(problems)
            raise ProblemError("conflict", detail="the write conflicts with another record")
        if not folded:
            for row, changes in zip(created, changes_of, strict=True):
                self._history(row["id"], "create", changes)
                if stamped:
                    self._history_rows[-1]["at"] = row["created_at"]
                    self._history_rows[-1]["actor_id"] = row["created_by"]
            await self._flush_history()
        return created

    def _folded(self, row: dict[str, Any], changes: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """PostgreSQL: ``WITH created AS (INSERT … RETURNING *), history AS (INSERT INTO
        record_history … SELECT … FROM created) SELECT * FROM created`` and its parameters.
        The statement is built once per form version and set of columns (building it costs
        more than running it) and cached."""
        names = tuple(sorted(row))
        inline_department = row.get("department_id") is _PRIMARY_DEPARTMENT
        key = (self.handle.stamp, self.handle.form_id, names, inline_department)
        statement = _FOLDED.get(key)
        if statement is None:
            statement = _FOLDED[key] = self._build_folded(names, inline_department)
            if len(_FOLDED) > 256:
                _FOLDED.pop(next(iter(_FOLDED)))
        parameters = {f"v_{n}": v for n, v in row.items() if v is not _PRIMARY_DEPARTMENT}
        history = self._history_row(0, "create", changes)
        history.pop("record_id")
        parameters.update({f"h_{n}": v for n, v in history.items()})
        if inline_department:
            parameters["department_user"] = self.author_id
        return statement, parameters

    def _build_folded(self, names: tuple[str, ...], inline_department: bool) -> Any:
        table = self.table
        values: dict[str, Any] = {n: bindparam(f"v_{n}", type_=table.c[n].type) for n in names}
        if inline_department:
            values["department_id"] = _PRIMARY_DEPARTMENT_QUERY.scalar_subquery()
        statement: Any = postgresql.insert(table).values(values)
        if self.handle.unique_keys:
            statement = statement.on_conflict_do_nothing()
        created = statement.returning(*table.c).cte("created")
        history = RecordHistory.__table__
        columns = [c.name for c in history.c if c.name not in ("id", "record_id")]
        binds = [bindparam(f"h_{c}", type_=history.c[c].type) for c in columns]
        writes = insert(history).from_select(["record_id", *columns], select(created.c.id, *binds))
        return select(created).add_cte(writes.cte("history"))

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
        rights = require(self.handle, self.actor, "update") if self.actor else None
        current, granted = await self._load_for_update(ids, rights)
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
            if rights is not None and not rights.admin and not granted[record_id]:
                raise ProblemError("forbidden", extra={"action": "update", "record_id": record_id})
            if row["row_version"] != row_version:
                raise ProblemError(
                    "conflict",
                    extra={"record_id": record_id, "current_row_version": row["row_version"]},
                )
            existing = self.handle.storage_values(row, current_rows)
            result = self.handle.validator.check(values, existing=existing, context=context)
            prefix = f"[{index}]." if len(items) > 1 else ""
            problems.extend(_prefixed(result.problems, prefix))
            prepared.append({k: v for k, v in result.values.items() if existing.get(k) != v})
            if rights is not None:  # a read-only value sent back unchanged is fine
                restricted = rights.restricted_for_write("update", granted[record_id])
                problems.extend(_refused(prepared[-1], restricted, prefix))
        if not problems:
            problems.extend(await self._reference_problems(prepared, multiple=len(items) > 1))
            problems.extend(await self._unique_problems(prepared, ids))
        if problems:
            raise invalid(problems)
        now = utcnow()
        actor_id = self.author_id
        updated = []
        mark_written(self.db, self.handle.form_id)  # even a write that changes no value
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
        await self._flush_history()
        shown: dict[str, Any] = dict(current_rows)
        shown.update(await lookups.load(self.db, self.handle, updated, self.actor, None, shown))
        return [self.handle.to_api(row, self._shown(), children=shown) for row in updated]

    # --- delete and restore --------------------------------------------------------------------

    async def delete(self, record_id: int, row_version: int | None = None) -> dict[str, Any]:
        return await self._set_deleted(record_id, row_version, deleted=True)

    async def restore(self, record_id: int) -> dict[str, Any]:
        return await self._set_deleted(record_id, None, deleted=False)

    async def _set_deleted(
        self, record_id: int, row_version: int | None, *, deleted: bool
    ) -> dict[str, Any]:
        table = self.table
        query = select(table).where(table.c.id == record_id)
        if self.actor is not None:
            rights = require(self.handle, self.actor, "delete")
            query = query.where(read_scope(self.handle, self.actor))
            query = query.add_columns(rights.rows("delete").label("_may_delete"))
        row = (await self.db.execute(query)).mappings().one_or_none()
        if row is None or (row["deleted_at"] is not None) == deleted:
            raise ProblemError("not_found")
        if self.actor is not None and not row["_may_delete"]:
            raise ProblemError("forbidden", extra={"action": "delete", "record_id": record_id})
        if row_version is not None and row["row_version"] != row_version:
            raise ProblemError("conflict", extra={"current_row_version": row["row_version"]})
        if not deleted:
            problems = await self._unique_problems([self.handle.storage_values(row)], [record_id])
            if problems:
                raise invalid(problems)
        actor_id = self.author_id
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
        await self._flush_history()
        shown = await related.load(self.db, self.handle, [updated._mapping], self.actor)
        return self.handle.to_api(updated._mapping, self._shown(), children=shown)

    # --- helpers -------------------------------------------------------------------------------

    async def _generate(
        self, prepared: list[dict[str, Any]], stamps: list[SystemStamp] | None = None
    ) -> None:
        """Fill server-generated fields (auto-numbers) of new records. A record stamped with
        its own creation time (seed rows) is numbered at that moment: a ticket of 3 March
        gets a March number, and numbers follow creation time within each counter scope."""
        now = local_now(self.time_zone)
        zone = now.tzinfo
        moments = [
            _aware(stamp.created_at).astimezone(zone)
            if stamp is not None and stamp.created_at is not None
            else now
            for stamp in (stamps or [None] * len(prepared))
        ]
        for spec in self.handle.form.fields:
            field_type = self.handle.field_type(spec.key)
            if not field_type.generated:
                continue
            pattern = field_type.settings(spec).pattern
            scopes: dict[str, list[int]] = {}
            for index, moment in enumerate(moments):
                scopes.setdefault(format_number(pattern, moment, 0)[0], []).append(index)
            for indices in scopes.values():
                indices.sort(key=lambda i: moments[i])
                numbers = await take_numbers(
                    self.db,
                    self.handle.form_id,
                    spec.id,
                    pattern,
                    moments[indices[0]],
                    len(indices),
                )
                for index, number in zip(indices, numbers, strict=True):
                    prepared[index][spec.key] = number

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

    async def _load_for_update(
        self, ids: list[int], rights: Access | None
    ) -> tuple[dict[int, Any], dict[int, list[Grant]]]:
        """The live rows the writer can read, locked (PostgreSQL), and per row the update
        grants whose scope covers it (one flag column per grant, in the same query)."""
        grants = rights.granting("update") if rights is not None and not rights.admin else []
        flags = [rights.grant_scope(g).label(f"_grant_{i}") for i, g in enumerate(grants)]  # type: ignore[union-attr]
        query = select(self.table, *flags).where(
            self.table.c.id.in_(ids), self.table.c.deleted_at.is_(None)
        )
        if self.actor is not None:
            query = query.where(read_scope(self.handle, self.actor))
        if self.db.bind.dialect.name == "postgresql":
            query = query.with_for_update(of=self.table)
        rows = (await self.db.execute(query)).mappings().all()
        granted = {
            row["id"]: [g for i, g in enumerate(grants) if row[f"_grant_{i}"]] for row in rows
        }
        return {row["id"]: row for row in rows}, granted

    def _shown(self) -> list[str] | None:
        """The fields a write answers with: those the writer may read on every row (a field
        shown on some rows only is left out: the answer is not masked per row)."""
        if self.actor is None:
            return None
        rights = access(self.handle, self.actor)
        if rights.admin:
            return None
        return [k for k in self.handle.form.keys if rights.field_visibility(k) is True]

    async def _department(self, *, inline: bool) -> Any:
        """The department of new records: the creator's primary department. When the
        membership was not loaded (administrators), a single row on PostgreSQL reads it inside
        its insert (no round trip); otherwise it is read here."""
        if self.actor is None:
            return self.department_id
        if self.actor.membership is not None:
            return self.actor.membership.primary_department_id
        if inline and self.db.bind.dialect.name == "postgresql":
            return _PRIMARY_DEPARTMENT  # read by the insert itself (see _folded)
        return await self.db.scalar(
            _PRIMARY_DEPARTMENT_QUERY, {"department_user": self.actor.user_id}
        )

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
        """Name the unique field in a constraint error (PostgreSQL names the index
        ``ux_t_1_f_9``, SQLite the column ``t_1.f_9``: match the whole name, not ``f_90``)."""
        text = str(exc.orig)
        for spec in self.handle.form.fields:
            if spec.unique and re.search(rf"\bf_{spec.id}\b", text):
                return invalid([FieldProblem(spec.key, "not_unique")])
        return ProblemError("conflict", detail="the write conflicts with another record")

    def _history(self, record_id: int, action: str, changes: dict[str, Any]) -> None:
        """Queue a history row; :meth:`_flush_history` writes the queue in one statement."""
        self._history_rows.append(self._history_row(record_id, action, changes))

    def _history_row(self, record_id: int, action: str, changes: dict[str, Any]) -> dict[str, Any]:
        return {
            "form_id": self.handle.form_id,
            "record_id": record_id,
            "at": utcnow(),
            "actor_id": self.author_id,
            "action": action,
            "source": self.source,
            "changes": _jsonable(changes),
            "request_id": request_id_var.get(),
        }

    async def _flush_history(self) -> None:
        rows, self._history_rows = self._history_rows, []
        if rows:
            await self.db.execute(
                insert(RecordHistory.__table__), rows[0] if len(rows) == 1 else rows
            )

    def _event(self, kind: str, record_id: int, changes: dict[str, Any]) -> None:
        mark_written(self.db, self.handle.form_id)  # raises the form's data version at commit
        events = self.db.info.setdefault("record_events", [])
        events.append(
            RecordEvent(
                kind,
                self.handle.app_id,
                self.handle.form_id,
                record_id,
                self.author_id,
                changes,
                self.handle.version_id,
            )
        )


def _aware(moment: datetime) -> datetime:
    """A stored time without a zone is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _stamped(stamp: SystemStamp | None) -> dict[str, Any]:
    """The row columns a system stamp sets (the owner also as creator and last editor)."""
    if stamp is None:
        return {}
    columns: dict[str, Any] = {}
    if stamp.created_at is not None:
        columns["created_at"] = stamp.created_at
    if (stamp.updated_at or stamp.created_at) is not None:
        columns["updated_at"] = stamp.updated_at or stamp.created_at
    if stamp.owner_id is not None:
        columns.update(
            owner_id=stamp.owner_id, created_by=stamp.owner_id, updated_by=stamp.owner_id
        )
    if stamp.department_id is not None:
        columns["department_id"] = stamp.department_id
    return columns


def _refused(values: dict[str, Any], restricted: set[str], prefix: str) -> list[FieldProblem]:
    """Values sent for fields the writer may not set (hidden or read-only for them)."""
    return [FieldProblem(f"{prefix}{key}", "read_only") for key in values if key in restricted]


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
