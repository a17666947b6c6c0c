"""Search words for records: Chinese segmented with jieba, other text split into words.

A record's searchable fields are turned into one space-separated document of lowercase words
(``申请退货流程`` → ``申请 退货 流程``), which PostgreSQL indexes as a ``simple`` tsvector and
SQLite as an FTS5 table; queries are segmented the same way, so ``退货`` finds it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import lru_cache

import jieba

jieba.setLogLevel(logging.WARNING)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[\w\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
MAX_DOCUMENT = 100_000


@lru_cache(maxsize=4096)
def words(text: str) -> tuple[str, ...]:
    """Lowercase search words of ``text``, in order, without repeats."""
    text = text.lower()
    pieces = jieba.cut_for_search(text) if _CJK.search(text) else _WORD.findall(text)
    found: dict[str, None] = {}
    for piece in pieces:
        for word in _WORD.findall(piece):
            found[word] = None
    return tuple(found)


def document(texts: Iterable[str]) -> str | None:
    """The search document of a record's texts (None when there is nothing to find)."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text[:MAX_DOCUMENT]):
            seen[word] = None
    return " ".join(seen)[:MAX_DOCUMENT] or None
