"""Importing spreadsheet rows into a form: parse, validate, write — all rows or none.

Rows stream from the file in chunks of at most :data:`~runtime.records.writer.MAX_BULK`. Each
chunk's cells are parsed by the field types (``parse_text``) and written with
:meth:`RecordWriter.create_many` (source ``import``), so imported records are validated,
checked (references, uniqueness), versioned and announced exactly like API writes. All chunks
are written inside one SAVEPOINT of the caller's transaction: a dry run, or an import with any
bad row, rolls the savepoint back, so nothing is written; otherwise the caller commits.

Bad rows do not stop the run: every bad row is reported (up to :data:`MAX_REPORTED`
entries) with its spreadsheet row number (the header is row 1), column, field and a message in
the caller's language.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.errors import FieldProblem
from runtime.auth.principal import Principal
from runtime.errors import ProblemError
from runtime.permissions.access import logic_context
from runtime.records.columns import CellProblem, ColumnPlan, message, plan_columns
from runtime.records.errors import field_errors
from runtime.records.event_spool import EventSpool
from runtime.records.forms import FormHandle
from runtime.records.tabular import Format, Row, read_table
from runtime.records.writer import MAX_BULK, RecordWriter

MAX_ROWS = 1_000_000
MAX_REPORTED = 10_000
CHUNK_ROWS = MAX_BULK
_INDEXED = re.compile(r"^\[(\d+)\]\.?(.*)$")

Progress = Callable[[int], Awaitable[None]]


@dataclass
class ImportReport:
    """What an import did (or, for a dry run or bad rows, would have done)."""

    dry_run: bool
    columns: list[dict[str, Any]]
    unknown_columns: list[str]
    skipped_columns: list[str]
    rows: int = 0
    valid_rows: int = 0
    invalid_rows: int = 0
    created: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.invalid_rows == 0

    def add(
        self, row: int, column: str | None, field_key: str | None, code: str, text: str
    ) -> None:
        if len(self.errors) >= MAX_REPORTED:
            self.errors_truncated = True
            return
        self.errors.append(
            {"row": row, "column": column, "field": field_key, "code": code, "message": text}
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "valid_rows": self.valid_rows,
            "invalid_rows": self.invalid_rows,
            "created": self.created,
            "columns": self.columns,
            "unknown_columns": self.unknown_columns,
            "skipped_columns": self.skipped_columns,
            "errors": self.errors,
            "errors_truncated": self.errors_truncated,
        }


class Importer:
    def __init__(
        self,
        db: AsyncSession,
        handle: FormHandle,
        actor: Principal | None,
        plan: ColumnPlan,
        report: ImportReport,
        time_zone: str | None = None,
    ) -> None:
        self.db = db
        self.handle = handle
        self.actor = actor
        self.plan = plan
        self.report = report
        self.writer = RecordWriter(db, handle, actor, source="import", time_zone=time_zone)
        self.context = logic_context(actor)

    async def chunk(self, rows: list[Row]) -> None:
        items: list[dict[str, Any]] = []
        numbers: list[int] = []
        for number, cells in rows:
            values, problems = self.plan.parse(cells)
            if problems:
                self._cell_problems(number, values, problems)
            else:
                items.append(values)
                numbers.append(number)
        await self._write(items, numbers)

    def _cell_problems(
        self, number: int, values: dict[str, Any], problems: list[CellProblem]
    ) -> None:
        """Report the cells that did not parse, and what else is wrong with the row."""
        self.report.invalid_rows += 1
        for problem, text in field_errors_for(problems):
            self.report.add(number, problem.column, problem.field, problem.code, text)
        failed = {p.field for p in problems}
        # Files are resolved against the database by the writer, when the row is written.
        checkable = {k: v for k, v in values.items() if not self.handle.field_type(k).holds_files}
        rest = self.handle.validator.check(checkable, context=self.context).problems
        for error in field_errors(rest):
            key = error.field.split(".")[0].split("[")[0]
            if key in failed:
                continue
            self.report.add(number, self._column(key), key or None, error.code, error.message)

    async def _write(self, items: list[dict[str, Any]], numbers: list[int]) -> None:
        """Create the chunk's rows; when some are refused, report them and create the rest.

        The rest are still written (inside the savepoint) so that later chunks are checked
        against them, e.g. for uniqueness. Every pass drops at least one row, so this ends.
        """
        while items:
            try:
                await self.writer.create_many(items)
            except ProblemError as exc:
                if exc.code != "validation_failed" or not exc.errors:
                    raise
                bad = self._report_errors(exc, numbers, single=len(items) == 1)
                items = [item for i, item in enumerate(items) if i not in bad]
                numbers = [number for i, number in enumerate(numbers) if i not in bad]
                continue
            self.report.valid_rows += len(items)
            return

    def _report_errors(self, exc: ProblemError, numbers: list[int], *, single: bool) -> set[int]:
        bad: set[int] = set()
        for error in exc.errors:
            match = None if single else _INDEXED.match(error.field)
            index, path = (int(match[1]), match[2]) if match else (0, error.field)
            if index >= len(numbers):
                index = 0
            key = path.split(".")[0].split("[")[0]
            if index not in bad:
                bad.add(index)
                self.report.invalid_rows += 1
            self.report.add(
                numbers[index], self._column(key), key or None, error.code, error.message
            )
        return bad

    def _column(self, key: str) -> str | None:
        return self.plan.column_of(key) if key else None


def field_errors_for(problems: list[CellProblem]) -> list[tuple[CellProblem, str]]:
    """Each cell problem with its message in the caller's language."""
    localized = []
    for problem in problems:
        if problem.code == "cell_without_header":
            localized.append((problem, message(problem.code)))
            continue
        [error] = field_errors([FieldProblem(problem.field or "", problem.code, problem.params)])
        localized.append((problem, error.message))
    return localized


def read_header(rows: Iterator[Row]) -> Row:
    first = next(rows, None)
    if first is None:
        raise ProblemError("empty_file")
    return first


def header_of(path: Path, fmt: Format) -> list[str]:
    """The header row of a file (blocking: call it in a thread)."""
    rows = read_table(path, fmt)
    try:
        return read_header(rows)[1]
    finally:
        rows.close()


async def run_import(
    db: AsyncSession,
    handle: FormHandle,
    actor: Principal | None,
    rows: Iterator[Row],
    *,
    dry_run: bool,
    mapping: dict[str, str | None] | None = None,
    progress: Progress | None = None,
    time_zone: str | None = None,
    spool: EventSpool | None = None,
) -> ImportReport:
    """Import ``rows`` (header first); the caller commits when the report is ``ok``.

    With a ``spool``, each chunk's record events move there instead of staying in the session.
    """
    _, header = read_header(rows)
    plan = plan_columns(handle, header, mapping)
    report = ImportReport(dry_run, plan.describe(), plan.unknown, plan.skipped)
    importer = Importer(db, handle, actor, plan, report, time_zone)
    events: list[Any] = db.info.setdefault("record_events", [])
    pending = len(events)
    savepoint = await db.begin_nested()
    try:
        while chunk := list(islice(rows, CHUNK_ROWS)):
            report.rows += len(chunk)
            if report.rows > MAX_ROWS:
                raise ProblemError("too_many_rows", params={"limit": MAX_ROWS})
            await importer.chunk(chunk)
            if spool is not None:
                spool.take(events, pending)
            if progress is not None:
                await progress(report.rows)
            await asyncio.sleep(0)  # let other requests in between chunks
    except BaseException:
        await savepoint.rollback()
        _forget(events, pending, spool)
        raise
    report.errors.sort(key=lambda e: e["row"])
    if dry_run or not report.ok:
        await savepoint.rollback()
        _forget(events, pending, spool)
    else:
        await savepoint.commit()
        report.created = report.valid_rows
    return report


def _forget(events: list[Any], pending: int, spool: EventSpool | None) -> None:
    """Drop the events of rolled-back writes."""
    del events[pending:]
    if spool is not None:
        spool.discard()
