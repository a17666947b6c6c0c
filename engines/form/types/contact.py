"""Contact family: e-mail, phone (mainland China mobile and E.164), URL."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import String

from engines.form.errors import InvalidValue
from engines.form.schema import FieldSpec
from engines.form.types.base import FieldType

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_PHONE_NOISE = re.compile(r"[\s\-()（）.]")


class Email(FieldType):
    type = "email"
    family = "contact"
    searchable = True
    unique_allowed = True
    sql_type = String(320)

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "maxLength": 320}

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        value = str(value).strip()
        local, _, domain = value.rpartition("@")
        if not _EMAIL.match(value) or len(local) > 64:
            raise InvalidValue("invalid_email")
        return f"{local}@{domain.lower()}"


def normalise_phone(raw: str) -> str:
    """``138 1234 5678`` → ``+8613812345678``; ``+44 20 7946 0958`` → ``+442079460958``."""
    cleaned = _PHONE_NOISE.sub("", raw.strip())
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if _CN_MOBILE.match(cleaned):
        return "+86" + cleaned
    if cleaned.startswith("+86") and not _CN_MOBILE.match(cleaned[3:]):
        raise InvalidValue("invalid_phone")
    if _E164.match(cleaned):
        return cleaned
    raise InvalidValue("invalid_phone")


class Phone(FieldType):
    """Stored in E.164 so the same number typed two ways is one value."""

    type = "phone"
    family = "contact"
    searchable = True
    unique_allowed = True
    sql_type = String(20)

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "maxLength": 40}

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        return normalise_phone(str(value))


class Url(FieldType):
    type = "url"
    family = "contact"
    sql_type = String(2000)

    def value_schema(self, spec: FieldSpec) -> dict[str, Any]:
        return {"type": "string", "maxLength": 2000}

    def to_storage(self, spec: FieldSpec, value: Any) -> Any:
        value = str(value).strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
            raise InvalidValue("invalid_url")
        return value
