"""A widget's data as CSV or XLSX: one row per group, a column per dimension and measure.

Needs the ``export`` right on every form the widget reads; the rows are those both the read and
the export scope cover (as a records export). Written with the records exporter's machinery
(:mod:`runtime.records.tabular`: formula-like cells neutralised in CSV, text cells in XLSX).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from engines.report.spec import Dashboard, Widget
from runtime.records.exporter import file_stream
from runtime.records.tabular import XlsxWriter, csv_bytes
from runtime.reports import service
from runtime.reports.results import cell_text


def table(result: dict[str, Any], locale: str) -> tuple[list[str], list[list[str]]]:
    """The shaped result as a header and rows: a column per dimension and measure (and the
    previous period's value of a compared measure); a record table's fields as they come.
    A user, department or related record shows by its name (the result's ``labels``); the
    measures stay plain numbers (a spreadsheet formats them itself)."""
    columns = [c for c in result.get("columns", []) if c["role"] in ("dimension", "measure")]
    rows = result.get("rows", [])
    if not columns and rows:
        columns = [
            {"key": k, "role": "record", "label": {}} for k in rows[0] if not k.startswith("_")
        ]
    header = [_title(c, locale) for c in columns]
    previous = [c for c in result.get("columns", []) if c["role"] == "previous"]
    suffix = _PREVIOUS.get(locale, _PREVIOUS["en"])
    header += [f"{_title(c, locale)} ({suffix})" for c in previous]
    names = result.get("labels") or {}

    def text(column: dict[str, Any], value: Any) -> str:
        shown = (names.get(column["key"]) or {}).get(str(value)) if value is not None else None
        return shown if shown is not None else cell_text(value)

    body = []
    for row in rows:
        cells = [text(c, row.get(c["key"])) for c in columns]
        compare = row.get("_compare") or {}
        cells += [cell_text((compare.get(c["key"]) or {}).get("previous")) for c in previous]
        body.append(cells)
    return header, body


_PREVIOUS = {"en": "previous period", "zh-CN": "上一周期"}


def _title(column: dict[str, Any], locale: str) -> str:
    label = column.get("label") or {}
    return str(label.get(locale) or label.get("en") or column["key"])


async def widget_file(
    db: AsyncSession,
    context: service.ReportContext,
    board: Dashboard,
    widget: Widget,
    filters: dict[str, Any],
    fmt: str,
    locale: str,
) -> tuple[AsyncIterator[bytes], int | None]:
    """The file's chunks and, for XLSX, its size."""
    service.check_filters(board, filters)
    prepared = service.prepare(context, board, widget, filters, action="export")
    outcome = await service.execute_prepared(db, context, prepared)
    titles, rows = table(outcome.result or {}, locale)
    if fmt == "csv":
        body = csv_bytes([titles, *rows], bom=True)

        async def one() -> AsyncIterator[bytes]:
            yield body

        return one(), len(body)
    path = await asyncio.to_thread(_xlsx, widget.title.get(locale) or widget.key, titles, rows)
    return file_stream(path)


def _xlsx(title: str, titles: list[str], rows: list[list[str]]) -> Path:
    descriptor, name = tempfile.mkstemp(prefix="tangram-report-", suffix=".xlsx")
    os.close(descriptor)
    path = Path(name)
    try:
        writer = XlsxWriter(title)
        writer.append(titles)
        for row in rows:
            writer.append(row)
        writer.save(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
