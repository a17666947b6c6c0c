"""Exporting records as CSV or XLSX, a page at a time, with the list endpoint's rules.

The filter, sort and read scope are the list endpoint's own (:func:`reader.list_records`, keyset
pages of :data:`PAGE` records), so an export holds one page in memory whatever its size. Cells
are the field types' ``format_text``; headers are labels in the caller's language (or keys), so
an exported file imports again unchanged.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.errors import FieldError, ProblemError
from runtime.records import reader
from runtime.records.columns import export_headers, exportable
from runtime.records.forms import FormHandle
from runtime.records.scope import require
from runtime.records.tabular import XlsxWriter, csv_bytes

PAGE = reader.MAX_PAGE
FILE_CHUNK = 64 * 1024


@dataclass(frozen=True)
class ExportQuery:
    filter_rule: Any
    sort: str | None
    keys: list[str]
    headers: list[str]
    search: str | None = None


def prepare(
    handle: FormHandle,
    principal: Principal,
    *,
    filter_text: str | None,
    sort: str | None,
    fields: str | None,
    locale: str,
    by_key: bool,
    search: str | None = None,
) -> ExportQuery:
    """Check the query up front, so that mistakes are a 422 and not a broken download."""
    rights = require(handle, principal, "export")
    rule = reader.parse_filter(filter_text)
    reader.compile_filter(handle, rule, principal)
    reader.parse_sort(handle, sort, rights)
    keys = reader.parse_fields(handle, fields, rights.hidden_keys())
    if keys is None:
        keys = [key for key in handle.form.keys if exportable(handle, key)]
    blocked = [key for key in keys if not exportable(handle, key)]
    if blocked:
        raise ProblemError(
            "validation_failed",
            errors=[FieldError("fields", "not_exportable", f"{blocked[0]!r} is not one cell")],
        )
    headers = export_headers(handle, keys, locale, by_key=by_key)
    return ExportQuery(rule, sort, keys, headers, search or None)


def format_row(handle: FormHandle, keys: list[str], values: dict[str, Any]) -> list[str]:
    cells = []
    for key in keys:
        value = values.get(key)
        spec = handle.spec(key)
        cells.append("" if value is None else handle.field_type(key).format_text(spec, value))
    return cells


async def pages(
    db: AsyncSession, handle: FormHandle, principal: Principal, query: ExportQuery
) -> AsyncIterator[list[list[str]]]:
    """Formatted rows, one keyset page at a time."""
    cursor: str | None = None
    while True:
        page = await reader.list_records(
            db,
            handle,
            principal,
            filter_rule=query.filter_rule,
            sort=query.sort,
            limit=PAGE,
            cursor=cursor,
            fields=",".join(query.keys),
            action="export",
            search=query.search,
        )
        yield [format_row(handle, query.keys, item["values"]) for item in page.items]
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


async def csv_stream(
    sessions: Any, handle: FormHandle, principal: Principal, query: ExportQuery
) -> AsyncIterator[bytes]:
    """UTF-8 CSV with a BOM (so Excel shows Chinese text right), streamed page by page.

    The first page is read before this returns, so that a failing query is an error response
    rather than a download that breaks off.
    """
    db: AsyncSession = sessions()
    rows = pages(db, handle, principal, query)
    try:
        first = await anext(rows)
    except BaseException:
        await rows.aclose()
        await db.close()
        raise

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield csv_bytes([query.headers, *first], bom=True)
            async for page in rows:
                if page:
                    yield csv_bytes(page)
        finally:
            await rows.aclose()
            await db.close()

    return stream()


async def xlsx_file(
    db: AsyncSession, handle: FormHandle, principal: Principal, query: ExportQuery, title: str
) -> Path:
    """The workbook in a temporary file (openpyxl write-only: rows go to disk as they come)."""
    descriptor, name = tempfile.mkstemp(prefix="tangram-export-", suffix=".xlsx")
    os.close(descriptor)
    path = Path(name)
    try:
        writer = XlsxWriter(title)
        writer.append(query.headers)
        async for rows in pages(db, handle, principal, query):
            for row in rows:
                writer.append(row)
        await asyncio.to_thread(writer.save, path)
    except BaseException:
        await asyncio.to_thread(path.unlink, True)
        raise
    return path


def file_stream(path: Path) -> tuple[AsyncIterator[bytes], int]:
    """Stream a temporary file; it is unlinked at once and vanishes when the stream ends."""
    handle = path.open("rb")
    path.unlink(missing_ok=True)
    size = os.fstat(handle.fileno()).st_size

    async def chunks() -> AsyncIterator[bytes]:
        with handle:
            while chunk := handle.read(FILE_CHUNK):
                yield chunk

    return chunks(), size
