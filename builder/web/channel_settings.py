"""A channel kind's settings as a page form: inputs derived from its pydantic settings model,
and the submitted form read back into settings values (secrets left empty keep theirs).

A field's ``title`` labels the input and its ``description`` is the hint (without a title the
field name is shown); in Chinese pages ``json_schema_extra={"title_zh": …, "description_zh": …}``
gives them in Chinese (the JSON Schema of the channel kinds API carries both).
"""

from __future__ import annotations

import enum
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from runtime.channels.registry import ChannelKind
from runtime.i18n import current_locale
from runtime.web.forms import FormErrors
from runtime.web.i18n import gettext as _

#: How a value is typed in: ``text``, ``password`` (a secret), ``number``, ``checkbox``,
#: ``select``, ``lines`` (a list of strings, one per line) or ``json`` (anything else).
Widget = Literal["text", "password", "number", "checkbox", "select", "lines", "json"]


@dataclass
class SettingInput:
    name: str
    label: str
    hint: str | None
    widget: Widget
    value: str = ""
    checked: bool = False
    required: bool = False
    options: list[str] = field(default_factory=list)
    #: For a secret: whether the channel has a value stored already.
    stored: bool = False


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` → (X, True)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _widget(annotation: Any, secret: bool) -> tuple[Widget, list[str]]:
    if secret:
        return "password", []
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "select", [str(a) for a in typing.get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "select", [str(m.value) for m in annotation]
    if annotation is bool:
        return "checkbox", []
    if annotation in (int, float):
        return "number", []
    if origin in (list, tuple, set) and typing.get_args(annotation)[:1] == (str,):
        return "lines", []
    if annotation is str or (isinstance(annotation, type) and issubclass(annotation, str)):
        return "text", []
    return "json", []


def _shown(widget: Widget, value: Any) -> str:
    if value is None:
        return ""
    if widget == "lines":
        return "\n".join(str(v) for v in value)
    if widget == "json":
        return json.dumps(value, ensure_ascii=False, indent=2)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return str(value)


def _texts(info: FieldInfo, name: str) -> tuple[str, str | None]:
    """The field's label and hint in the page's language."""
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    title, hint = info.title or name, info.description
    if current_locale.get() == "zh-CN":
        title = str(extra.get("title_zh") or title)
        hint = str(extra["description_zh"]) if extra.get("description_zh") else hint
    return title, hint


def _default(info: FieldInfo) -> Any:
    if info.default is not PydanticUndefined:
        return info.default
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def setting_inputs(
    kind: ChannelKind,
    values: dict[str, Any] | None = None,
    stored_secrets: set[str] | None = None,
    submitted: dict[str, str] | None = None,
) -> list[SettingInput]:
    """The inputs of ``kind``'s settings, filled with the stored ``values`` — or, after a
    refused save, with what was ``submitted`` (secrets are never filled in)."""
    values = values or {}
    stored_secrets = stored_secrets or set()
    inputs = []
    for name, info in kind.settings_model.model_fields.items():
        annotation, optional = _strip_optional(info.annotation)
        secret = name in kind.secret_fields
        widget, options = _widget(annotation, secret)
        current = values[name] if name in values else _default(info)
        form_name = f"s_{name}"
        shown = "" if secret else _shown(widget, _jsonable(current))
        if submitted is not None and not secret:
            shown = submitted.get(form_name, "")
        label, hint = _texts(info, name)
        inputs.append(
            SettingInput(
                name=form_name,
                label=label,
                hint=hint,
                widget=widget,
                value=shown,
                checked=(form_name in submitted) if submitted is not None else bool(current),
                required=info.is_required() and not optional and not secret,
                options=options,
                stored=name in stored_secrets,
            )
        )
    return inputs


def read_settings(kind: ChannelKind, form: dict[str, str], *, errors: FormErrors) -> dict[str, Any]:
    """The settings typed into ``form``; unreadable numbers and JSON are added to ``errors``
    (under the input's name). A secret left empty is left out (the stored one is kept)."""
    settings: dict[str, Any] = {}
    for name, info in kind.settings_model.model_fields.items():
        annotation, optional = _strip_optional(info.annotation)
        widget, _options = _widget(annotation, name in kind.secret_fields)
        form_name = f"s_{name}"
        if widget == "checkbox":
            settings[name] = form_name in form
            continue
        raw = form.get(form_name, "")
        text = raw.strip()
        if widget == "password":
            if raw:
                settings[name] = raw
            continue
        if not text:
            if optional:
                settings[name] = None
            elif widget == "lines":
                settings[name] = []
            elif widget == "text" and info.is_required():
                settings[name] = ""
            continue
        if widget == "number":
            try:
                settings[name] = int(text) if annotation is int else float(text)
            except ValueError:
                errors.add(form_name, _("Enter a number."))
        elif widget == "lines":
            settings[name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif widget == "json":
            try:
                settings[name] = json.loads(text)
            except ValueError:
                errors.add(form_name, _("Enter valid JSON."))
        else:
            settings[name] = text
    return settings
