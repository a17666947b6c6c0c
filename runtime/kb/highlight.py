"""Highlights and typo tolerance for knowledge-base results.

``mark`` wraps the found words of a text in ``<mark>`` (everything else escaped), ``snippet``
cuts the passage around the first found words; ``distance`` is the optimal-string-alignment
Damerau–Levenshtein distance (a swap of two neighbours is one edit) that ``corrections`` uses
to find the indexed words an English query word was probably meant to be.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

from runtime.channels.email.html import html_to_text

SNIPPET = 160
_LATIN = re.compile(r"^[a-z][a-z0-9]*$")


def plain_text(html: str) -> str:
    """The readable text of rich text, on one line (tags dropped, entities decoded)."""
    return " ".join(html_to_text(html or "").split())


def _pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    parts = sorted({t for t in terms if t}, key=len, reverse=True)
    if not parts:
        return None
    alternatives = []
    for term in parts:
        quoted = re.escape(term)
        # Latin words match at a word start (``print`` in ``printer``, not in ``reprint``).
        alternatives.append(rf"(?<![a-z0-9]){quoted}" if _LATIN.match(term) else quoted)
    return re.compile("|".join(alternatives), re.IGNORECASE)


def mark(text: str, terms: Iterable[str]) -> str:
    """``text`` as HTML with every occurrence of ``terms`` in ``<mark>``."""
    pattern = _pattern(terms)
    if pattern is None:
        return escape(text)
    out, last = [], 0
    for found in pattern.finditer(text):
        out.append(escape(text[last : found.start()]))
        out.append(f"<mark>{escape(found.group(0))}</mark>")
        last = found.end()
    out.append(escape(text[last:]))
    return "".join(out)


def snippet(text: str, terms: Iterable[str], size: int = SNIPPET) -> str:
    """About ``size`` characters of ``text`` around its first found term, highlighted."""
    terms = list(terms)
    pattern = _pattern(terms)
    found = pattern.search(text) if pattern is not None else None
    if found is None or len(text) <= size:
        start = 0
    else:
        start = max(0, found.start() - size // 3)
        space = text.rfind(" ", max(0, start - 12), start)
        start = space + 1 if space >= 0 else start
    end = min(len(text), start + size)
    piece = text[start:end]
    return ("…" if start else "") + mark(piece, terms) + ("…" if end < len(text) else "")


def distance(a: str, b: str, limit: int = 3) -> int:
    """Edits (insert, delete, substitute, swap neighbours) from ``a`` to ``b``; any value
    above ``limit`` is returned as ``limit + 1`` (the search stops early)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)


def allowed_typos(word: str) -> int:
    """Edits tolerated in an English word: none below 4 letters, one up to 7, then two."""
    if not _LATIN.match(word) or len(word) < 4:
        return 0
    return 1 if len(word) <= 7 else 2


def corrections(word: str, vocabulary: Iterable[str], most: int = 3) -> list[str]:
    """The vocabulary words ``word`` was probably meant to be (closest first; none when the
    word is known or too short to correct)."""
    allowed = allowed_typos(word)
    if not allowed:
        return []
    found = []
    for known in vocabulary:
        if known == word:
            return []
        if known[0] != word[0]:
            # Typing rarely gets the first letter wrong; skipping those keeps this fast.
            continue
        edits = distance(word, known, allowed)
        if edits <= allowed:
            found.append((edits, len(known), known))
    found.sort()
    return [known for _, _, known in found[:most]]
