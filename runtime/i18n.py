"""Locale negotiation: every message Tangram shows exists in zh-CN and English."""

from __future__ import annotations

from contextvars import ContextVar

LOCALES = ("en", "zh-CN")
DEFAULT_LOCALE = "en"

current_locale: ContextVar[str] = ContextVar("tangram_locale", default=DEFAULT_LOCALE)


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """Pick ``zh-CN`` or ``en`` from a user setting or an ``Accept-Language`` header."""
    if preferred in LOCALES:
        return preferred
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, *params = part.strip().split(";")
        quality = 1.0
        for param in params:
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
                if not 0.0 <= quality <= 1.0:  # also rejects nan and inf
                    quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for negative_quality, _, tag in sorted(ranked):
        if negative_quality >= 0:
            continue
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en") or tag == "*":
            return "en"
    return DEFAULT_LOCALE


def pick(messages: dict[str, str], locale: str | None = None) -> str:
    """The message for ``locale`` (default: the request's), falling back to English."""
    return messages.get(locale or current_locale.get()) or messages[DEFAULT_LOCALE]
