"""Gettext catalogues of the web UI (``locale/<lang>/LC_MESSAGES/messages.po``).

The ``.po`` files are the source of truth; they are compiled in memory at import, so there is
no build step and no stale ``.mo``. ``make messages`` re-extracts the template
``messages.pot`` and merges it into every catalogue (``scripts/messages.py``).
"""

from __future__ import annotations

import gettext as _gettext
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from runtime.i18n import DEFAULT_LOCALE, LOCALES, current_locale

LOCALE_DIR = Path(__file__).parent / "locale"
#: Our locale tags and the catalogue folder of each (gettext names: ``zh_CN``).
FOLDERS = {"en": "en", "zh-CN": "zh_CN"}
#: Babel's name of each locale (formatting of dates, numbers, currency).
BABEL_LOCALES = {"en": "en", "zh-CN": "zh_Hans_CN"}


def catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / FOLDERS[locale] / "LC_MESSAGES" / "messages.po"


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalogue of ``locale`` (an empty one for an unknown locale)."""
    if locale not in FOLDERS or not catalogue_path(locale).exists():
        return _gettext.NullTranslations()
    with catalogue_path(locale).open("rb") as source:
        catalog = read_po(source, locale=FOLDERS[locale])
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def active(locale: str | None = None) -> _gettext.NullTranslations:
    chosen = locale or current_locale.get()
    return translations(chosen if chosen in LOCALES else DEFAULT_LOCALE)


def gettext(message: str, **params: Any) -> str:
    """``message`` in the request's language; ``%(name)s`` placeholders filled from params."""
    text = active().gettext(message)
    return text % params if params else text


def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
    text = active().ngettext(singular, plural, n)
    return text % {"num": n, **params}


def N_(message: str) -> str:
    """Marks ``message`` for extraction where it is translated later (module constants)."""
    return message


_ = gettext
