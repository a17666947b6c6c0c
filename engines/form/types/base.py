"""The field-type contract (DESIGN §10.2): one class per type, one module per family.

A field type turns a field spec into a column, a JSON Schema fragment, and conversions between
the API value (JSON), the stored value (column) and the JsonLogic value. No code outside the type
classes asks ``if field.type == …``.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Column
from sqlalchemy.types import TypeEngine

from engines.form.errors import InvalidValue, SchemaError
from engines.form.schema import FieldSpec, FormSchema


class NoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldType:
    """Base class of all field types. Subclasses set ``type`` and override the hooks."""

    type: ClassVar[str]
    family: ClassVar[str]
    Settings: ClassVar[builtins.type[BaseModel]] = NoSettings
    #: How JsonLogic and the SQL compiler see values: text, number, boolean, date, datetime, array.
    logic_kind: ClassVar[str] = "text"
    #: Capabilities
    sortable: ClassVar[bool] = True
    filterable: ClassVar[bool] = True
    searchable: ClassVar[bool] = False
    unique_allowed: ClassVar[bool] = False
    indexed_by_default: ClassVar[bool] = False
    has_column: ClassVar[bool] = True
    #: Clients may send a value (auto-numbers and formulas are filled by the server).
    client_writable: ClassVar[bool] = True
    #: Filled by the records service when a record is created (auto-number).
    generated: ClassVar[bool] = False
    #: Recomputed from the other fields on every write (formula); see ``expression``.
    computed: ClassVar[bool] = False
    #: Stores rows in a child table (sub-table); the type then implements ``child_form``.
    has_children: ClassVar[bool] = False
    #: Shows a field of the related record (lookup): read through a relation, stored nowhere.
    looks_up: ClassVar[bool] = False
    #: Keeps a list of ids in a link table ``t_<form id>_<field id>`` (``record_id``,
    #: ``target_id``, ``position``) instead of a column (many-relation); ``reference`` names
    #: the target form and ``references`` the ids of a value.
    has_links: ClassVar[bool] = False
    #: Holds uploaded files (attachments): the records service resolves the file references of
    #: a submitted value to the files' metadata (``file_ids`` then ``attach``) before the value
    #: is validated, and records which files each record holds.
    holds_files: ClassVar[bool] = False
    #: Always has a unique index, whatever the spec says.
    always_unique: ClassVar[bool] = False
    aggregations: ClassVar[frozenset[str]] = frozenset({"count", "count_distinct"})
    #: Problem code when a value does not match the JSON Schema ``pattern``.
    pattern_code: ClassVar[str] = "pattern"
    #: Problem codes of other JSON Schema keywords, where the general one would mislead
    #: (``{"maxItems": "too_many_files"}``).
    schema_codes: ClassVar[Mapping[str, str]] = {}
    #: Types whose stored values this type can take over on a retype, with a check per row.
    converts_from: ClassVar[frozenset[str]] = frozenset()

    # --- settings --------------------------------------------------------------------------

    def settings(self, spec: FieldSpec) -> Any:
        """The field's ``options`` validated by this type's ``Settings`` model.

        Conversions ask for them once per value, so they are cached: by the spec object
        (specs are frozen and never edited in place), then by the options' JSON.
        """
        cached = _by_spec.get(id(spec))
        if cached is not None and cached[0] is spec and cached[1] is self.Settings:
            return cached[2]
        try:
            settings = _validated(
                self.Settings, json.dumps(spec.options, sort_keys=True, default=str)
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SchemaError(
                f"{spec.key}.options{('.' + where) if where else ''}", "bad_options", first["msg"]
            ) from exc
        if len(_by_spec) >= 4096:
            _by_spec.clear()
        # Keyed by the spec object (kept alive in the entry, so its id is not reused).
        _by_spec[id(spec)] = (spec, self.Settings, settings)
        return settings

    def check_spec(self, spec: FieldSpec) -> None:
        """Raise :class:`SchemaError` when the spec makes no sense for this type."""
        self.settings(spec)
        if spec.unique and not self.unique_allowed:
            raise SchemaError(
                f"{spec.key}.unique",
                "unique_not_supported",
                f"a {self.type} field cannot be unique",
            )
        if spec.default is not None:
            try:
                self.to_storage(spec, spec.default)
            except InvalidValue as exc:
                raise SchemaError(f"{spec.key}.default", "bad_default", exc.code) from exc

    def kind(self, spec: FieldSpec) -> str:
        """The JsonLogic/SQL kind of this field's values (see ``logic_kind``)."""
        return self.logic_kind

    def child_form(self, spec: FieldSpec, parent_id: int = 1) -> FormSchema:
        """The child rows' fields as a form (types with ``has_children``)."""
        raise TypeError(f"field type {self.type!r} has no child rows")

    def reference(self, spec: FieldSpec) -> tuple[str, str | int] | None:
        """What a value points at: ``("table", "users")``, ``("form", <form id>)`` or None.

        The records service checks that referenced rows exist (and that related records are
        visible to the writer) before anything is written.
        """
        return None

    def references(self, spec: FieldSpec, stored: Any) -> list[tuple[str, int]]:
        """The ids a stored value refers to (see ``reference``), each with its path below the
        field: ``""`` for a single id, ``"[2]"`` for the third id of a list."""
        if stored is None or self.reference(spec) is None:
            return []
        return [("", stored)]

    def expression(self, spec: FieldSpec) -> Any:
        """The JsonLogic expression of a computed field."""
        return None

    def file_ids(self, spec: FieldSpec, value: Any) -> list[int] | None:
        """The file ids a submitted value refers to (types with ``holds_files``); ``None`` when
        the value is not a list of file references (its validation then says why)."""
        return None

    def attach(self, spec: FieldSpec, value: Any, files: Mapping[int, dict[str, Any]]) -> Any:
        """The submitted value with each file reference replaced by the file's metadata."""
        raise TypeError(f"field type {self.type!r} holds no files")

    # --- storage ---------------------------------------------------------------------------

    #: The column type, for types whose column does not depend on the options.
    sql_type: ClassVar[TypeEngine[Any] | None] = None

    def column_type(self, spec: FieldSpec) -> TypeEngine[Any]:
        if self.sql_type is None:
            raise TypeError(f"field type {self.type!r} must set sql_type or column_type()")
        return self.sql_type

    def columns(self, spec: FieldSpec) -> list[Column[Any]]:
        if not self.has_column:
            return []
        return [Column(column_name(spec), self.column_type(spec), nullable=True)]

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        """JSON Schema (2020-12) of a non-empty value."""
        return {"type": "string"}

    def json_schema(self, spec: FieldSpec) -> dict[str, Any]:
        schema: dict[str, Any] = {"anyOf": [self.value_schema(spec), {"type": "null"}]}
        title = spec.label.get("en") or spec.label.get("zh-CN")
        if title:
            schema["title"] = title
        return schema

    def is_empty(self, value: Any) -> bool:
        return value is None or value == "" or value == []

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        """Check a (JSON-Schema-valid, non-empty) API value and convert it for the column."""
        return value

    def from_storage(self, spec: FieldSpec, value: Any) -> Any:
        """The API (JSON) value of a stored value."""
        return value

    def to_logic(self, spec: FieldSpec, value: Any) -> Any:
        """The value JsonLogic rules see (JSON types; dates as ISO strings)."""
        return self.from_storage(spec, value)

    def default_value(self, spec: FieldSpec) -> Any:
        return spec.default

    # --- import / export -------------------------------------------------------------------

    def parse_text(self, spec: FieldSpec, raw: str) -> Any:
        """An API value from a CSV/XLSX cell (already stripped, non-empty)."""
        return raw

    def format_text(self, spec: FieldSpec, value: Any) -> str:
        """A cell for exports, from the API value."""
        return "" if value is None else str(value)


_by_spec: dict[int, tuple[FieldSpec, builtins.type[BaseModel], BaseModel]] = {}


_SEPARATORS = re.compile(r"[,;，；]")


def split_cell(raw: str) -> list[str]:
    """The items of a list cell (imports): separated by commas or semicolons, half or full
    width (``a, b``, ``a;b``, ``甲，乙``); blanks are dropped."""
    return [part.strip() for part in _SEPARATORS.split(raw) if part.strip()]


@lru_cache(maxsize=4096)
def _validated(model: builtins.type[BaseModel], options_json: str) -> BaseModel:
    return model.model_validate(json.loads(options_json))


def column_name(spec: FieldSpec) -> str:
    return f"f_{spec.id}"
