"""The template manifest (``manifest.json``): what the template is and which parts it has."""

from __future__ import annotations

import re
from functools import total_ordering
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engines.form.schema import KEY_PATTERN, Labels

FORMAT = "tangram.template"
FORMAT_VERSION = 1
SEMVER = r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
LOCALE = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
#: The parts a template may have, in the order of the format reference.
PARTS = (
    "forms",
    "flows",
    "rules",
    "sla",
    "calendars",
    "dashboards",
    "roles",
    "permissions",
    "intake",
    "org",
    "seed",
)


@total_ordering
class Version:
    """A semantic version; compares by major, minor, patch, then a release above a
    pre-release (``1.0.0-rc.1 < 1.0.0``)."""

    def __init__(self, text: str) -> None:
        match = re.match(SEMVER, text)
        if match is None:
            raise ValueError(f"{text!r} is not a semantic version (1.2.3)")
        self.text = text
        self.core = (int(match[1]), int(match[2]), int(match[3]))
        self.pre = match[4]

    def _key(self) -> tuple[tuple[int, int, int], int, str]:
        return (self.core, 0 if self.pre else 1, self.pre or "")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.text


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["tangram.template"] = FORMAT
    format_version: Literal[1] = FORMAT_VERSION
    #: The template's identity: an app installed from it is upgraded by a template with this key.
    key: str = Field(pattern=KEY_PATTERN)
    name: Labels
    version: str = Field(pattern=SEMVER)
    #: The oldest Tangram version the template runs on.
    min_platform: str = Field(pattern=SEMVER)
    description: Labels = Field(default_factory=dict)
    icon: str | None = Field(default=None, max_length=64)
    #: Locales of ``locales/<locale>.json``; the first is the template's main language.
    locales: list[str] = Field(min_length=1)
    #: Which parts the template has (files of other parts are refused).
    parts: list[Literal[PARTS]] = Field(default_factory=list)  # type: ignore[valid-type]

    @field_validator("name")
    @classmethod
    def _named(cls, value: Labels) -> Labels:
        if not any(value.values()):
            raise ValueError("give a name in at least one locale")
        return value

    @field_validator("locales")
    @classmethod
    def _locales(cls, value: list[str]) -> list[str]:
        for locale in value:
            if not re.match(LOCALE, locale):
                raise ValueError(f"{locale!r} is not a locale such as en or zh-CN")
        if len(set(value)) != len(value):
            raise ValueError("a locale is listed twice")
        return value
