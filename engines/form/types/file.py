"""File family: attachments — uploaded files, with a count, a size and a type limit.

The API value is a list of files ``{id, filename, size, content_type, sha256}``. Clients send a
list of file ids (from ``POST /api/v1/files``) or the objects they read. The records service
resolves them to the files' metadata before the value is validated (``holds_files``): each file
must exist and have been uploaded by the writer or already be held by the record, and it
records which record holds which file, so that whoever can read the record can download it.
This type checks the limits and stores the metadata as a JSON array: reads, history and exports
need no second query (a file's metadata never changes; the bytes are stored once per content,
by their SHA-256, see ``runtime.files.storage``).

``accept`` lists MIME types (``application/pdf``), MIME families (``image/*``) and extensions
(``.pdf``); a file is accepted when one entry matches. A MIME entry must match the type the
upload declared and, when the file name has a known extension, the type of that extension too,
so ``setup.exe`` declared as ``image/png`` is refused by ``image/*``.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB

from engines.form.errors import InvalidValue
from engines.form.schema import FieldSpec
from engines.form.types.base import FieldType, split_cell

#: The metadata kept per file, in this order.
FILE_KEYS = ("id", "filename", "size", "content_type", "sha256")
_EXTENSION = re.compile(r"^\.[a-z0-9][a-z0-9._+-]{0,30}$")
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126})$")
_MARKED_ID = re.compile(r"\(#(\d{1,19})\)")
#: Built-in extension → type table only (not /etc/mime.types), so every host decides alike.
_TYPES = mimetypes.MimeTypes()


def readable_size(size: int) -> str:
    """``10485760`` → ``10 MiB``."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


class AttachmentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_files: int = Field(default=10, ge=1, le=100, description="Most files in the field")
    max_size_bytes: int | None = Field(
        default=None, ge=1, description="Largest file (the upload limit applies anyway)"
    )
    accept: list[str] = Field(
        default_factory=list,
        max_length=50,
        description='MIME types, "image/*" families or ".pdf" extensions; empty: any file',
    )

    @field_validator("accept")
    @classmethod
    def _accept(cls, value: list[str]) -> list[str]:
        patterns = [item.strip().lower() for item in value]
        for pattern in patterns:
            if not (_EXTENSION.match(pattern) or _MIME.match(pattern)):
                raise ValueError(f"{pattern!r} is neither a MIME type, type/* nor an .extension")
        return patterns

    def accepts(self, filename: str, content_type: str) -> bool:
        if not self.accept:
            return True
        name = filename.lower()
        declared = content_type.split(";")[0].strip().lower()
        guessed, _ = _TYPES.guess_type(name, strict=False)
        for pattern in self.accept:
            if pattern.startswith("."):
                if name.endswith(pattern):
                    return True
            elif _mime_matches(pattern, declared) and (
                guessed is None or _mime_matches(pattern, guessed.lower())
            ):
                return True
        return False


def _mime_matches(pattern: str, content_type: str) -> bool:
    if pattern.endswith("/*"):
        return content_type.startswith(pattern[:-1])
    return content_type == pattern


def _file_id(item: Any) -> int | None:
    value = item.get("id") if isinstance(item, dict) else item
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    return None


class Attachments(FieldType):
    type = "attachments"
    family = "file"
    Settings = AttachmentSettings
    logic_kind = "array"
    holds_files = True
    sortable = False
    searchable = True
    aggregations = frozenset({"count"})
    sql_type = JSON().with_variant(JSONB(), "postgresql")
    schema_codes = {"maxItems": "too_many_files", "anyOf": "invalid_attachment"}

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        reference = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
        return {
            "type": "array",
            "items": {
                "anyOf": [
                    reference,
                    {"type": "object", "properties": {"id": reference}, "required": ["id"]},
                ]
            },
            "maxItems": self.settings(spec).max_files,
        }

    def file_ids(self, spec: FieldSpec, value: Any) -> list[int] | None:
        if not isinstance(value, list):
            return None
        ids = [_file_id(item) for item in value]
        return None if any(i is None for i in ids) else [i for i in ids if i is not None]

    def attach(self, spec: FieldSpec, value: Any, files: Mapping[int, dict[str, Any]]) -> Any:
        return [files[i] for i in self.file_ids(spec, value) or []]

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        """Check resolved files (``attach``) against the limits; the stored metadata."""
        settings = self.settings(spec)
        ids = self.file_ids(spec, value)
        if ids is None:
            raise InvalidValue("invalid_attachment")
        if len(value) > settings.max_files:
            raise InvalidValue("too_many_files", max=settings.max_files)
        if len(set(ids)) != len(ids):
            raise InvalidValue("duplicate_reference")
        stored = []
        for item in value:
            if not isinstance(item, dict) or any(key not in item for key in FILE_KEYS):
                raise InvalidValue("unknown_reference", id=_file_id(item))  # not resolved
            file = {key: item[key] for key in FILE_KEYS}
            if settings.max_size_bytes is not None and file["size"] > settings.max_size_bytes:
                raise InvalidValue(
                    "file_too_large",
                    filename=file["filename"],
                    limit=readable_size(settings.max_size_bytes),
                )
            if not settings.accepts(file["filename"], file["content_type"]):
                raise InvalidValue(
                    "file_type_refused",
                    filename=file["filename"],
                    content_type=file["content_type"],
                )
            stored.append(file)
        return stored

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        """``12, 15`` or an export's ``report.pdf (#12), photo.png (#15)``: file ids."""
        marked = _MARKED_ID.findall(raw)
        if marked:
            return [int(i) for i in marked]
        parts = split_cell(raw)
        if not all(part.isascii() and part.isdigit() for part in parts):
            raise InvalidValue("invalid_attachment")
        return [int(part) for part in parts]

    def format_text(self, spec: FieldSpec, value: Any) -> str:
        return ", ".join(f"{file['filename']} (#{file['id']})" for file in value or [])
