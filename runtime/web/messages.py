"""Message extraction for the web UI's catalogues (``make messages``; tests check completeness).

Sources: ``runtime/web/**.py`` (``_()``, ``gettext``, ``ngettext``, ``N_``) and the templates
(``{{ _("…") }}``, ``{% trans %}``). English is the source language: its catalogue is filled
from the message ids; every other catalogue must be translated by hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from runtime.web.i18n import FOLDERS, LOCALE_DIR, catalogue_path

WEB_DIR = Path(__file__).parent
#: Where messages are extracted from: the end-user pages and the app builder's pages (one
#: catalogue for both, under ``runtime/web/locale``).
SOURCE_DIRS = (WEB_DIR, WEB_DIR.parents[1] / "builder" / "web")
METHODS = [
    ("templates/**.html", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extract() -> Catalog:
    """Every message the web UI's sources use, with where each is used."""
    catalog = Catalog(
        project="Tangram", charset="utf-8", creation_date=datetime(2026, 1, 1, tzinfo=UTC)
    )
    for source in SOURCE_DIRS:
        found = extract_from_dir(
            str(source), METHODS, OPTIONS, keywords=KEYWORDS, strip_comment_tags=True
        )
        prefix = "" if source == WEB_DIR else f"{source.parent.name}/{source.name}/"
        for filename, lineno, message, comments, context in found:
            location = [(prefix + filename, lineno)]
            catalog.add(message, None, location, auto_comments=comments, context=context)
    return catalog


def read_catalogue(locale: str) -> Catalog:
    with catalogue_path(locale).open("rb") as source:
        return read_po(source, locale=FOLDERS[locale])


def _complete(message: object) -> bool:
    string = getattr(message, "string", "")
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string) and not getattr(message, "fuzzy", False)


def untranslated(locale: str, template: Catalog | None = None) -> list[str]:
    """Message ids of ``template`` (default: freshly extracted) missing from ``locale``."""
    template = template or extract()
    catalogue = read_catalogue(locale) if catalogue_path(locale).exists() else Catalog()
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalogue.get(message.id, context=message.context)
        if found is None or not _complete(found):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def update() -> dict[str, list[str]]:
    """Write ``messages.pot`` and merge it into each catalogue; returns what is untranslated."""
    template = extract()
    LOCALE_DIR.mkdir(exist_ok=True)
    with (LOCALE_DIR / "messages.pot").open("wb") as out:
        write_po(out, template, omit_header=False, sort_output=True, width=100)
    report = {}
    for locale, folder in FOLDERS.items():
        path = catalogue_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        catalogue = read_catalogue(locale) if path.exists() else Catalog(locale=folder)
        # A fresh template each time: babel's update shares message objects with it.
        catalogue.update(extract(), no_fuzzy_matching=True)
        if locale == "en":
            for message in catalogue:
                if message.id and not _complete(message):
                    message.string = message.id
                    message.flags.discard("fuzzy")
        catalogue.obsolete.clear()
        with path.open("wb") as out:
            write_po(out, catalogue, sort_output=True, width=100, ignore_obsolete=True)
        report[locale] = untranslated(locale, template)
    return report


def translate(locale: str, translations: dict[str, str | tuple[str, ...]]) -> int:
    """Fill ``locale``'s catalogue with ``translations`` (message id → text); returns how many
    were set. Used by ``scripts/translate.py`` to apply a reviewed batch of translations."""
    path = catalogue_path(locale)
    catalogue = read_catalogue(locale)
    count = 0
    for message in catalogue:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if message.id and key in translations:
            message.string = translations[key]
            message.flags.discard("fuzzy")
            count += 1
    with path.open("wb") as out:
        write_po(out, catalogue, sort_output=True, width=100, ignore_obsolete=True)
    return count
