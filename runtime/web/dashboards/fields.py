"""A widget's field path (``customer.level``) resolved to its form field, for labels and
option names; system columns have built-in labels."""

from __future__ import annotations

from typing import Any

from engines.form.schema import FieldSpec, FormSchema
from engines.report.spec import Widget
from runtime.records.forms import PublishedApp
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _

SYSTEM_LABELS = {
    "id": N_("ID"),
    "created_at": N_("Created"),
    "updated_at": N_("Updated"),
    "created_by": N_("Created by"),
    "updated_by": N_("Updated by"),
    "owner_id": N_("Owner"),
    "department_id": N_("Department"),
}


def _form(app: PublishedApp, key: str) -> FormSchema | None:
    handle = app.handles.get(key)
    return handle.form if handle is not None else None


def _form_by_id(app: PublishedApp, form_id: Any) -> FormSchema | None:
    return next((h.form for h in app.handles.values() if h.form_id == form_id), None)


def _spec(form: FormSchema, key: str) -> FieldSpec | None:
    return next((f for f in form.fields if f.key == key), None)


def resolve(app: PublishedApp, widget: Widget, path: str) -> FieldSpec | None:
    """The field a path names (through relations and the widget's joins), or None for a
    system column or a path that does not resolve."""
    form = _form(app, widget.form)
    parts = path.split(".")
    for index, part in enumerate(parts):
        if form is None:
            return None
        last = index == len(parts) - 1
        spec = _spec(form, part)
        if spec is None:
            join = next((j for j in widget.joins if j.key == part), None) if index == 0 else None
            if join is None or last:
                return None
            form = _form(app, join.form)
            continue
        if last:
            return spec
        form = _form_by_id(app, spec.options.get("form_id"))
    return None


def system_label(path: str) -> str | None:
    """The label of a system column (``created_at`` …) at the end of ``path``."""
    message = SYSTEM_LABELS.get(path.rsplit(".", 1)[-1])
    return _(message) if message else None


def option_labels(spec: FieldSpec | None) -> dict[str, Any] | None:
    """Option value → label (a per-locale dict) of a choice field, else None."""
    if spec is None or spec.type not in ("select", "multiselect", "radio"):
        return None
    options = spec.options.get("options") or []
    return {
        str(o.get("value")): o.get("label") or o.get("value")
        for o in options
        if isinstance(o, dict)
    }
