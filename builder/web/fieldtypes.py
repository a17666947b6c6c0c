"""Field types as the designers show them: palette groups, localized names, how conditions see
their values (``logic_kind``) and the JSON Schema of each type's settings."""

from __future__ import annotations

from typing import Any

from engines.form.registry import FIELD_TYPES
from runtime.web.i18n import N_
from runtime.web.i18n import gettext as _

#: Each type's name in the palette (message ids).
TYPE_LABELS = {
    "text": N_("Single line text"),
    "textarea": N_("Multi-line text"),
    "richtext": N_("Rich text"),
    "integer": N_("Integer"),
    "decimal": N_("Decimal number"),
    "currency": N_("Money"),
    "percent": N_("Percent"),
    "date": N_("Date"),
    "datetime": N_("Date and time"),
    "boolean": N_("Yes / no"),
    "select": N_("Single choice"),
    "multiselect": N_("Multiple choice"),
    "user": N_("User"),
    "department": N_("Department"),
    "email": N_("Email"),
    "phone": N_("Phone"),
    "url": N_("Link (URL)"),
    "autonumber": N_("Auto number"),
    "formula": N_("Formula"),
    "subtable": N_("Sub-table"),
    "attachments": N_("Attachments"),
    "relation": N_("Relation (one record)"),
    "multirelation": N_("Relation (many records)"),
    "lookup": N_("Lookup"),
}
#: Palette groups by the types' family, in palette order.
FAMILY_LABELS = {
    "text": N_("Text"),
    "number": N_("Numbers"),
    "date": N_("Dates"),
    "choice": N_("Choices"),
    "contact": N_("Contact"),
    "organisation": N_("People and departments"),
    "relation": N_("Relations"),
    "structure": N_("Structure"),
    "file": N_("Files"),
    "computed": N_("Computed"),
}


def type_label(type_name: str) -> str:
    return _(TYPE_LABELS.get(type_name, type_name))


def field_types() -> list[dict[str, Any]]:
    """Every registered field type for the page's scripts (a JSON block)."""
    return [
        {
            "type": field_type.type,
            "family": field_type.family,
            "label": type_label(field_type.type),
            "logic_kind": field_type.logic_kind,
            "writable": field_type.client_writable,
            "settings_schema": field_type.Settings.model_json_schema(),
        }
        for field_type in FIELD_TYPES
    ]


def palette() -> list[dict[str, Any]]:
    """The palette: field types grouped by family, families in a fixed order."""
    types = field_types()
    return [
        {
            "family": family,
            "label": _(label),
            "types": [t for t in types if t["family"] == family],
        }
        for family, label in FAMILY_LABELS.items()
        if any(t["family"] == family for t in types)
    ]
