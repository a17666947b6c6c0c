"""Searching an app's knowledge base: ranked, typo-tolerant, highlighted.

A query is split like the articles (:func:`runtime.kb.index.terms`); filler words (``how``,
``怎么``) are dropped unless nothing else is left. Each word matches itself, and an English word
the index does not know also matches its closest indexed words (one typo up to 7 letters, two
beyond); the last word matches as a prefix while it is being typed. Articles matching any word
are ranked by relevance — PostgreSQL ``ts_rank`` over the weighted vector, SQLite ``bm25`` with
the same weights: title first, then keywords, summary, body — and more words found rank
higher. Customers (``audience="public"``) see published public articles; agents see every
published article they may read (the records' read scope).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.kb import highlight
from runtime.kb.index import fts_name, knowledge_of, terms
from runtime.kb.models import KbEntry
from runtime.records.forms import resolve_app
from runtime.records.scope import read_scope

Audience = Literal["public", "agent"]
MAX_TERMS = 12
SUMMARY = 300
#: Words too common to tell articles apart (dropped unless the query has nothing else).
_FILLER = (
    "a an and are can do does for from how i in is it my of on or the to what when where why "
    "with you your me we not 的 了 吗 呢 吧 啊 我 我们 你 您 是 在 有 和 与 及 要 想 能 会 可以 "
    "怎么 怎么办 怎样 如何 什么 为什么 哪里 多久 一下 请问 没有 不 了吗"
)
FILLER = frozenset(_FILLER.split())
_SIMPLE = literal_column("'simple'")
#: A word that may be the start of a longer one (English letters, at least two).
_TYPED = re.compile(r"^[a-z][a-z0-9]+$")


@dataclass(frozen=True)
class Hit:
    record_id: int
    title: str
    title_html: str
    snippet_html: str
    #: The start of the article's summary and text, plain (for inserting into a reply).
    summary: str
    score: float
    category_id: int | None
    public: bool


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit] = field(default_factory=list)
    #: The query as the search understood it when it corrected a typo ("did you mean").
    corrected: str | None = None


@dataclass(frozen=True)
class Query:
    """A query's words: each with the alternatives it matches; the last may be a prefix."""

    words: list[str]
    alternatives: dict[str, list[str]]
    prefix: str | None
    corrected: str | None

    @property
    def marked(self) -> list[str]:
        found = [alt for word in self.words for alt in self.alternatives[word]]
        return found + ([self.prefix] if self.prefix else [])


async def _vocabulary(db: AsyncSession, app_id: int) -> frozenset[str]:
    """The English words of the app's published articles (typo candidates), cached until the
    index changes."""
    count, changed = (
        await db.execute(
            select(func.count(), func.max(KbEntry.updated_at)).where(
                KbEntry.app_id == app_id, KbEntry.published.is_(True)
            )
        )
    ).one()
    stamp = (app_id, count, str(changed))
    cached = _vocabularies.get(app_id)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    rows = await db.execute(
        select(
            KbEntry.title_words, KbEntry.keyword_words, KbEntry.summary_words, KbEntry.body_words
        ).where(KbEntry.app_id == app_id, KbEntry.published.is_(True))
    )
    words: set[str] = set()
    for row in rows:
        for part in row:
            words.update(w for w in (part or "").split() if highlight.allowed_typos(w))
    vocabulary = frozenset(words)
    if len(_vocabularies) > 64:
        _vocabularies.clear()
    _vocabularies[app_id] = (stamp, vocabulary)
    return vocabulary


_vocabularies: dict[int, tuple[tuple[int, int, str], frozenset[str]]] = {}


async def understand(db: AsyncSession, app_id: int, raw: str) -> Query:
    """The words of ``raw`` with their typo alternatives and the prefix being typed."""
    found = terms(raw)[: MAX_TERMS * 2]
    meaningful = [w for w in found if w not in FILLER]
    words = (meaningful or found)[:MAX_TERMS]
    last = words[-1] if words else ""
    typing = bool(_TYPED.match(last)) and not raw[-1:].isspace()
    vocabulary = await _vocabulary(db, app_id) if words else frozenset()
    alternatives: dict[str, list[str]] = {}
    fixed: list[str] = []
    for word in words:
        options = [word]
        unknown = vocabulary and word not in vocabulary
        if typing and word == last and any(v.startswith(word) for v in vocabulary):
            unknown = False  # still being typed: ``passw`` is no typo of ``pass``
        if unknown:
            options += highlight.corrections(word, vocabulary)
        alternatives[word] = options
        fixed.append(options[1] if len(options) > 1 else word)
    prefix = last if typing else None
    corrected = " ".join(fixed) if fixed != words else None
    return Query(words, alternatives, prefix, corrected)


def _tsquery(query: Query) -> str:
    # Words hold letters, digits and CJK only (``engines.form.search``): nothing to escape.
    pieces = [alt for word in query.words for alt in query.alternatives[word]]
    if query.prefix:
        pieces.append(f"{query.prefix}:*")
    return " | ".join(dict.fromkeys(pieces))


def _fts_query(query: Query) -> str:
    pieces = [f'"{alt}"' for word in query.words for alt in query.alternatives[word]]
    if query.prefix:
        pieces.append(f'"{query.prefix}"*')
    return " OR ".join(dict.fromkeys(pieces))


def _scoped(
    statement: Select, app_id: int, audience: Audience, category_ids: list[int] | None
) -> Select:
    statement = statement.where(KbEntry.app_id == app_id, KbEntry.published.is_(True))
    if audience == "public":
        statement = statement.where(KbEntry.public.is_(True))
    if category_ids is not None:
        statement = statement.where(KbEntry.category_id.in_(category_ids))
    return statement


async def search(
    db: AsyncSession,
    app_id: int,
    query: str,
    *,
    audience: Audience = "public",
    principal: Principal | None = None,
    category_id: int | None = None,
    limit: int = 10,
    app_key: str | None = None,
) -> SearchResult:
    """The articles of app ``app_id`` best matching ``query``, best first."""
    understood = await understand(db, app_id, query)
    if not understood.words:
        return SearchResult()
    scope = await _read_scope(db, app_id, app_key, audience, principal)
    if scope is False:
        return SearchResult()
    categories = await _category_tree(db, app_id, category_id) if category_id else None
    if db.bind.dialect.name == "postgresql":
        tsquery = func.to_tsquery(_SIMPLE, _tsquery(understood))
        score = func.ts_rank(KbEntry.vector, tsquery, 1)
        statement = select(KbEntry, score.label("score")).where(KbEntry.vector.op("@@")(tsquery))
    else:
        if not await _has_fts(db, app_id):
            return SearchResult()
        name = fts_name(app_id)  # from the integer id only
        fts = table(name, column("rowid"))
        rank = literal_column(f'bm25("{name}", 10.0, 5.0, 2.0, 1.0)')
        matches = (
            select(fts.c.rowid.label("rowid"), (-rank).label("score"))
            .select_from(fts)
            .where(literal_column(f'"{name}"').op("MATCH")(_fts_query(understood)))
            .subquery()
        )
        score = matches.c.score
        statement = select(KbEntry, score.label("score")).join(
            matches, matches.c.rowid == KbEntry.id
        )
    statement = _scoped(statement, app_id, audience, categories)
    if scope is not True:
        statement = statement.where(scope)
    rows = (
        await db.execute(statement.order_by(score.desc(), KbEntry.record_id).limit(limit * 3))
    ).all()
    ranked = sorted(
        rows, key=lambda r: (-_coverage(r[0], understood), -float(r.score), r[0].record_id)
    )[:limit]
    marked = understood.marked
    hits = [
        Hit(
            record_id=entry.record_id,
            title=entry.title,
            title_html=highlight.mark(entry.title, marked),
            snippet_html=highlight.snippet(entry.text, marked),
            summary=entry.text[:SUMMARY],
            score=round(float(row_score), 6),
            category_id=entry.category_id,
            public=entry.public,
        )
        for entry, row_score in ranked
    ]
    return SearchResult(hits, understood.corrected)


def _coverage(entry: KbEntry, query: Query) -> int:
    """How many of the query's words the article has (in any part)."""
    parts = (entry.title_words, entry.keyword_words, entry.summary_words, entry.body_words)
    words = set(" ".join(parts).split())
    found = sum(1 for w in query.words if any(alt in words for alt in query.alternatives[w]))
    prefix = query.prefix
    if prefix and prefix not in words and any(w.startswith(prefix) for w in words):
        found += 1
    return found


async def _has_fts(db: AsyncSession, app_id: int) -> bool:
    found = await db.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": fts_name(app_id)},
    )
    return found.first() is not None


async def _read_scope(
    db: AsyncSession,
    app_id: int,
    app_key: str | None,
    audience: Audience,
    principal: Principal | None,
) -> ColumnElement[bool] | bool:
    """True (public articles: no record scope), False (nothing), or the agent's read scope
    of the knowledge form as a condition on the index."""
    if audience == "public":
        return True
    if principal is None:
        return False
    if app_key is None:
        from builder.apps.models import App

        app_key = (await db.execute(select(App.key).where(App.id == app_id))).scalar_one()
    app = await resolve_app(db, app_key)
    mapping = knowledge_of(app.definition)
    if mapping is None or mapping.form not in app.handles:
        return False
    handle = app.handles[mapping.form]
    readable = select(handle.table.c.id).where(
        handle.table.c.deleted_at.is_(None), read_scope(handle, principal)
    )
    return and_(KbEntry.form_id == handle.form_id, KbEntry.record_id.in_(readable))


async def _category_tree(db: AsyncSession, app_id: int, category_id: int) -> list[int]:
    """The category and every category below it."""
    from builder.apps.models import App

    app_key = (await db.execute(select(App.key).where(App.id == app_id))).scalar_one()
    app = await resolve_app(db, app_key)
    mapping = knowledge_of(app.definition)
    categories = mapping.categories if mapping else None
    if categories is None or categories.parent is None or categories.form not in app.handles:
        return [category_id]
    handle = app.handles[categories.form]
    rows = await db.execute(
        select(handle.table.c.id, handle.column(categories.parent)).where(
            handle.table.c.deleted_at.is_(None)
        )
    )
    children: dict[int, list[int]] = {}
    for node, parent in rows:
        if parent is not None:
            children.setdefault(int(parent), []).append(int(node))
    found, todo = [category_id], [category_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found
