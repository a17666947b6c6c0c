"""Reading and writing spreadsheets as rows of text cells: CSV and XLSX, streamed.

Reading never holds the whole file: CSV goes through ``csv.reader`` over the open file, XLSX
through openpyxl's read-only mode (rows parsed as the sheet XML is read). Writing uses
``csv.writer`` per chunk and openpyxl's write-only mode. Every cell is text: the field types'
``parse_text`` / ``format_text`` turn it into values and back.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, Literal

from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from runtime.errors import ProblemError

Format = Literal["csv", "xlsx"]
Row = tuple[int, list[str]]

CHUNK = 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls
_CSV_TYPES = {"text/csv", "text/plain", "application/csv", "text/comma-separated-values"}
_XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Cells a spreadsheet would run as a formula get an apostrophe in CSV exports (and text that
#: already starts with apostrophes before such a character one more), which imports remove.
_FORMULA_LIKE = re.compile(r"^'*[=+\-@\t\r]")
_NEUTRALISED = re.compile(r"^'+[=+\-@\t\r]")
#: Signed numbers and phone numbers (+86…) are safe as they are.
_NUMBER = re.compile(r"^[+-]?\d[\d,]*(\.\d+)?%?$")

# Long text (rich text, notes) is legitimately larger than csv's 128 KiB default.
csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))


def unreadable(detail: str) -> ProblemError:
    return ProblemError("unreadable_file", detail=detail[:300])


# --- format ------------------------------------------------------------------------------------


def detect_format(path: Path, filename: str, content_type: str) -> Format:
    """CSV or XLSX from the file's first bytes, name and type; 422 for anything else."""
    with path.open("rb") as handle:
        head = handle.read(8)
    name = filename.lower()
    kind = content_type.split(";")[0].strip().lower()
    if head.startswith(_OLE_MAGIC) or name.endswith(".xls"):
        raise ProblemError("unsupported_file_type", detail="save the sheet as .xlsx or .csv")
    if name.endswith((".xlsx", ".xlsm")) or kind == _XLSX_TYPE:
        if not head.startswith(_ZIP_MAGIC):
            raise unreadable("an XLSX workbook is a zip archive; this file is not")
        return "xlsx"
    if name.endswith((".csv", ".txt")) or kind in _CSV_TYPES:
        if head.startswith(_ZIP_MAGIC):
            raise unreadable("the file is a zip archive, not CSV text")
        return "csv"
    raise ProblemError("unsupported_file_type", detail="send a .csv or .xlsx file")


# --- CSV ---------------------------------------------------------------------------------------


def sniff_encoding(path: Path) -> str:
    """utf-8 (with or without BOM), utf-16 with BOM, else GB18030 (Excel in Chinese Windows)."""
    with path.open("rb") as handle:
        head = handle.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        handle.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        valid = True
        while chunk := handle.read(CHUNK):
            if b"\x00" in chunk:
                raise unreadable("the file contains NUL bytes: it is not CSV text")
            if valid:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid = False
        if valid:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                valid = False
    return "utf-8" if valid else "gb18030"


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def _csv_rows(path: Path) -> Iterator[list[str]]:
    encoding = sniff_encoding(path)
    try:
        with path.open(encoding=encoding, newline="") as text:
            first = text.readline(65536)
            text.seek(0)
            for row in csv.reader(text, delimiter=_delimiter(first)):
                yield [unneutralise(cell) for cell in row]
    except UnicodeError as exc:
        raise unreadable(f"the text is neither UTF-8 nor GB18030 ({exc.reason})") from exc
    except csv.Error as exc:
        raise unreadable(f"malformed CSV: {exc}") from exc


# --- XLSX --------------------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """The text of a typed XLSX cell, as a person would type it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def _open_workbook(path: Path) -> tuple[Any, IO[bytes]]:
    # A file object, not the path: openpyxl refuses names without an .xlsx extension, and
    # stored files have none.
    source = path.open("rb")
    try:
        return load_workbook(source, read_only=True, data_only=True), source
    except Exception as exc:  # zip, XML and openpyxl errors alike: the file is broken
        source.close()
        raise unreadable(f"not a readable XLSX workbook ({type(exc).__name__})") from exc


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    workbook, source = _open_workbook(path)
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None or not hasattr(sheet, "reset_dimensions"):
            raise unreadable("the workbook has no worksheet")
        sheet.reset_dimensions()  # do not trust the stored size: no padding to it
        for row in sheet.iter_rows(values_only=True):
            yield [cell_text(v) for v in row]
    except ProblemError:
        raise
    except Exception as exc:
        raise unreadable(f"the worksheet cannot be read ({type(exc).__name__})") from exc
    finally:
        workbook.close()
        source.close()


def xlsx_declared_rows(path: Path) -> int | None:
    """The row count the sheet declares (its ``dimension``), without reading the rows."""
    workbook, source = _open_workbook(path)
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        return getattr(sheet, "max_row", None)
    except Exception:
        return None
    finally:
        workbook.close()
        source.close()


# --- reading -----------------------------------------------------------------------------------


def read_table(path: Path, fmt: Format) -> Iterator[Row]:
    """Non-empty rows as (spreadsheet row number, stripped cells); the first is the header."""
    rows: Iterable[list[str]] = _xlsx_rows(path) if fmt == "xlsx" else _csv_rows(path)
    for number, cells in enumerate(rows, start=1):
        stripped = [c.strip() for c in cells]
        if any(stripped):
            yield number, stripped


def count_rows(path: Path, fmt: Format, stop_after: int | None = None) -> int:
    """Data rows (without the header), counting no further than ``stop_after``."""
    count = -1
    for _ in read_table(path, fmt):
        count += 1
        if stop_after is not None and count >= stop_after:
            break
    return max(count, 0)


def estimate_rows(path: Path, fmt: Format) -> int:
    """Data rows, cheaply: the declared size of an XLSX sheet, a line count for CSV."""
    if fmt == "xlsx":
        declared = xlsx_declared_rows(path)
        return max((declared or 1) - 1, 0)
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            lines += chunk.count(b"\n")
    return lines  # an upper bound (quoted cells may span lines); exact below it


def unneutralise(cell: str) -> str:
    """Undo the apostrophe that CSV exports put before formula-like text."""
    return cell[1:] if _NEUTRALISED.match(cell) else cell


def column_letter(index: int) -> str:
    return get_column_letter(index + 1)


# --- writing -----------------------------------------------------------------------------------


def _neutralise(text: str) -> str:
    if _FORMULA_LIKE.match(text) and not _NUMBER.match(text):
        return "'" + text
    return text


def csv_bytes(rows: Iterable[list[str]], *, bom: bool = False) -> bytes:
    """Rows as UTF-8 CSV (CRLF line ends, like Excel); formula-like cells neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([_neutralise(c) for c in row] for row in rows)
    return (codecs.BOM_UTF8 if bom else b"") + buffer.getvalue().encode("utf-8")


class XlsxWriter:
    """A write-only workbook with one sheet of text cells (no cell is ever a formula)."""

    def __init__(self, title: str) -> None:
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title=_sheet_title(title))

    def append(self, cells: list[str]) -> None:
        row = []
        for text in cells:
            cell = WriteOnlyCell(self.sheet, ILLEGAL_CHARACTERS_RE.sub("", text))
            cell.data_type = "s"
            row.append(cell)
        self.sheet.append(row)

    def save(self, path: Path) -> None:
        try:
            self.workbook.save(path)
        finally:
            self.workbook.close()


def _sheet_title(title: str) -> str:
    cleaned = "".join(c for c in title if c not in "[]:*?/\\").strip("'")
    return cleaned[:31] or "Sheet1"
