"""A widget's field path (``customer.level``) resolved to its form field, for labels and
option names; system columns have built-in labels."""

from __future__ import annotations

from typing import Any

from engines.form.schema import FieldSpec
from runtime.reports.labels import resolve
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _

__all__ = ["SYSTEM_LABELS", "option_labels", "resolve", "system_label"]

SYSTEM_LABELS = {
    "id": N_("ID"),
    "created_at": N_("Created"),
    "updated_at": N_("Updated"),
    "created_by": N_("Created by"),
    "updated_by": N_("Updated by"),
    "owner_id": N_("Owner"),
    "department_id": N_("Department"),
}


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
