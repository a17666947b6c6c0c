"""Bodies of the import and export endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints, field_validator

from runtime.deps import MAX_ID
from runtime.errors import reject_nul
from runtime.records.schemas import StrictModel

Header = Annotated[str, StringConstraints(max_length=500)]


class ImportIn(StrictModel):
    file_id: int = Field(ge=1, le=MAX_ID, description="An uploaded file (POST /api/v1/files)")
    dry_run: bool = Field(default=False, description="Check every row, write nothing")
    mapping: dict[Header, Annotated[str, StringConstraints(max_length=63)] | None] | None = Field(
        default=None,
        max_length=1000,
        description="Column header → field key (null skips the column); other columns "
        "match a field by key or by label in any language",
    )

    @field_validator("mapping")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)


class ImportRowError(BaseModel):
    row: int = Field(description="Spreadsheet row; the header is row 1")
    column: str | None
    field: str | None
    code: str
    message: str


class ImportColumn(BaseModel):
    column: str
    field: str | None


class ImportReportOut(BaseModel):
    ok: bool
    dry_run: bool
    rows: int
    valid_rows: int
    invalid_rows: int
    created: int
    columns: list[ImportColumn]
    unknown_columns: list[str] = Field(description="Headers that match no field (not imported)")
    skipped_columns: list[str] = Field(description="Columns mapped to null or filled by the system")
    errors: list[ImportRowError]
    errors_truncated: bool


class ImportJobOut(BaseModel):
    job_id: int
    status: str
    url: str = Field(description="Follow the job's progress here; its result is the report")
