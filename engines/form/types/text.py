"""Text family: single-line text, multi-line text, rich text (sanitised HTML)."""

from __future__ import annotations

import re
from typing import Any

import nh3
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import String, Text
from sqlalchemy.types import TypeEngine

from engines.form.errors import InvalidValue
from engines.form.schema import FieldSpec
from engines.form.types.base import FieldType


class TextSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_length: int = Field(default=200, ge=1, le=4000)
    min_length: int = Field(default=0, ge=0)
    pattern: str | None = Field(default=None, max_length=500, description="A regular expression")

    @model_validator(mode="after")
    def _check(self) -> TextSettings:
        if self.min_length > self.max_length:
            raise ValueError("min_length is larger than max_length")
        if self.pattern is not None:
            re.compile(self.pattern)
        return self


class TextAreaSettings(TextSettings):
    max_length: int = Field(default=10000, ge=1, le=1_000_000)


class RichTextSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_length: int = Field(default=200_000, ge=1, le=5_000_000)


def _text_schema(settings: TextSettings) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "maxLength": settings.max_length}
    if settings.min_length:
        schema["minLength"] = settings.min_length
    if settings.pattern:
        schema["pattern"] = settings.pattern
    return schema


class SingleLineText(FieldType):
    type = "text"
    family = "text"
    Settings = TextSettings
    searchable = True
    unique_allowed = True
    aggregations = frozenset({"count", "count_distinct", "min", "max"})

    def column_type(self, spec: FieldSpec) -> TypeEngine[Any]:
        return String(self.settings(spec).max_length)

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return _text_schema(self.settings(spec))

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        value = str(value).strip()
        if "\n" in value or "\r" in value:
            raise InvalidValue("pattern")
        return value


class MultiLineText(FieldType):
    type = "textarea"
    family = "text"
    Settings = TextAreaSettings
    searchable = True
    sortable = False
    sql_type = Text()

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return _text_schema(self.settings(spec))

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        return str(value).replace("\r\n", "\n")


_ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "b",
    "em",
    "i",
    "u",
    "s",
    "del",
    "blockquote",
    "code",
    "pre",
    "h1",
    "h2",
    "h3",
    "h4",
    "ul",
    "ol",
    "li",
    "a",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "span",
    "hr",
    "sub",
    "sup",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


def sanitise_html(html: str) -> str:
    """Keep formatting markup; drop scripts, event handlers, styles and javascript: links."""
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )


_TAG_RE = re.compile(r"<[^>]+>")


class RichText(FieldType):
    type = "richtext"
    family = "text"
    Settings = RichTextSettings
    searchable = True
    sortable = False
    sql_type = Text()

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.settings(spec).max_length}

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        return sanitise_html(str(value))

    def format_text(self, spec: FieldSpec, value: Any) -> str:
        return "" if value is None else _TAG_RE.sub("", str(value))
