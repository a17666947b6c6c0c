"""Record values as the pages show them: formatted per field type, locale and time zone.

Two phases, so that one page costs one query per kind of reference: :meth:`Display.prepare`
reads the names behind every user, department, related record and file the values refer to;
:meth:`Display.show` then formats a value without touching the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec
from engines.form.types.file import readable_size
from engines.form.types.text import sanitise_html
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.files.models import StoredFile
from runtime.org.models import Department
from runtime.records.forms import FormHandle
from runtime.reports.labels import related_titles
from runtime.web import formatting
from runtime.web.i18n import gettext as _
from runtime.web.templating import label_text

#: Field types shown as plain text (one line, or keeping line breaks).
TEXT_TYPES = {"text", "autonumber", "phone"}
NUMBER_TYPES = {"integer", "decimal", "percent"}


@dataclass
class Shown:
    """One value ready for the template: ``kind`` picks how ``macros/record.html`` shows it."""

    kind: str
    text: str = ""
    href: str | None = None
    html: Markup | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[Shown]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.kind == "empty"


EMPTY = Shown("empty")


def user_label(user: User) -> str:
    return user.display_name or user.username


async def user_names(db: AsyncSession, ids: set[int] | list[int]) -> dict[int, str]:
    """Display names of users by id (unknown ids are left out)."""
    wanted = sorted({i for i in ids if isinstance(i, int)})
    if not wanted:
        return {}
    rows = await db.execute(select(User).where(User.id.in_(wanted)))
    return {u.id: user_label(u) for u in rows.scalars()}


def _contrast(colour: str) -> str:
    """Black or white text, whichever reads better on ``colour`` (#rrggbb)."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.299 * red + 0.587 * green + 0.114 * blue
    return "#000000" if luminance > 150 else "#ffffff"


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _safe_url(value: str) -> str | None:
    return value if value.lower().startswith(("http://", "https://")) else None


def _children(spec: FieldSpec) -> list[FieldSpec]:
    """The live child fields of a sub-table field."""
    return list(FIELD_TYPES.get("subtable").settings(spec).fields)


@dataclass
class Display:
    """Formats the values of one form's records for one viewer."""

    db: AsyncSession
    handle: FormHandle
    principal: Principal
    time_zone: str
    currency: str
    users: dict[int, str] = field(default_factory=dict)
    departments: dict[int, str] = field(default_factory=dict)
    files: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: (form id, record id) → (href, title) of related records the viewer may read.
    related: dict[tuple[int, int], tuple[str, str]] = field(default_factory=dict)
    _forms: dict[int, FormHandle] = field(default_factory=dict)

    # --- phase 1: read the names behind references ----------------------------------------

    async def prepare(self, pairs: list[tuple[FieldSpec, Any]], users: set[int] = set()) -> None:  # noqa: B006
        """Read the names every (field, value) pair and the extra ``users`` refer to."""
        user_ids, department_ids, file_ids = set(users), set(), set()
        relations: dict[int, set[int]] = {}
        for spec, value in self._flatten(pairs):
            if value in (None, "", []):
                continue
            if spec.type == "user" and isinstance(value, int):
                user_ids.add(value)
            elif spec.type == "department" and isinstance(value, int):
                department_ids.add(value)
            elif spec.type in ("relation", "multirelation"):
                target = int(spec.options.get("form_id", 0))
                linked = value if isinstance(value, list) else [value]
                relations.setdefault(target, set()).update(i for i in linked if isinstance(i, int))
            elif spec.type == "attachments" and isinstance(value, list):
                for item in value:
                    if isinstance(item, dict) and isinstance(item.get("id"), int):
                        self.files[item["id"]] = item
                    elif isinstance(item, int):
                        file_ids.add(item)
        self.users.update(await user_names(self.db, user_ids - set(self.users)))
        if department_ids:
            rows = await self.db.execute(
                select(Department.id, Department.name).where(Department.id.in_(department_ids))
            )
            self.departments.update({i: n for i, n in rows.all()})
        await self.load_files(file_ids)
        for form_id, targets in relations.items():
            await self._load_related(form_id, targets)

    async def load_files(self, ids: set[int] | list[int]) -> None:
        wanted = sorted(set(ids) - set(self.files))
        if not wanted:
            return
        rows = await self.db.execute(select(StoredFile).where(StoredFile.id.in_(wanted)))
        for f in rows.scalars():
            self.files[f.id] = {"id": f.id, "filename": f.filename, "size": f.size}

    def _flatten(self, pairs: list[tuple[FieldSpec, Any]]) -> list[tuple[FieldSpec, Any]]:
        """The pairs, with sub-table cells as pairs of their own."""
        result = []
        for spec, value in pairs:
            if spec.type == "subtable" and isinstance(value, list):
                child_specs = {c.key: c for c in _children(spec)}
                for row in value:
                    if isinstance(row, dict):
                        result += [(child_specs[k], v) for k, v in row.items() if k in child_specs]
            else:
                result.append((spec, value))
        return result

    async def _load_related(self, form_id: int, ids: set[int]) -> None:
        target, titles = await related_titles(self.db, self.handle, self.principal, form_id, ids)
        if target is None:
            return
        self._forms[form_id] = target
        base = f"/apps/{target.app_key}/forms/{target.form.key}/records"
        for record_id, label in titles.items():
            self.related[(form_id, record_id)] = (f"{base}/{record_id}", label)

    # --- phase 2: format ------------------------------------------------------------------

    def show(self, spec: FieldSpec, value: Any) -> Shown:
        if value is None or value == "" or value == []:
            return EMPTY
        kind = spec.type
        options = spec.options
        if kind in TEXT_TYPES:
            return Shown("text", str(value))
        if kind == "textarea":
            return Shown("multiline", str(value))
        if kind == "richtext":
            return Shown("rich", html=Markup(sanitise_html(str(value))))  # noqa: S704
        if kind == "email":
            return Shown("link", str(value), href=f"mailto:{value}")
        if kind == "url":
            return Shown("link", str(value), href=_safe_url(str(value)))
        if kind in NUMBER_TYPES or kind == "currency":
            return self._number(kind, options, value)
        if kind == "date":
            return Shown("text", formatting.format_date(str(value)))
        if kind == "datetime":
            return Shown("text", formatting.format_datetime(str(value), self.time_zone))
        if kind == "boolean":
            return Shown("text", _("Yes") if value else _("No"))
        if kind in ("select", "multiselect"):
            return self._choices(options, value if isinstance(value, list) else [value])
        if kind == "user":
            return Shown("text", self.users.get(value, f"#{value}"))
        if kind == "department":
            return Shown("text", self.departments.get(value, f"#{value}"))
        if kind in ("relation", "multirelation"):
            return self._relations(int(options.get("form_id", 0)), value)
        if kind == "attachments":
            return self._files(value)
        if kind == "subtable":
            return self._table(spec, value)
        if kind == "formula":
            return self._formula(options, value)
        return Shown("text", str(value))

    def show_html(self, body: str) -> Markup:
        """Rich text (a comment's body) sanitised like rich-text fields."""
        return Markup(sanitise_html(body))  # noqa: S704

    def show_files(self, ids: list[Any]) -> list[dict[str, Any]]:
        return self._files(ids).items

    def _number(self, kind: str, options: dict[str, Any], value: Any) -> Shown:
        number = _decimal(value)
        if number is None:
            return Shown("text", str(value))
        if kind == "currency":
            return Shown("text", formatting.format_currency(number, options.get("currency", "CNY")))
        digits = None if kind == "integer" else options.get("scale")
        text = formatting.format_number(number, digits)
        return Shown("text", f"{text}%" if kind == "percent" else text)

    def _formula(self, options: dict[str, Any], value: Any) -> Shown:
        result = options.get("result", "number")
        if result == "number":
            return self._number("decimal", {"scale": options.get("scale", 2)}, value)
        if result == "date":
            return Shown("text", formatting.format_date(str(value)))
        if result == "datetime":
            return Shown("text", formatting.format_datetime(str(value), self.time_zone))
        if result == "boolean":
            return Shown("text", _("Yes") if value else _("No"))
        return Shown("text", str(value))

    def _choices(self, options: dict[str, Any], values: list[Any]) -> Shown:
        known = {o.get("value"): o for o in options.get("options", []) if isinstance(o, dict)}
        items = []
        for value in values:
            option = known.get(value, {})
            colour = option.get("color")
            items.append(
                {
                    "label": label_text(option.get("label")) or str(value),
                    "colour": colour,
                    "text_colour": _contrast(colour) if colour else None,
                }
            )
        return Shown("choices", items=items)

    def _relations(self, form_id: int, value: Any) -> Shown:
        items = []
        for record_id in value if isinstance(value, list) else [value]:
            href, title = self.related.get((form_id, record_id), (None, f"#{record_id}"))
            items.append({"href": href, "text": title})
        return Shown("links", items=items)

    def _files(self, value: Any) -> Shown:
        items = []
        for item in value if isinstance(value, list) else []:
            file_id: Any = item.get("id") if isinstance(item, dict) else item
            meta = self.files.get(file_id) or (item if isinstance(item, dict) else {})
            items.append(
                {
                    "href": f"/api/v1/files/{file_id}/content",
                    "text": meta.get("filename") or f"#{file_id}",
                    "size": readable_size(meta["size"]) if meta.get("size") else "",
                }
            )
        return Shown("files", items=items)

    def _table(self, spec: FieldSpec, value: Any) -> Shown:
        children = _children(spec)
        rows = [
            [self.show(child, row.get(child.key)) for child in children]
            for row in value
            if isinstance(row, dict)
        ]
        return Shown("table", columns=[label_text(c.label) for c in children], rows=rows)


@dataclass
class FieldRow:
    key: str
    label: str
    help: str
    shown: Shown


def section_rows(handle: FormHandle, display: Display, values: dict[str, Any]) -> list[Any]:
    """The record's visible fields grouped by the form's sections (one untitled group when
    the form has none): ``[(title, columns, [FieldRow…])…]``."""
    specs = {s.key: s for s in handle.form.fields}

    def row(key: str) -> FieldRow:
        spec = specs[key]
        return FieldRow(
            key, label_text(spec.label), label_text(spec.help), display.show(spec, values[key])
        )

    groups = []
    placed: set[str] = set()
    for section in handle.form.sections:
        keys = [k for k in section.fields if k in values and k in specs]
        placed.update(section.fields)
        if keys:
            groups.append((label_text(section.title), section.columns, [row(k) for k in keys]))
    rest = [s.key for s in handle.form.fields if s.key in values and s.key not in placed]
    if rest:
        groups.append(("", 1 if groups else 2, [row(k) for k in rest]))
    return groups


def record_title(handle: FormHandle, values: dict[str, Any], record_id: int) -> str:
    key = handle.form.title_field
    value = values.get(key) if key else None
    if value not in (None, ""):
        return str(value)
    return f"{label_text(handle.form.label)} #{record_id}"
