"""Cells of the list: a record's values as text for the page (labels, dates, names)."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.models import User
from runtime.i18n import pick
from runtime.org.models import Department
from runtime.records.forms import FormHandle
from runtime.web import formatting
from runtime.web.i18n import gettext as _

_TAGS = re.compile(r"<[^>]*>")
MAX_CELL = 200


def _labels(value: Any) -> str:
    if isinstance(value, dict):
        return pick(value) if "en" in value else str(next(iter(value.values()), ""))
    return str(value)


async def names(
    db: AsyncSession, handle: FormHandle, keys: list[str], items: list[dict[str, Any]]
) -> dict[tuple[str, int], str]:
    """Display names of the users and departments the shown cells refer to (two queries)."""
    wanted: dict[str, set[int]] = {"user": set(), "department": set()}
    for key in keys:
        kind = handle.field_type(key).type if key in handle.validator.specs else ""
        if kind in wanted:
            wanted[kind] |= {i["values"].get(key) for i in items if i["values"].get(key)}
    found: dict[tuple[str, int], str] = {}
    if wanted["user"]:
        rows = await db.execute(
            select(User.id, User.display_name, User.username).where(User.id.in_(wanted["user"]))
        )
        found.update({("user", r.id): r.display_name or r.username for r in rows})
    if wanted["department"]:
        rows = await db.execute(
            select(Department.id, Department.name).where(Department.id.in_(wanted["department"]))
        )
        found.update({("department", r.id): r.name for r in rows})
    return found


def cell_text(
    handle: FormHandle,
    key: str,
    item: dict[str, Any],
    known: dict[tuple[str, int], str],
    datetime_text: Callable[[Any], str],
) -> str:
    """The text of one cell (escaped by the template)."""
    if key == "id":
        return str(item["id"])
    if key in ("created_at", "updated_at"):
        return datetime_text(item[key])
    value = item["values"].get(key)
    if value is None or value == [] or value == "":
        return ""
    spec = handle.spec(key)
    field_type = handle.field_type(key)
    kind = field_type.type
    text: str
    if kind in ("select", "multiselect"):
        options = {o.value: o.label for o in field_type.settings(spec).options}
        chosen = value if isinstance(value, list) else [value]
        text = ", ".join(_labels(options.get(v) or v) for v in chosen)
    elif kind == "boolean":
        text = _("Yes") if value else _("No")
    elif kind in ("user", "department"):
        text = known.get((kind, value), f"#{value}")
    elif kind == "date":
        text = formatting.format_date(value)
    elif kind == "datetime":
        text = datetime_text(value)
    elif kind in ("integer", "decimal", "percent"):
        text = formatting.format_number(value)
    elif kind == "richtext":
        text = unescape(_TAGS.sub(" ", str(value))).strip()
    elif kind == "relation":
        text = f"#{value}"
    else:
        try:
            text = field_type.format_text(spec, value)
        except (TypeError, ValueError, AttributeError):
            text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def column_label(handle: FormHandle, key: str) -> Any:
    """A column's header: the field's labels, or the name of a record column."""
    if key == "id":
        return "#"
    if key == "created_at":
        return _("Created")
    if key == "updated_at":
        return _("Updated")
    return handle.spec(key).label
