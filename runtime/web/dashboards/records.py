"""The drill page's records table: the form's title field, the widget's dimensions and a few
readable fields, each value as people read it; and the heading saying what was clicked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engines.form.schema import FieldSpec
from engines.report.spec import Widget
from runtime.auth.principal import Principal
from runtime.permissions.access import access
from runtime.records.forms import FormHandle, PublishedApp
from runtime.web.dashboards.fields import option_labels, resolve, system_label
from runtime.web.dashboards.values import display
from runtime.web.i18n import gettext as _
from runtime.web.templating import label_text

#: Field types short enough for a table cell.
READABLE = frozenset(
    {
        "text", "select", "multiselect", "integer", "decimal", "currency", "percent", "date",
        "datetime", "boolean", "email", "phone", "url", "autonumber",
    }
)  # fmt: skip
_KINDS = {
    "integer": "integer",
    "decimal": "decimal",
    "currency": "decimal",
    "percent": "decimal",
    "date": "date",
    "datetime": "datetime",
    "boolean": "boolean",
}
#: Readable fields shown besides the title and the widget's dimensions.
EXTRA_FIELDS = 3


@dataclass
class RecordColumn:
    key: str
    label: str
    spec: FieldSpec | None

    def text(self, record: dict[str, Any], tz: str | None) -> str:
        if self.spec is None:  # a system column
            if record.get(self.key) is None:
                return ""
            return display(record.get(self.key), kind="datetime", tz=tz)
        value = record["values"].get(self.key)
        if value is None or value == "":
            return ""
        if self.spec.type in ("relation", "user", "department") and isinstance(value, int):
            return f"#{value}"
        return display(
            value,
            kind=_KINDS.get(self.spec.type, "text"),
            options=option_labels(self.spec),
            tz=tz,
        )


def title_spec(handle: FormHandle, hidden: set[str]) -> FieldSpec | None:
    """The form's title field, else its first text field the viewer may see."""
    fields = [f for f in handle.form.fields if f.key not in hidden]
    chosen = next((f for f in fields if f.key == handle.form.title_field), None)
    return chosen or next((f for f in fields if f.type == "text"), None)


def record_columns(
    app: PublishedApp, handle: FormHandle, widget: Widget, principal: Principal
) -> tuple[RecordColumn | None, list[RecordColumn]]:
    """The title column and the other columns of the drilled records."""
    rights = access(handle, principal)
    # As in reports: a field hidden on some of the rows is left out (see reports.viewer).
    hidden = {k for k in handle.form.keys if rights.field_visibility(k) is not True}
    title = title_spec(handle, hidden)
    taken = {title.key} if title else set()
    columns: list[RecordColumn] = []
    for dimension in widget.dimensions:
        if "." in dimension.field or dimension.field in taken:
            continue
        spec = resolve(app, widget, dimension.field)
        if spec is None and system_label(dimension.field) and dimension.field.endswith("_at"):
            columns.append(RecordColumn(dimension.field, system_label(dimension.field) or "", None))
        elif spec is not None and spec.key not in hidden:
            columns.append(RecordColumn(spec.key, label_text(spec.label), spec))
        taken.add(dimension.field)
    extra = [f for f in handle.form.fields if f.type in READABLE and f.key not in hidden | taken]
    columns += [RecordColumn(f.key, label_text(f.label), f) for f in extra[:EXTRA_FIELDS]]
    if not any(c.key == "created_at" for c in columns):
        columns.append(RecordColumn("created_at", _("Created"), None))
    first = RecordColumn(title.key, label_text(title.label), title) if title else None
    return first, columns
