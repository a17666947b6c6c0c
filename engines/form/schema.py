"""The form schema model: fields with stable ids, labels per locale, layout, linkage, rules.

A form is JSON validated by :class:`FormSchema`. Field ids are stable and never reused (the
physical column is ``f_<id>``); keys and labels can change freely without touching data.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LOCALES = ("en", "zh-CN")
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
_KEY_RE = re.compile(KEY_PATTERN)
#: Keys that would shadow system columns in records.
RESERVED_KEYS = frozenset(
    {
        "id",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "owner",
        "owner_id",
        "department",
        "department_id",
        "row_version",
        "deleted_at",
    }
)

Labels = dict[str, str]
Rule = Any  # a JsonLogic rule: validated by engines.logic.iter_errors


def _check_labels(value: Labels, *, required: bool = True) -> Labels:
    unknown = set(value) - set(LOCALES)
    if unknown:
        raise ValueError(f"unknown locale(s): {', '.join(sorted(unknown))}")
    if required and not any(v.strip() for v in value.values()):
        raise ValueError("give a label in at least one locale")
    return value


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Linkage(Model):
    """Per-field rules over the other fields (JsonLogic); each is optional."""

    visible: Rule | None = None
    required: Rule | None = None
    readonly: Rule | None = None
    value: Rule | None = None

    def rules(self) -> dict[str, Rule]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class FieldSpec(Model):
    id: int = Field(ge=1, description="Stable id; the column is f_<id>. Never reused.")
    key: str = Field(pattern=KEY_PATTERN)
    type: str
    label: Labels
    help: Labels = Field(default_factory=dict)
    required: bool = False
    unique: bool = False
    indexed: bool = False
    default: Any = None
    options: dict[str, Any] = Field(default_factory=dict)
    linkage: Linkage = Field(default_factory=Linkage)

    @field_validator("label")
    @classmethod
    def _label(cls, value: Labels) -> Labels:
        return _check_labels(value)

    @field_validator("help")
    @classmethod
    def _help(cls, value: Labels) -> Labels:
        return _check_labels(value, required=False)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if value in RESERVED_KEYS:
            raise ValueError(f"{value!r} is reserved for a system column")
        return value

    def label_for(self, locale: str) -> str:
        return self.label.get(locale) or next(iter(self.label.values()))


class Section(Model):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    title: Labels = Field(default_factory=dict)
    columns: Literal[1, 2, 3, 4] = 1
    fields: list[str] = Field(default_factory=list, description="Field keys, in order")


class FormRule(Model):
    """A form-level check: ``condition`` must be truthy, else ``message`` is shown."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    condition: Rule
    message: Labels
    field: str | None = Field(default=None, description="Key of the field the error points at")

    @field_validator("message")
    @classmethod
    def _message(cls, value: Labels) -> Labels:
        return _check_labels(value)


class TimelineSource(Model):
    """Records of another form that point at this one through ``via`` (a relation field of
    theirs), shown on this form's record page in one timeline."""

    form: str = Field(description="Key of the other form")
    via: str = Field(description="Key of its relation field pointing at this form")
    label: Labels = Field(default_factory=dict, description="Instead of the form's label")
    title: str | None = Field(default=None, description="Field key shown as the entry's title")
    fields: list[str] = Field(default_factory=list, description="Field keys shown, in order")
    time: str = Field(
        default="created_at", description="created_at, updated_at or a datetime field's key"
    )

    @field_validator("label")
    @classmethod
    def _label(cls, value: Labels) -> Labels:
        return _check_labels(value, required=False)


class KeyFigure(Model):
    """One number over the records of another form pointing at this one: ``agg`` (count, sum,
    avg, min, max) of ``field`` (count: records) among those matching ``filter``."""

    key: str = Field(pattern=KEY_PATTERN)
    label: Labels
    form: str
    via: str
    agg: str = "count"
    field: str | None = None
    filter: Rule | None = None

    @field_validator("label")
    @classmethod
    def _label(cls, value: Labels) -> Labels:
        return _check_labels(value)


class Overview(Model):
    """A record's 360° view: a timeline merged from other forms and key figures over them."""

    sources: list[TimelineSource] = Field(default_factory=list)
    figures: list[KeyFigure] = Field(default_factory=list)


class FormSchema(Model):
    """One form. ``fields`` are live; ``archived`` fields keep their columns and data."""

    schema_version: Literal[1] = 1
    id: int = Field(ge=1, description="Stable form id; the table is t_<id>.")
    key: str = Field(pattern=KEY_PATTERN)
    label: Labels
    fields: list[FieldSpec] = Field(default_factory=list)
    archived: list[FieldSpec] = Field(default_factory=list)
    sections: list[Section] = Field(default_factory=list)
    rules: list[FormRule] = Field(default_factory=list)
    title_field: str | None = Field(default=None, description="Key shown as the record's title")
    #: The record page's overview of related records (timeline and key figures), if any.
    overview: Overview | None = None
    next_field_id: int = Field(default=1, ge=1)

    @field_validator("label")
    @classmethod
    def _label(cls, value: Labels) -> Labels:
        return _check_labels(value)

    @model_validator(mode="after")
    def _consistent(self) -> FormSchema:
        seen_ids: set[int] = set()
        seen_keys: set[str] = set()
        for spec in [*self.fields, *self.archived]:
            if spec.id in seen_ids:
                raise ValueError(f"field id {spec.id} is used twice")
            seen_ids.add(spec.id)
        for spec in self.fields:
            if spec.key in seen_keys:
                raise ValueError(f"field key {spec.key!r} is used twice")
            seen_keys.add(spec.key)
        if seen_ids and self.next_field_id <= max(seen_ids):
            object.__setattr__(self, "next_field_id", max(seen_ids) + 1)
        return self

    def field(self, key: str) -> FieldSpec:
        for spec in self.fields:
            if spec.key == key:
                return spec
        raise KeyError(key)

    def find(self, key: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.key == key), None)

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.fields]


def is_valid_key(key: str) -> bool:
    return bool(_KEY_RE.match(key)) and key not in RESERVED_KEYS
