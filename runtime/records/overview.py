"""A record's overview (its 360° view): the records of other forms pointing at it, merged into
one timeline newest first, and key figures over them (``FormSchema.overview``).

Every source and figure is read through the viewer's scope on its own form: rows they may not
read are neither shown nor counted, hidden fields read as NULL (they are not shown, a figure
over one counts nothing), and a form they may not read at all is left out. The relation a
source follows is read through the same rights, so a row whose link to this record is hidden
from the viewer does not show here either.

One query per source per page (keyset: time, source, id — the relation column is indexed),
one aggregate query per (form, relation) pair of figures.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.overview import TIME_COLUMNS
from engines.form.registry import FIELD_TYPES
from engines.form.schema import KeyFigure, Labels, Overview, TimelineSource
from engines.form.types.dates import UTCTimestamp
from engines.logic import LogicError
from engines.logic.sql import compile_condition
from runtime.auth.principal import Principal
from runtime.errors import FieldError, ProblemError
from runtime.permissions.access import Access, access, logic_context
from runtime.records.forms import FormHandle, resolve_app

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


@dataclass
class Source:
    """A timeline source as the viewer may read it."""

    index: int
    spec: TimelineSource
    handle: FormHandle
    rights: Access
    #: Keys shown (the title first when it is not among ``fields``), hidden ones left out.
    shown: list[str]
    title: str | None

    @property
    def label(self) -> Labels:
        return self.spec.label or self.handle.form.label


@dataclass
class Entry:
    """One record on the timeline."""

    source: int
    form: str
    record_id: int
    at: datetime
    title: Any
    values: dict[str, Any]


@dataclass
class Figure:
    key: str
    label: Labels
    form: str
    agg: str
    field: str | None
    value: Any


@dataclass
class TimelinePage:
    sources: list[Source]
    entries: list[Entry]
    next_cursor: str | None


def overview_of(handle: FormHandle) -> Overview:
    """The form's overview; 404 ``overview_not_found`` when it has none."""
    overview = handle.form.overview
    if overview is None or not (overview.sources or overview.figures):
        raise ProblemError("overview_not_found", params={"form": handle.form.key})
    return overview


def _bad_cursor() -> ProblemError:
    return ProblemError(
        "validation_failed",
        errors=[FieldError("before", "bad_cursor", "not a cursor from a previous page")],
    )


def encode_cursor(entry: Entry) -> str:
    raw = json.dumps({"t": entry.at.isoformat(), "s": entry.source, "i": entry.record_id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        at = datetime.fromisoformat(data["t"])
        source, record_id = data["s"], data["i"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _bad_cursor() from exc
    ints = (source, record_id)
    if (
        at.tzinfo is None
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in ints)
        or not (0 <= source < 1000 and 0 < record_id < 2**63)
    ):
        raise _bad_cursor()
    return at, source, record_id


async def _others(db: AsyncSession, handle: FormHandle) -> dict[str, FormHandle]:
    published = await resolve_app(db, handle.app_key)
    return published.handles


def _via(rights: Access, key: str) -> Any:
    """The relation column as the viewer may read it (None: hidden everywhere)."""
    return rights.readable(key)


def _linked(handle: FormHandle, rights: Access, key: str, record_id: int) -> ColumnElement[bool]:
    """Rows whose relation ``key`` points at ``record_id`` and shows it to the viewer: the
    plain column comparison (served by the relation's index) and, where the field is hidden on
    some rows, the same through the viewer's rights."""
    column = handle.column(key)
    readable = _via(rights, key)
    if readable is column:
        return column == record_id  # type: ignore[no-any-return]
    return and_(column == record_id, readable == record_id)


async def sources(db: AsyncSession, handle: FormHandle, principal: Principal) -> list[Source]:
    """The overview's timeline sources the viewer may read."""
    overview = overview_of(handle)
    handles = await _others(db, handle)
    found = []
    for index, spec in enumerate(overview.sources):
        other = handles.get(spec.form)
        if other is None or spec.via not in other.validator.specs:
            continue
        rights = access(other, principal)
        if not rights.can("read") or _via(rights, spec.via) is None:
            continue
        hidden = rights.hidden_keys()
        title = spec.title or other.form.title_field
        keys = [k for k in [title, *spec.fields] if k is not None]
        shown = [
            k
            for k in dict.fromkeys(keys)
            if k in other.validator.specs and k not in hidden and other.field_type(k).has_column
        ]
        found.append(Source(index, spec, other, rights, shown, title if title in shown else None))
    return found


def _time(source: Source) -> Any:
    table = source.handle.table
    if source.spec.time in TIME_COLUMNS:
        return table.c[source.spec.time]
    readable = source.rights.readable(source.spec.time)
    if readable is None:
        return table.c.created_at
    return func.coalesce(readable, table.c.created_at, type_=UTCTimestamp())


def _before(source: Source, time: Any, cursor: tuple[datetime, int, int]) -> ColumnElement[bool]:
    """Rows after the cursor in the timeline's order (time desc, source asc, id desc)."""
    at, index, record_id = cursor
    table = source.handle.table
    if source.index > index:
        return time <= at  # type: ignore[no-any-return]
    if source.index < index:
        return time < at  # type: ignore[no-any-return]
    return or_(time < at, and_(time == at, table.c.id < record_id))


async def timeline(
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    record_id: int,
    *,
    before: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> TimelinePage:
    """A page of the merged timeline of record ``record_id`` (which the caller may read:
    check that first), newest first; ``before`` is the ``next_cursor`` of the previous page."""
    cursor = decode_cursor(before) if before else None
    limit = max(1, min(limit, MAX_LIMIT))
    readable = await sources(db, handle, principal)
    candidates: list[Entry] = []
    for source in readable:
        table = source.handle.table
        time = _time(source)
        condition = and_(
            source.rights.rows("read"),
            table.c.deleted_at.is_(None),
            _linked(source.handle, source.rights, source.spec.via, record_id),
        )
        if cursor is not None:
            condition = and_(condition, _before(source, time, cursor))
        query = (
            select(*source.rights.read_columns(), time.label("_overview_at"))
            .where(condition)
            .order_by(time.desc(), table.c.id.desc())
            .limit(limit + 1)
        )
        for row in (await db.execute(query)).mappings():
            values = source.handle.to_api(row, source.shown)["values"]
            candidates.append(
                Entry(
                    source.index,
                    source.handle.form.key,
                    row["id"],
                    row["_overview_at"],
                    values.get(source.title) if source.title else None,
                    values,
                )
            )
    candidates.sort(key=lambda e: (e.at, -e.source, e.record_id), reverse=True)
    page = candidates[:limit]
    more = len(candidates) > limit
    return TimelinePage(readable, page, encode_cursor(page[-1]) if more and page else None)


def _aggregate(figure: KeyFigure, other: FormHandle, rights: Access, principal: Principal) -> Any:
    """The figure's aggregate expression over ``other`` as the viewer may read it, or None
    when it uses a field hidden from them."""
    value: Any = literal(1)
    if figure.field is not None:
        value = rights.readable(figure.field)
        if value is None:
            return None
    condition: ColumnElement[bool] | None = None
    if figure.filter is not None:
        try:
            condition = compile_condition(
                figure.filter, rights.filter_fields(), context=logic_context(principal)
            )
        except LogicError:
            return None  # a field of the filter is hidden from the viewer
    if condition is not None:
        value = case((condition, value), else_=null())
    if figure.agg == "count":
        return func.count(value)
    return getattr(func, figure.agg)(value)


def _result(figure: KeyFigure, other: FormHandle, value: Any) -> Any:
    if figure.agg == "count":
        return int(value or 0)
    if value is None:
        return None
    if figure.agg == "avg":
        return round(float(value), 2)
    spec = other.spec(figure.field or "")
    return FIELD_TYPES.get(spec.type).from_storage(spec, value)


async def figures(
    db: AsyncSession, handle: FormHandle, principal: Principal, record_id: int
) -> list[Figure]:
    """The overview's key figures for record ``record_id`` over the rows the viewer may read
    (figures on forms they may not read, or over fields hidden from them, are left out)."""
    overview = overview_of(handle)
    handles = await _others(db, handle)
    groups: dict[tuple[str, str], list[KeyFigure]] = defaultdict(list)
    for figure in overview.figures:
        groups[(figure.form, figure.via)].append(figure)
    values: dict[str, Figure] = {}
    for (form_key, via), members in groups.items():
        other = handles.get(form_key)
        if other is None or via not in other.validator.specs:
            continue
        rights = access(other, principal)
        if not rights.can("read") or _via(rights, via) is None:
            continue
        columns = {}
        for figure in members:
            expression = _aggregate(figure, other, rights, principal)
            if expression is not None:
                columns[figure.key] = expression.label(f"_{len(columns)}")
        if not columns:
            continue
        table = other.table
        row = (
            await db.execute(
                select(*columns.values()).where(
                    rights.rows("read"),
                    table.c.deleted_at.is_(None),
                    _linked(other, rights, via, record_id),
                )
            )
        ).one()
        by_key = {f.key: f for f in members}
        for position, key in enumerate(columns):
            figure = by_key[key]
            values[key] = Figure(
                key,
                figure.label,
                form_key,
                figure.agg,
                figure.field,
                _result(figure, other, row[position]),
            )
    return [values[f.key] for f in overview.figures if f.key in values]
