"""/api/v1/org/imports: the organisation from a CSV or XLSX file (administrators only)."""

from __future__ import annotations

import asyncio
from itertools import islice
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from runtime.deps import AdminUser, SessionDep
from runtime.errors import ProblemError
from runtime.org import importer
from runtime.org.schemas import OrgImportIn, OrgImportReportOut
from runtime.org.service import committing
from runtime.records.import_job import source_file
from runtime.records.tabular import Format, Row, read_table

router = APIRouter(prefix="/api/v1/org", tags=["organisation"])


def _rows(path: Path, fmt: Format) -> list[Row]:
    """The header and up to one row more than allowed (blocking: run it in a thread)."""
    rows = read_table(path, fmt)
    try:
        return list(islice(rows, importer.MAX_ROWS + 2))
    finally:
        rows.close()  # type: ignore[attr-defined]  # a generator


@router.post("/imports", response_model=OrgImportReportOut)
async def import_organisation(
    body: OrgImportIn, request: Request, admin: AdminUser, db: SessionDep
) -> Any:
    """Departments, users and memberships from an uploaded file: every row or none.

    A dry run reports every bad row and writes nothing; an import with bad rows is a 422
    ``import_invalid`` carrying the same report.
    """
    path, fmt = await source_file(db, admin, body.file_id, request.app.state.storage)
    rows = await asyncio.to_thread(_rows, path, fmt)
    async with committing(db):
        report = await importer.run_import(db, admin, rows, dry_run=body.dry_run)
        if not report.ok and not body.dry_run:
            raise ProblemError("import_invalid", extra=report.as_dict())
    return report.as_dict()
