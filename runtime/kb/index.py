"""Keeping the knowledge base's search index current.

An in-transaction hook indexes an article whenever it is created, edited, deleted or restored
through the records writer, so the index commits with the article. Template seed rows are
written quietly (no events): :func:`reindex` rebuilds an app's index after an install, and
``tangram kb reindex`` does it by hand.

Words are those of :mod:`engines.form.search` (Chinese segmented by jieba) with English plurals
folded (``printers`` → ``printer``), per part: title, keywords, summary, body. PostgreSQL
stores them as one weighted ``tsvector`` (A, B, C, D); SQLite in an FTS5 table per app whose
columns ``bm25`` weighs alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import column, delete, func, insert, literal_column, select, table, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import TableClause

from builder.apps.definition import AppDefinition
from builder.apps.selfservice import KnowledgeMap
from engines.form import search
from runtime.db import utcnow
from runtime.flows import definitions
from runtime.kb.highlight import plain_text
from runtime.kb.models import KbEntry
from runtime.records.forms import FormHandle, published_form
from runtime.records.writer import RecordEvent, in_transaction

#: Characters of the plain text kept for snippets.
TEXT_KEPT = 20_000
PARTS = ("title", "keywords", "summary", "body")
_LATIN = re.compile(r"^[a-z][a-z0-9]*$")
_SIMPLE = literal_column("'simple'")


def stem(word: str) -> str:
    """English plurals folded to the singular (``policies`` → ``policy``); other words as is."""
    if not _LATIN.match(word) or len(word) <= 3:
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "os")):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The search words of ``text``, plurals folded, in order, without repeats."""
    return list(dict.fromkeys(stem(w) for w in search.words(text[: search.MAX_DOCUMENT])))


def fts_name(app_id: int) -> str:
    return f"kb_fts_{int(app_id)}"


def fts_table(app_id: int) -> TableClause:
    """The app's FTS5 table on SQLite (rowid = the index entry's id)."""
    return table(fts_name(app_id), column("rowid"), *(column(part) for part in PARTS))


async def ensure_fts(db: AsyncSession, app_id: int) -> None:
    """Create the app's FTS5 table on SQLite (its name comes from the integer id only)."""
    if db.bind.dialect.name == "sqlite":
        name = fts_name(app_id)
        await db.execute(
            text(
                f'CREATE VIRTUAL TABLE IF NOT EXISTS "{name}" USING fts5('
                "title, keywords, summary, body, tokenize='unicode61')"
            )
        )


def knowledge_of(definition: AppDefinition) -> KnowledgeMap | None:
    """The app's knowledge mapping (the first intake that has one)."""
    return next((s.knowledge for s in definition.intake if s.knowledge is not None), None)


@dataclass(frozen=True)
class Article:
    """What the index keeps of one article."""

    record_id: int
    category_id: int | None
    public: bool
    published: bool
    title: str
    text: str
    words: dict[str, str]


def article_of(mapping: KnowledgeMap, values: dict[str, Any], record_id: int) -> Article:
    """An article from its stored values by field key."""

    def value(key: str | None) -> Any:
        return values.get(key) if key else None

    title = str(value(mapping.title) or "")
    body = plain_text(str(value(mapping.body) or ""))
    summary = str(value(mapping.summary) or "")
    keywords = str(value(mapping.keywords) or "").replace(",", " ").replace("，", " ")
    category = value(mapping.category)
    visibility = value(mapping.visibility)
    status = value(mapping.status)
    parts = {"title": title, "keywords": keywords, "summary": summary, "body": body}
    return Article(
        record_id=record_id,
        category_id=int(category) if isinstance(category, int) else None,
        public=mapping.visibility is not None and visibility in mapping.public,
        published=mapping.status is None or status in mapping.published,
        title=title,
        text=(summary + " " + body).strip()[:TEXT_KEPT] if summary else body[:TEXT_KEPT],
        words={part: " ".join(terms(parts[part])) for part in PARTS},
    )


def _vector(words: dict[str, str]) -> Any:
    weights = zip(PARTS, "ABCD", strict=True)
    pieces = [
        func.setweight(func.to_tsvector(_SIMPLE, words[p]), literal_column(f"'{w}'"))
        for p, w in weights
    ]
    vector = pieces[0]
    for piece in pieces[1:]:
        vector = vector.op("||")(piece)
    return vector


async def _stored(handle: FormHandle, db: AsyncSession, ids: list[int]) -> dict[int, dict]:
    """The stored values of live records ``ids`` by field key."""
    if not ids:
        return {}
    table = handle.table
    keys = [spec.key for spec in handle.form.fields if handle.field_type(spec.key).has_column]
    columns = [handle.column(k).label(k) for k in keys]
    rows = await db.execute(
        select(table.c.id, *columns).where(table.c.id.in_(ids), table.c.deleted_at.is_(None))
    )
    return {row.id: dict(row._mapping) for row in rows}


async def write(
    db: AsyncSession, handle: FormHandle, mapping: KnowledgeMap, record_ids: list[int]
) -> None:
    """Index (or drop from the index) the articles ``record_ids`` as they are stored now."""
    stored = await _stored(handle, db, record_ids)
    sqlite = db.bind.dialect.name == "sqlite"
    if sqlite:
        await ensure_fts(db, handle.app_id)
    existing = dict(
        (
            await db.execute(
                select(KbEntry.record_id, KbEntry.id).where(
                    KbEntry.form_id == handle.form_id, KbEntry.record_id.in_(record_ids)
                )
            )
        ).all()
    )
    fts = fts_table(handle.app_id) if sqlite else None
    gone = [rid for rid in record_ids if rid not in stored and rid in existing]
    if gone:
        if fts is not None:
            await db.execute(delete(fts).where(fts.c.rowid.in_([existing[r] for r in gone])))
        await db.execute(delete(KbEntry).where(KbEntry.id.in_([existing[r] for r in gone])))
    for rid, values in stored.items():
        article = article_of(mapping, values, rid)
        row = {
            "app_id": handle.app_id,
            "form_id": handle.form_id,
            "record_id": rid,
            "category_id": article.category_id,
            "public": article.public,
            "published": article.published,
            "title": article.title,
            "text": article.text,
            "title_words": article.words["title"],
            "keyword_words": article.words["keywords"],
            "summary_words": article.words["summary"],
            "body_words": article.words["body"],
            "vector": None if sqlite else _vector(article.words),
            "updated_at": utcnow(),
        }
        if rid in existing:
            entry_id = existing[rid]
            await db.execute(update(KbEntry).where(KbEntry.id == entry_id).values(**row))
        else:
            entry_id = (
                await db.execute(insert(KbEntry).values(**row).returning(KbEntry.id))
            ).scalar_one()
        if fts is not None:
            await db.execute(delete(fts).where(fts.c.rowid == entry_id))
            await db.execute(insert(fts).values(rowid=entry_id, **article.words))


async def reindex(db: AsyncSession, handle: FormHandle, mapping: KnowledgeMap) -> int:
    """Rebuild the index of one knowledge form from its live records; the articles indexed."""
    table = handle.table
    ids = list((await db.execute(select(table.c.id).where(table.c.deleted_at.is_(None)))).scalars())
    stale = select(KbEntry.id).where(KbEntry.form_id == handle.form_id)
    if db.bind.dialect.name == "sqlite":
        await ensure_fts(db, handle.app_id)
        fts = fts_table(handle.app_id)
        await db.execute(delete(fts).where(fts.c.rowid.in_(stale)))
    await db.execute(delete(KbEntry).where(KbEntry.form_id == handle.form_id))
    for begin in range(0, len(ids), 500):
        await write(db, handle, mapping, ids[begin : begin + 500])
    return len(ids)


async def reindex_app(db: AsyncSession, app_key: str) -> int:
    """Rebuild the index of a published app (0 without a knowledge mapping)."""
    from runtime.records.forms import resolve_app

    app = await resolve_app(db, app_key)
    mapping = knowledge_of(app.definition)
    if mapping is None or mapping.form not in app.handles:
        return 0
    return await reindex(db, app.handles[mapping.form], mapping)


def _touches(event: RecordEvent, mapping: KnowledgeMap) -> bool:
    if event.kind != "updated":
        return True
    keys = {
        mapping.title,
        mapping.body,
        mapping.summary,
        mapping.keywords,
        mapping.category,
        mapping.visibility,
        mapping.status,
    }
    return any(key in event.changes for key in keys if key)


@in_transaction
async def index_articles(db: AsyncSession, events: list[RecordEvent]) -> None:
    """Index the articles the transaction wrote (one pass per knowledge form)."""
    pending: dict[int, tuple[int, KnowledgeMap, set[int]]] = {}
    for event in events:
        if event.version_id is None:
            continue
        definition = await definitions.definition(db, event.version_id)
        mapping = knowledge_of(definition) if definition.intake else None
        if mapping is None:
            continue
        form = definition.form_by_id(event.form_id)
        if form is None or form.key != mapping.form or not _touches(event, mapping):
            continue
        pending.setdefault(event.form_id, (event.version_id, mapping, set()))[2].add(
            event.record_id
        )
    for form_id, (_, mapping, ids) in pending.items():
        handle = await published_form(db, form_id)
        if handle is not None:
            await write(db, handle, mapping, sorted(ids))
