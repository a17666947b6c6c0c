"""The view-model of a record's form on a page: which fields show, with which control, value,
rights and choices, laid out in sections — and reading a posted form back into API values.

Reused by every page that renders a form's fields: the record pages (create, edit) and a flow
task's form in the inbox, which passes the node's field rights as ``overrides``::

    view = await FormView.build(db, handle, principal, record=record, overrides=node.fields)
    values = view.parse(await request.form())        # API values of the editable fields

The templates render it with ``macros/fields.html`` (``render_form_fields(view, errors)``).
Field rights: a field the caller may not read is not in the view at all; one they may not set
(read-only grant, a node's ``readonly``, computed types) is shown as its value. The server stays
the authority: the writer validates every value again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from engines.form.registry import FIELD_TYPES
from engines.form.schema import FieldSpec, FormSchema
from engines.form.types.file import readable_size
from engines.form.types.text import sanitise_html
from engines.logic import truthy
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.i18n import current_locale
from runtime.org.models import Department
from runtime.permissions.access import Access, access, logic_context
from runtime.records import reader
from runtime.records.forms import FormHandle, sibling
from runtime.web import formatting
from runtime.web.i18n import gettext as _

#: The control of each field type (unknown types fall back to a text input).
WIDGETS = {
    "text": "text",
    "email": "email",
    "phone": "tel",
    "url": "url",
    "textarea": "textarea",
    "richtext": "richtext",
    "integer": "integer",
    "decimal": "decimal",
    "currency": "decimal",
    "percent": "decimal",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
    "select": "select",
    "multiselect": "multiselect",
    "user": "picker",
    "department": "picker",
    "relation": "picker",
    "multirelation": "multipicker",
    "attachments": "files",
    "subtable": "subtable",
}
#: Controls of :meth:`FormView.single` in place of those that need a whole form.
SINGLE_WIDGETS = {"files": "text", "subtable": "text", "richtext": "textarea"}
#: Radio buttons up to this many options, a drop-down beyond.
RADIO_LIMIT = 6
#: Choices rendered into a picker's ``<select>`` (the JavaScript combobox searches the rest).
PICKER_LIMIT = 50
#: Node field rights (flows) that let the user change a field.
WRITABLE_RIGHTS = ("editable", "required")
_ROW_NAME = re.compile(r"^(?P<key>[a-z][a-z0-9_]*)\[(?P<index>\d{1,4})\]\.(?P<child>[a-z_0-9]+)$")
_INTEGER = re.compile(r"^[+-]?\d{1,19}$")


@dataclass
class Choice:
    value: Any
    label: Any  # a label dict or a plain string
    color: str | None = None


@dataclass
class FieldView:
    """One field as a page shows it."""

    key: str
    #: The input's name: ``subject``, or ``items[0].qty`` for a sub-table cell.
    name: str
    widget: str
    type: str
    label: dict[str, str]
    help: dict[str, str]
    required: bool
    readonly: bool
    value: Any = None
    #: Hidden by a linkage rule for the current values (the script re-evaluates live).
    hidden: bool = False
    choices: list[Choice] = field(default_factory=list)
    #: Control attributes: min, max, step, maxlength, accept, max_files, currency, suffix.
    attrs: dict[str, Any] = field(default_factory=dict)
    #: Picker fields: where the combobox searches (``fields/<path>/options``).
    source: str | None = None
    #: A picker's search URL in place of the form's ``fields/<path>/options`` (the form
    #: designer's preview of a draft form searches the published target form).
    search_url: str | None = None
    #: Sub-tables: a row's columns (names with ``__i__``), and the rows.
    columns: list[FieldView] = field(default_factory=list)
    rows: list[list[FieldView]] = field(default_factory=list)

    def options_url(self, view: FormView) -> str:
        """Where a picker's combobox searches its choices."""
        if self.search_url is not None:
            return self.search_url
        handle = view.handle
        url = f"/apps/{handle.app_key}/forms/{handle.form.key}/fields/{self.source}/options"
        return f"{url}?{view.options_query}" if view.options_query else url

    @property
    def dom_id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]+", "-", self.name).strip("-")

    @property
    def input_value(self) -> str:
        """The value as an ``<input>`` holds it."""
        value = self.value
        if value is None:
            return ""
        if self.widget == "datetime":
            return _local_input(value, self.attrs.get("time_zone"))
        if self.widget == "date" and isinstance(value, str):
            return value[:10]
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    @property
    def values(self) -> list[Any]:
        """Multi-valued fields' values (ids of files and links, options)."""
        if self.value is None:
            return []
        if isinstance(self.value, list):
            return [v.get("id") if isinstance(v, dict) else v for v in self.value]
        return [self.value]

    @property
    def files(self) -> list[dict[str, Any]]:
        """Attached files: id, name and readable size (ids alone for files just uploaded)."""
        shown = []
        for item in self.value or []:
            if isinstance(item, dict):
                size = item.get("size")
                shown.append(
                    {
                        "id": item.get("id"),
                        "filename": item.get("filename", ""),
                        "size": readable_size(size) if isinstance(size, int) else "",
                    }
                )
            else:
                shown.append({"id": item, "filename": "", "size": ""})
        return shown

    def selected(self, value: Any) -> bool:
        return value in self.values or str(value) in {str(v) for v in self.values}

    def choice(self, value: Any) -> Choice | None:
        return next((c for c in self.choices if str(c.value) == str(value)), None)

    @property
    def radios(self) -> bool:
        return len(self.choices) <= RADIO_LIMIT

    @property
    def display(self) -> list[str]:
        """Read-only text of simple values (dates in the viewer's zone and locale)."""
        if self.value is None or self.value == "":
            return []
        if self.widget == "datetime" or (
            self.type == "formula" and self.attrs.get("result") == "datetime"
        ):
            return [formatting.format_datetime(self.value, self.attrs.get("time_zone"))]
        if self.widget == "date":
            return [formatting.format_date(self.value)]
        if self.widget == "decimal" and isinstance(self.value, str):
            return [formatting.format_number(self.value, self.attrs.get("scale"))]
        return [str(v) for v in self.values]

    @property
    def html(self) -> Markup:
        """Rich text, sanitised again before it is shown."""
        return Markup(sanitise_html(str(self.value or "")))  # noqa: S704 - nh3-sanitised

    @property
    def client_value(self) -> str:
        """JSON of the value, for the linkage script (read-only fields)."""
        return json.dumps(_logic_value(self), default=str)


@dataclass
class SectionView:
    id: str
    title: dict[str, str]
    columns: int
    fields: list[FieldView]


@dataclass
class FormView:
    """A form's fields for one caller, one record (or a new one) and optional node rights."""

    handle: FormHandle
    sections: list[SectionView]
    fields: dict[str, FieldView]
    record_id: int | None = None
    row_version: int | None = None
    context: dict[str, Any] = field(default_factory=dict)
    time_zone: str | None = None
    #: Query string of the pickers' choice URLs (``task=12``), without ``?``.
    options_query: str = ""

    # --- building ----------------------------------------------------------------------------

    @classmethod
    async def build(
        cls,
        db: AsyncSession,
        handle: FormHandle,
        principal: Principal,
        *,
        record: Mapping[str, Any] | None = None,
        overrides: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        rights: Access | None = None,
        time_zone: str | None = None,
        options_query: str = "",
    ) -> FormView:
        """The view of ``record`` (an API record; None: a new one) for ``principal``.

        ``overrides`` are a flow node's field rights (``editable``, ``required``, ``readonly``,
        ``hidden``; unlisted fields are read-only, as the flow engine has it): they alone decide,
        as the flows API shows a task's record to its worker. Without them the caller's grants
        decide (``read``, and ``create`` or ``update``). ``values`` are submitted values to show
        instead of the record's (a form sent back with errors). ``options_query`` is added to
        the pickers' choice URLs (``task=<id>``: the choices a task's worker may search).
        """
        if overrides is not None:  # a flow step: its rights decide, as the flows API has it
            hidden = {k for k, right in overrides.items() if right == "hidden"}
            restricted = {k for k in handle.form.keys if overrides.get(k) not in WRITABLE_RIGHTS}
            required = {k for k, right in overrides.items() if right == "required"}
        else:
            rights = rights or access(handle, principal)
            hidden = rights.hidden_keys()
            if record is not None:
                hidden |= await rights.hidden_on(db, int(record["id"]))
            restricted = rights.restricted_for_write("update" if record is not None else "create")
            required = set()
        current: dict[str, Any] = dict(record["values"]) if record is not None else {}
        if record is None:
            current.update(handle.validator.defaults())
        if values is not None:
            current.update(values)
        view = cls(
            handle,
            [],
            {},
            record_id=int(record["id"]) if record is not None else None,
            row_version=int(record["row_version"]) if record is not None else None,
            context=logic_context(principal),
            time_zone=time_zone,
            options_query=options_query,
        )
        for spec in handle.form.fields:
            if spec.key in hidden:
                continue
            view.fields[spec.key] = view._field(
                spec,
                spec.key,
                current.get(spec.key),
                readonly=spec.key in restricted,
                required=spec.required or spec.key in required,
            )
        view.sections = _sections(handle.form, view.fields)
        view._apply_linkage()
        await view._load_choices(db, principal)
        return view

    @classmethod
    async def single(
        cls,
        db: AsyncSession,
        handle: FormHandle,
        principal: Principal,
        key: str,
        *,
        name: str,
        time_zone: str | None = None,
    ) -> FormView:
        """A view of field ``key`` alone, as an empty control posted under ``name``: the form
        page's control for its type where one value is set on many records (the list's bulk
        edit). Types whose control needs a whole form (files, sub-tables, rich text) get a
        text box (files: ids, as in an imported cell) or a plain text area."""
        view = cls(handle, [], {}, context=logic_context(principal), time_zone=time_zone)
        control = view._field(handle.spec(key), name, None, readonly=False, required=False)
        if control.widget in SINGLE_WIDGETS:
            control.widget = SINGLE_WIDGETS[control.widget]
            control.attrs["cell"] = control.widget == "text"
        view.fields[key] = control
        await view._load_choices(db, principal)
        return view

    def _field(
        self,
        spec: FieldSpec,
        name: str,
        value: Any,
        *,
        readonly: bool,
        required: bool,
        parent: str | None = None,
    ) -> FieldView:
        field_type = FIELD_TYPES.get(spec.type)
        widget = WIDGETS.get(spec.type, "text") if field_type.client_writable else "computed"
        view = FieldView(
            key=spec.key,
            name=name,
            widget=widget,
            type=spec.type,
            label=spec.label,
            help=spec.help,
            required=required and field_type.client_writable,
            readonly=readonly or not field_type.client_writable,
            value=value,
            attrs=_attrs(spec, field_type.settings(spec)),
        )
        view.attrs["time_zone"] = self.time_zone
        options = getattr(field_type.settings(spec), "options", None)
        if isinstance(options, list):
            view.choices = [Choice(o.value, o.label or o.value, o.color) for o in options]
        if widget in ("picker", "multipicker"):
            path = f"{parent}.{spec.key}" if parent else spec.key
            view.source = path
        if widget == "subtable":
            child = field_type.child_form(spec, self.handle.form_id)
            view.columns = [
                self._field(
                    c,
                    f"{name}[__i__].{c.key}",
                    None,
                    readonly=readonly,
                    required=c.required,
                    parent=spec.key,
                )
                for c in child.fields
            ]
            view.rows = [
                [
                    self._field(
                        c,
                        f"{name}[{index}].{c.key}",
                        (row or {}).get(c.key),
                        readonly=readonly,
                        required=c.required,
                        parent=spec.key,
                    )
                    for c in child.fields
                ]
                for index, row in enumerate(value or [])
            ]
        return view

    def _apply_linkage(self) -> None:
        """Evaluate the linkage rules on the current values, as the validator would."""
        data = self.logic_data()
        for key, rules in self.handle.validator.linkage.items():
            view = self.fields.get(key)
            if view is None:
                continue
            if "visible" in rules and not truthy(rules["visible"](data, context=self.context)):
                view.hidden = True
            if "required" in rules and not view.readonly:
                view.required = truthy(rules["required"](data, context=self.context))
            if "readonly" in rules and truthy(rules["readonly"](data, context=self.context)):
                view.readonly = True  # shown as its value; the validator refuses a change

    async def _load_choices(self, db: AsyncSession, principal: Principal) -> None:
        """Labels of the pickers' chosen values and their first choices."""
        for view in self.all_fields():
            if view.widget not in ("picker", "multipicker") or view.name.find("__i__") >= 0:
                continue
            view.choices = await picker_choices(
                db,
                self.handle,
                principal,
                view.source or view.key,
                view.values,
                more=not view.readonly,
            )

    def unplaced(self, errors: Any) -> list[str]:
        """Messages of ``errors`` (FormErrors) for no field shown here (form rules without a
        field, hidden fields): the page lists them above the form."""
        names = {view.name for view in self.all_fields() if not view.hidden}
        return [m for name, ms in errors.fields.items() if name not in names for m in ms]

    def all_fields(self) -> Iterable[FieldView]:
        """Every field view, sub-table cells included."""
        for view in self.fields.values():
            yield view
            for row in view.rows:
                yield from row

    # --- for the templates and the script ------------------------------------------------------

    def logic_data(self) -> dict[str, Any]:
        """What linkage rules see of the current values (JsonLogic's view)."""
        data: dict[str, Any] = {}
        for key, view in self.fields.items():
            data[key] = _logic_value(view)
        return data

    def client_rules(self) -> str:
        """The JSON data block for ``forms.js``: linkage per field, form rules, context."""
        fields = {
            key: rules
            for key, rules in ((spec.key, spec.linkage.rules()) for spec in self.handle.form.fields)
            if rules and key in self.fields
        }
        form_rules = [
            {"id": r.id, "condition": r.condition, "field": r.field, "message": r.message}
            for r in self.handle.form.rules
        ]
        kinds = {key: view.widget for key, view in self.fields.items()}
        block = {
            "fields": fields,
            "rules": form_rules,
            "kinds": kinds,
            "context": self.context,
            "locale": current_locale.get(),
            "texts": client_texts(),
        }
        # Safe inside <script type="application/json">: no "</" can close the element.
        return json.dumps(block, default=str).replace("</", "<\\/")

    # --- reading a posted form -----------------------------------------------------------------

    def editable(self) -> list[FieldView]:
        return [v for v in self.fields.values() if not v.readonly]

    def parse(self, form: Any, uploaded: Mapping[str, list[int]] | None = None) -> dict[str, Any]:
        """API values of the editable fields a posted form carries (``_fields`` lists the
        fields the page rendered and did not disable); ``uploaded`` adds file ids by key."""
        present = set(form.getlist("_fields"))
        values: dict[str, Any] = {}
        for view in self.editable():
            if view.key not in present:
                continue
            if view.widget == "subtable":
                values[view.key] = self._parse_rows(view, form)
            else:
                values[view.key] = parse_value(view, form.getlist(view.name), self.time_zone)
            if view.widget == "files" and uploaded and uploaded.get(view.key):
                values[view.key] = [*(values[view.key] or []), *uploaded[view.key]]
        return values

    def _parse_rows(self, view: FieldView, form: Any) -> list[dict[str, Any]]:
        cells: dict[int, dict[str, list[Any]]] = {}
        for name in form:
            match = _ROW_NAME.match(name)
            if match and match["key"] == view.key:
                cells.setdefault(int(match["index"]), {})[match["child"]] = form.getlist(name)
        rows = []
        columns = {c.key: c for c in view.columns}
        for index in sorted(cells):
            row = {
                key: parse_value(columns[key], raw, self.time_zone)
                for key, raw in cells[index].items()
                if key in columns and not columns[key].readonly
            }
            if any(v not in (None, "", [], False) for v in row.values()):
                rows.append(row)
        return rows

    def with_rows(self, key: str, change: int) -> None:
        """Add an empty row (``change`` > 0) or drop row ``-change - 1`` of a sub-table
        (the buttons of a form used without JavaScript)."""
        view = self.fields.get(key)
        if view is None or view.widget != "subtable":
            return
        rows = [
            dict(zip([c.key for c in view.columns], [c.value for c in r], strict=True))
            for r in view.rows
        ]
        if change > 0:
            rows.append({})
        elif 0 <= -change - 1 < len(rows):
            rows.pop(-change - 1)
        spec = self.handle.spec(key)
        self.fields[key] = self._field(
            spec, key, rows, readonly=view.readonly, required=view.required
        )
        self.sections = _sections(self.handle.form, self.fields)


def row_change(form: Any) -> tuple[str, int] | None:
    """A sub-table's "Add row" / "Remove" button (used without JavaScript)."""
    added = form.get("_add_row")
    if isinstance(added, str) and added:
        return added, 1
    removed = form.get("_remove_row")
    if isinstance(removed, str) and ":" in removed:
        key, _sep, index = removed.partition(":")
        if index.isdigit():
            return key, -int(index) - 1
    return None


def client_texts() -> dict[str, str]:
    """What ``forms.js`` says to the user, in the page's language."""
    return {
        "uploading": _("Uploading %(name)s…"),
        "uploaded": _("%(name)s uploaded."),
        "upload_failed": _("%(name)s could not be uploaded: %(reason)s"),
        "no_matches": _("No matches"),
        "searching": _("Searching…"),
        "remove": _("Remove"),
        "row": _("row"),
        "bold": _("Bold"),
        "italic": _("Italic"),
        "list": _("Bulleted list"),
        "link": _("Link"),
        "link_prompt": _("Link address (https://…)"),
    }


def parse_value(view: FieldView, raw: list[Any], time_zone: str | None) -> Any:
    """One control's submitted strings as an API value (what does not parse is passed on as
    it is, for the validator to explain)."""
    texts = [r for r in raw if isinstance(r, str)]
    widget = view.widget
    if widget == "boolean":
        return "true" in texts
    if widget in ("multiselect",):
        return [t for t in texts if t]
    if widget in ("multipicker", "files"):
        return [int(t) if _INTEGER.match(t.strip()) else t for t in texts if t.strip()]
    text = texts[-1] if texts else ""
    if widget not in ("textarea", "richtext"):
        text = text.strip()
    if text == "":
        return None
    if widget in ("integer", "picker"):
        return int(text) if _INTEGER.match(text) else text
    if widget == "decimal":
        return text.replace(",", "").replace(" ", "").rstrip("%")
    if widget == "datetime":
        return _utc_iso(text, time_zone)
    return text


def _local_input(value: Any, time_zone: str | None) -> str:
    """A stored (UTC) datetime as ``datetime-local`` wants it, in the viewer's zone."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return str(value)[:16]
    return moment.astimezone(formatting.zone(time_zone)).strftime("%Y-%m-%dT%H:%M")


def _utc_iso(text: str, time_zone: str | None) -> str:
    """A ``datetime-local`` value in the viewer's zone as an ISO UTC timestamp."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=formatting.zone(time_zone))
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _logic_value(view: FieldView) -> Any:
    value = view.value
    if value is None or value == "":
        return None
    if view.widget == "subtable":
        return [{c.key: _logic_value(c) for c in row} for row in view.rows]
    if view.widget == "files":
        return view.values
    if view.widget in ("integer", "picker") and isinstance(value, str):
        return int(value) if _INTEGER.match(value) else value
    if view.widget == "decimal" or (view.type == "formula" and isinstance(value, str)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return value
        return int(number) if number.is_integer() else number
    return value


def _attrs(spec: FieldSpec, settings: Any) -> dict[str, Any]:
    """Control attributes from the type's settings (limits, accepted files …)."""
    attrs: dict[str, Any] = {}
    for name in (
        "min",
        "max",
        "max_length",
        "min_length",
        "max_files",
        "accept",
        "currency",
        "max_choices",
        "max_links",
        "min_rows",
        "max_rows",
        "scale",
        "max_size_bytes",
        "result",
    ):
        value = getattr(settings, name, None)
        if value is not None and value != []:
            attrs[name] = value
    if "scale" in attrs:
        attrs["step"] = "any" if attrs["scale"] else "1"
    if spec.type == "percent":
        attrs["suffix"] = "%"
    if "accept" in attrs:
        attrs["accept"] = ",".join(attrs["accept"])
    return attrs


def _sections(form: FormSchema, fields: dict[str, FieldView]) -> list[SectionView]:
    """The form's sections with the fields the caller sees; fields in no section go last."""
    placed: set[str] = set()
    sections = []
    for section in form.sections:
        shown = [fields[k] for k in section.fields if k in fields and k not in placed]
        placed.update(section.fields)
        if shown:
            sections.append(SectionView(section.id, section.title, section.columns, shown))
    rest = [view for key, view in fields.items() if key not in placed]
    if rest:
        sections.append(SectionView("fields", {}, 1, rest))
    return sections


# --- the choices of pickers --------------------------------------------------------------------


def picker_spec(handle: FormHandle, path: str) -> FieldSpec | None:
    """The picker field at ``path`` (``customer`` or ``items.product`` in a sub-table)."""
    key, _, child = path.partition(".")
    spec = handle.validator.specs.get(key)
    if spec is None:
        return None
    if child:
        children = handle.validator.children.get(key)
        spec = children.specs.get(child) if children is not None else None
    if spec is None or WIDGETS.get(spec.type) not in ("picker", "multipicker"):
        return None
    return spec


async def picker_options(
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    path: str,
    *,
    q: str | None = None,
    ids: list[Any] | None = None,
    limit: int = PICKER_LIMIT,
) -> list[Choice]:
    """Choices of a user, department or relation field: the records of the related form the
    caller may read (their title), active users, departments; ``ids`` only those."""
    spec = picker_spec(handle, path)
    if spec is None:
        return []
    wanted = [int(i) for i in ids or [] if isinstance(i, int) or str(i).isdigit()]
    if ids is not None and not wanted:
        return []
    reference = FIELD_TYPES.get(spec.type).reference(spec)
    if reference is None:
        return []
    kind, target = reference
    if kind == "form":
        return await _record_choices(db, handle, principal, int(target), q, wanted, limit)
    return await _directory_choices(db, str(target), q, wanted, limit)


async def picker_choices(
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    path: str,
    chosen: list[Any],
    *,
    more: bool = True,
) -> list[Choice]:
    """A picker's ``<select>`` options: the ``chosen`` values with their labels (``#12`` for
    one the caller cannot name, so that it still posts back unchanged), then (``more``) the
    first choices; the combobox searches the rest."""
    found = await picker_options(db, handle, principal, path, ids=chosen) if chosen else []
    named = {str(c.value) for c in found}
    found += [Choice(v, f"#{v}") for v in chosen if str(v) not in named]
    if not more:
        return found
    seen = {str(c.value) for c in found}
    first = await picker_options(db, handle, principal, path)
    return found + [c for c in first if str(c.value) not in seen]


async def _record_choices(
    db: AsyncSession,
    handle: FormHandle,
    principal: Principal,
    form_id: int,
    q: str | None,
    ids: list[int],
    limit: int,
) -> list[Choice]:
    related = await sibling(db, handle, form_id)
    return await record_choices(db, related, principal, q, ids, limit)


async def record_choices(
    db: AsyncSession,
    related: FormHandle,
    principal: Principal,
    q: str | None,
    ids: list[int],
    limit: int = PICKER_LIMIT,
) -> list[Choice]:
    """Records of ``related`` the caller may read, by their title (``#id`` without one),
    searched by ``q`` or only ``ids``."""
    title = related.form.title_field
    rights = access(related, principal)
    if not rights.can("read"):
        return []
    shown = title if title and title not in rights.hidden_keys() else None
    page = await reader.list_records(
        db,
        related,
        principal,
        filter_rule={"in": [{"var": "id"}, ids]} if ids else None,
        limit=max(limit, len(ids)),
        fields=shown,
        search=q or None,
        sort=shown if shown and related.field_type(shown).sortable else None,
    )
    choices = []
    for item in page.items:
        text = item["values"].get(shown) if shown else None
        label = f"#{item['id']}" if text in (None, "") else f"{text}"
        choices.append(Choice(item["id"], label))
    return choices


async def _directory_choices(
    db: AsyncSession, table: str, q: str | None, ids: list[int], limit: int
) -> list[Choice]:
    """Active users (display name and username) or departments (name and code)."""
    if table == "users":
        query: Any = select(User.id, User.display_name, User.username).where(
            User.is_active.is_(True)
        )
        columns: tuple[Any, ...] = (User.display_name, User.username)
        model: Any = User
    else:
        query = select(Department.id, Department.name, Department.code)
        columns = (Department.name, Department.code)
        model = Department
    if ids:
        query = query.where(model.id.in_(ids))
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(or_(*[func.lower(c).like(pattern) for c in columns]))
    rows = (await db.execute(query.order_by(columns[0], model.id).limit(limit))).all()
    return [Choice(row[0], f"{row[1]} ({row[2]})" if row[1] else row[2]) for row in rows]
