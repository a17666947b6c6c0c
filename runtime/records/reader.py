"""Reading records: one record, and lists with a JsonLogic filter, sort and keyset paging."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.search import words as search_words
from engines.logic import LogicError
from engines.logic.sql import compile_condition
from runtime.auth.principal import Principal
from runtime.errors import FieldError, ProblemError
from runtime.permissions.access import SYSTEM_FIELDS, Access, access, logic_context
from runtime.records import related, search_index
from runtime.records.forms import FormHandle
from runtime.records.scope import read_scope, row_scope

MAX_PAGE = 500


@dataclass(frozen=True)
class SortKey:
    name: str
    expression: Any
    descending: bool


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None


def _bad(field: str, code: str, message: str) -> ProblemError:
    return ProblemError("validation_failed", errors=[FieldError(field, code, message)])


def parse_filter(raw: str | None) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _bad("filter", "malformed_json", f"not valid JSON: {exc.msg}") from exc


def compile_filter(handle: FormHandle, rule: Any, principal: Principal) -> ColumnElement[bool]:
    """A list filter over what the caller can read (a hidden field is an unknown field)."""
    if rule is None:
        return true()
    fields = access(handle, principal).filter_fields()
    try:
        return compile_condition(rule, fields, context=logic_context(principal))
    except LogicError as exc:
        raise _bad(f"filter{exc.path[1:]}", exc.code, exc.message) from exc


def parse_sort(handle: FormHandle, raw: str | None, rights: Access | None = None) -> list[SortKey]:
    keys: list[SortKey] = []
    for part in (raw or "").split(","):
        part = part.strip()
        if not part:
            continue
        descending = part.startswith("-")
        name = part.lstrip("-+")
        if name in SYSTEM_FIELDS:
            keys.append(SortKey(name, handle.table.c[name], descending))
            continue
        spec = handle.validator.specs.get(name)
        readable = None
        if spec is not None and handle.field_type(name).sortable:
            readable = rights.readable(name) if rights is not None else handle.column(name)
        if readable is None:
            raise _bad("sort", "not_sortable", f"cannot sort by {name!r}")
        keys.append(SortKey(name, readable, descending))
    if len(keys) > 4:
        raise _bad("sort", "too_many_keys", "sort by at most 4 keys")
    return keys


def parse_fields(
    handle: FormHandle, raw: str | None, hidden: set[str] | None = None
) -> list[str] | None:
    """The ``fields`` a list asked for (None: all), never one hidden from the caller."""
    hidden = hidden or set()
    if not raw:
        return [k for k in handle.form.keys if k not in hidden] if hidden else None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in handle.validator.specs or n in hidden]
    if unknown:
        raise _bad("fields", "unknown_field", f"no field {unknown[0]!r}")
    return names


def _encode_cursor(record_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": record_id}).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        after = json.loads(base64.urlsafe_b64decode(cursor.encode()))["after"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _bad("cursor", "bad_cursor", "not a cursor from a previous page") from exc
    if not isinstance(after, int) or isinstance(after, bool) or not 0 < after < 2**63:
        raise _bad("cursor", "bad_cursor", "not a cursor from a previous page")
    return after


def _after(
    keys: list[SortKey], values: list[Any], id_column: Any, last_id: int
) -> ColumnElement[bool]:
    """Rows after the cursor row in ORDER BY keys (NULLS LAST), id."""
    if not keys:
        return id_column > last_id  # type: ignore[no-any-return]
    key, rest = keys[0], keys[1:]
    value = values[0]
    tail = _after(rest, values[1:], id_column, last_id)
    if value is None:
        return and_(key.expression.is_(None), tail)
    beyond = key.expression < value if key.descending else key.expression > value
    return or_(beyond, key.expression.is_(None), and_(key.expression == value, tail))


def _order_by(key: SortKey) -> Any:
    """ASC/DESC, NULLS LAST. A NOT NULL column (id, created_at …) gets no NULLS clause: it
    changes nothing there, and PostgreSQL can then read the column's index backwards for a
    descending sort instead of sorting every matching row."""
    clause = key.expression.desc() if key.descending else key.expression.asc()
    return clause.nulls_last() if getattr(key.expression, "nullable", True) else clause


def _search(
    handle: FormHandle, rights: Access, query: str, dialect: str
) -> ColumnElement[bool] | None:
    """Records matching every word of ``query``. The search index holds the words of every
    searchable field; when some of them are hidden from the caller on some rows, the index
    could match on a hidden value, so the words are looked for in the fields they may read
    instead (slower, but nothing hidden can match)."""
    searchable = [
        spec.key
        for spec in handle.form.fields
        if handle.field_type(spec.key).searchable and handle.field_type(spec.key).has_column
    ]
    if all(rights.field_visibility(key) is True for key in searchable):
        return search_index.condition(handle, query, dialect)
    words = search_words(query)
    if not words:
        return None
    visible = [rights.readable(key) for key in searchable]
    columns = [func.lower(cast(c, String)) for c in visible if c is not None]
    if not columns:
        return false()
    return and_(
        *[or_(*[c.contains(word.lower(), autoescape=True) for c in columns]) for word in words]
    )


async def list_records(
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    *,
    filter_rule: Any = None,
    sort: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    fields: str | None = None,
    with_total: bool = False,
    deleted: bool = False,
    search: str | None = None,
    action: str = "read",
    where: ColumnElement[bool] | None = None,
) -> Page:
    """A page of the records the caller can read (and, for ``action`` other than read, may
    also ``action``: an export lists the rows both scopes cover). ``where`` narrows the list
    further (a report's drill-down: the rows behind one cell), inside the same scope."""
    table = handle.table
    rights = access(handle, principal)
    keys = parse_sort(handle, sort, rights)
    keep = parse_fields(handle, fields, rights.hidden_keys())
    condition = and_(
        read_scope(handle, principal),
        row_scope(handle, principal, action) if action != "read" else true(),
        compile_filter(handle, filter_rule, principal),
        table.c.deleted_at.is_not(None) if deleted else table.c.deleted_at.is_(None),
        true() if where is None else where,
    )
    if search:
        matches = _search(handle, rights, search, db.bind.dialect.name)
        if matches is not None:
            condition = and_(condition, matches)
    query = select(*rights.read_columns()).where(condition)
    if cursor:
        last_id = _decode_cursor(cursor)
        anchor = (
            (
                await db.execute(select(*[k.expression for k in keys]).where(table.c.id == last_id))
            ).one_or_none()
            if keys
            else ()
        )
        if anchor is None:
            raise _bad("cursor", "bad_cursor", "the cursor's record no longer exists")
        query = query.where(_after(keys, list(anchor), table.c.id, last_id))
    order = [_order_by(k) for k in keys]
    query = query.order_by(*order, table.c.id.asc()).limit(min(limit, MAX_PAGE) + 1)
    rows = (await db.execute(query)).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    total = None
    if with_total:
        total = (
            await db.execute(select(func.count()).select_from(table).where(condition))
        ).scalar_one()
    loaded = await related.load(db, handle, rows, principal, keep)
    return Page(
        items=[handle.to_api(row, keep, loaded) for row in rows],
        next_cursor=_encode_cursor(rows[-1]["id"]) if more and rows else None,
        total=total,
    )


async def get_record(
    db: AsyncSession, handle: FormHandle, principal: Principal, record_id: int
) -> dict[str, Any]:
    table = handle.table
    rights = access(handle, principal)
    row = (
        (
            await db.execute(
                select(*rights.read_columns()).where(
                    table.c.id == record_id, read_scope(handle, principal)
                )
            )
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise ProblemError("not_found")
    keep = parse_fields(handle, None, rights.hidden_keys())
    return handle.to_api(row, keep, children=await related.load(db, handle, [row], principal, keep))
