"""Every message of the web UI is translated into 简体中文 and English."""

from __future__ import annotations

import pytest

from runtime.i18n import LOCALES
from runtime.web.messages import extract, untranslated


@pytest.fixture(scope="module")
def template():
    return extract()


def test_messages_are_extracted(template):
    ids = {m.id for m in template if m.id}
    assert "Sign in" in ids and ("%(num)d form", "%(num)d forms") in ids


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated(template, locale):
    missing = untranslated(locale, template)
    assert missing == [], f"untranslated in {locale} (run `make messages`): {missing}"
