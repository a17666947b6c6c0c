"""Seed rows beyond a form's API values (see README.md, "Seed data").

- ``_created_at``, ``_updated_at``: the record's system times; ``_owner`` (a username) and
  ``_department`` (a department code); ``_events: true`` delivers the row's "created" event
  after the install commits (rows without it are written quietly);
- user fields hold usernames, department fields department codes;
- date-time and date fields (and the two system times) take an ISO value or a time relative to
  the install: ``@now`` followed by signed parts (``@now-85d-3h+20m``); a date field takes the
  date of that moment in the installation's time zone;
- sub-table fields hold a list of row objects (the same conversions apply to their columns).

:func:`convert` turns one row into API values and :class:`SystemStamp` s; while checking (no
database) names are replaced by a placeholder id and collected, so that the install can look
up those the template does not define itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engines.form.errors import InvalidValue
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FormSchema
from engines.form.types.dates import parse_datetime
from engines.logic.coerce import format_datetime
from runtime.records.writer import SystemStamp
from templates.problems import TemplateProblem, problem

SEED_ID = "_id"
SYSTEM_KEYS = ("_created_at", "_updated_at", "_owner", "_department", "_events")
_RELATIVE = re.compile(r"^@now((?:[+-]\d{1,9}[dhms])*)$")
_PART = re.compile(r"([+-])(\d{1,9})([dhms])")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}
#: Stands in for a user or department id while a template is checked without a database.
PLACEHOLDER = 1


def relative_time(text: str, now: datetime) -> datetime:
    """``@now-85d-3h+20m`` as a moment (ValueError if it is not one)."""
    match = _RELATIVE.match(text)
    if match is None:
        raise ValueError(text)
    seconds = 0
    for sign, amount, unit in _PART.findall(match[1]):
        seconds += (-1 if sign == "-" else 1) * int(amount) * _UNIT[unit]
    try:
        return now + timedelta(seconds=seconds)
    except OverflowError as exc:
        raise ValueError(text) from exc


@dataclass
class Converted:
    values: dict[str, Any]
    stamp: SystemStamp
    problems: list[TemplateProblem] = field(default_factory=list)
    #: ``(kind, key, path)`` of every user (``user``) and department named.
    refs: list[tuple[str, str, str]] = field(default_factory=list)


class Converter:
    """Converts the rows of one seed file. ``users`` and ``departments`` map names to ids; a
    name they lack is a placeholder (``strict`` False: checking) or a problem (installing)."""

    def __init__(
        self,
        file: str,
        *,
        now: datetime,
        time_zone: str,
        users: Mapping[str, int],
        departments: Mapping[str, int],
        strict: bool,
    ) -> None:
        self.file = file
        self.now = now
        self.zone = ZoneInfo(time_zone)
        self.users = users
        self.departments = departments
        self.strict = strict

    def row(self, form: FormSchema, row: dict[str, Any], line: int) -> Converted:
        out = Converted({}, SystemStamp())
        where = f"line {line}"
        self._system(row, where, out)
        values = {k: v for k, v in row.items() if k != SEED_ID and k not in SYSTEM_KEYS}
        out.values = self._values(form, values, where, out)
        return out

    # --- system values -------------------------------------------------------------------------

    def _system(self, row: dict[str, Any], where: str, out: Converted) -> None:
        stamp = out.stamp
        for key in ("_created_at", "_updated_at"):
            if row.get(key) is None:
                continue
            moment = self._moment(row[key], f"{where}.{key}", out)
            if moment is not None:
                setattr(stamp, key[1:], moment)
        if stamp.updated_at is None:
            stamp.updated_at = stamp.created_at
        if stamp.created_at and stamp.updated_at and stamp.updated_at < stamp.created_at:
            out.problems.append(
                problem(
                    self.file,
                    f"{where}._updated_at",
                    "bad_system_value",
                    message="_updated_at is before _created_at",
                )
            )
        if row.get("_owner") is not None:
            stamp.owner_id = self._id("user", row["_owner"], f"{where}._owner", out)
        if row.get("_department") is not None:
            stamp.department_id = self._id(
                "department", row["_department"], f"{where}._department", out
            )
        events = row.get("_events", False)
        if not isinstance(events, bool):
            out.problems.append(
                problem(
                    self.file, f"{where}._events", "bad_system_value", message="enter true or false"
                )
            )
        stamp.events = events is True

    def _moment(self, value: Any, path: str, out: Converted) -> datetime | None:
        if isinstance(value, str) and value.startswith("@"):
            try:
                return relative_time(value, self.now)
            except ValueError:
                out.problems.append(problem(self.file, path, "bad_relative_time", value=value))
                return None
        try:
            return parse_datetime(value)
        except InvalidValue:
            out.problems.append(problem(self.file, path, "bad_relative_time", value=value))
            return None

    def _id(self, kind: str, name: Any, path: str, out: Converted) -> int | None:
        if isinstance(name, bool) or not isinstance(name, str | int):
            out.problems.append(
                problem(
                    self.file,
                    path,
                    "bad_system_value",
                    message=f"enter a {'username' if kind == 'user' else 'department code'}",
                )
            )
            return None
        if isinstance(name, int):  # an id, as the API takes it
            return name
        key = name.strip().lower() if kind == "user" else name
        out.refs.append((kind, key, path))
        found = (self.users if kind == "user" else self.departments).get(key)
        if found is not None:
            return found
        if not self.strict:
            return PLACEHOLDER
        out.problems.append(problem(self.file, path, f"unknown_{kind}", key=name))
        return None

    # --- field values --------------------------------------------------------------------------

    def _values(
        self, form: FormSchema, values: dict[str, Any], where: str, out: Converted
    ) -> dict[str, Any]:
        converted = dict(values)
        for spec in form.fields:
            value = values.get(spec.key)
            if value is None:
                continue
            path = f"{where}.{spec.key}"
            if spec.type in ("user", "department"):
                if isinstance(value, list):
                    converted[spec.key] = [
                        self._id(spec.type, v, f"{path}[{i}]", out) for i, v in enumerate(value)
                    ]
                else:
                    converted[spec.key] = self._id(spec.type, value, path, out)
            elif spec.type in ("datetime", "date") and isinstance(value, str):
                if value.startswith("@"):
                    moment = self._moment(value, path, out)
                    if moment is None:
                        converted.pop(spec.key)  # reported once, as bad_relative_time
                    else:
                        converted[spec.key] = (
                            moment.astimezone(self.zone).date().isoformat()
                            if spec.type == "date"
                            else format_datetime(moment.astimezone(UTC))
                        )
            elif spec.type == "subtable" and isinstance(value, list):
                child = FIELD_TYPES.get(spec.type).child_form(spec)  # type: ignore[attr-defined]
                converted[spec.key] = [
                    self._values(child, item, f"{path}[{i}]", out)
                    if isinstance(item, dict)
                    else item
                    for i, item in enumerate(value)
                ]
        return converted
