"""The knowledge base for the public (no sign-in): ``/api/v1/public/kb/{app_key}/…``.

- ``GET suggest?q=`` — published public articles matching what a customer is typing;
- ``GET articles/{id}`` — one published public article;
- ``POST deflections`` and ``PATCH deflections/{token}`` — the self-service session of the page
  (``runtime.kb.deflection``): started when suggestions are first shown, then the article read
  and whether it answered the question.

Only what customers may see ever leaves here; the platform's request rate limit applies.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from runtime.deps import IdPath, SessionDep
from runtime.errors import ProblemError
from runtime.kb import deflection
from runtime.kb.index import knowledge_of
from runtime.kb.models import KbEntry
from runtime.kb.search import search
from runtime.kb.search_routes import SearchOut, search_out
from runtime.records.forms import resolve_app
from runtime.records.writer import commit_and_dispatch

router = APIRouter(prefix="/api/v1/public/kb/{app_key}", tags=["knowledge base"])
AppKey = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Token = Annotated[str, Path(min_length=3, max_length=64, pattern=r"^\d+\.[0-9a-f]+$")]


def _secret(request: Request) -> str:
    return str(request.app.state.settings.resolved_secret())


class ArticleOut(BaseModel):
    id: int
    title: str
    summary: str | None
    #: The article's rich text as stored (sanitised when it was written).
    body_html: str
    category: int | None


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=200)
    source: Literal["portal", "web_form"]
    article: int | None = Field(default=None, ge=1)


class SessionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: str | None = Field(default=None, min_length=1, max_length=200)
    article: int | None = Field(default=None, ge=1)
    outcome: Literal["deflected"] | None = None


class SessionOut(BaseModel):
    token: str
    #: False when the session was settled already (a ticket was submitted, or it was solved).
    open: bool = True


async def _app_id(db: SessionDep, app_key: str) -> int:
    app = await resolve_app(db, app_key)
    if knowledge_of(app.definition) is None:
        raise ProblemError("not_found")
    return app.app_id


@router.get("/suggest", response_model=SearchOut)
async def suggest(
    app_key: AppKey,
    db: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=10)] = 5,
) -> SearchOut:
    app_id = await _app_id(db, app_key)
    return search_out(await search(db, app_id, q, audience="public", limit=limit))


async def _public_article(db: SessionDep, app_id: int, article_id: int) -> KbEntry:
    entry = (
        await db.execute(
            select(KbEntry).where(
                KbEntry.app_id == app_id,
                KbEntry.record_id == article_id,
                KbEntry.public.is_(True),
                KbEntry.published.is_(True),
            )
        )
    ).scalar_one_or_none()
    if entry is None:
        raise ProblemError("not_found")
    return entry


@router.get("/articles/{article_id}", response_model=ArticleOut)
async def article(app_key: AppKey, article_id: IdPath, db: SessionDep) -> ArticleOut:
    app = await resolve_app(db, app_key)
    mapping = knowledge_of(app.definition)
    if mapping is None:
        raise ProblemError("not_found")
    await _public_article(db, app.app_id, article_id)
    handle = app.handles[mapping.form]
    columns: list[Any] = [handle.column(mapping.title), handle.column(mapping.body)]
    columns.append(handle.column(mapping.summary) if mapping.summary else None)
    columns.append(handle.column(mapping.category) if mapping.category else None)
    row = (
        await db.execute(
            select(*[c for c in columns if c is not None]).where(
                handle.table.c.id == article_id, handle.table.c.deleted_at.is_(None)
            )
        )
    ).one()
    values = list(row)
    title, body = values[0], values[1]
    rest = values[2:]
    summary = rest.pop(0) if mapping.summary else None
    category = rest.pop(0) if mapping.category else None
    return ArticleOut(
        id=article_id,
        title=str(title or ""),
        summary=summary,
        body_html=str(body or ""),
        category=category,
    )


@router.post("/deflections", response_model=SessionOut, status_code=status.HTTP_201_CREATED)
async def start_session(
    app_key: AppKey, body: SessionIn, request: Request, db: SessionDep
) -> SessionOut:
    sessions = await deflection.sessions_of(db, app_key)
    if body.article is not None:
        await _public_article(db, sessions.app.app_id, body.article)
    record_id = await sessions.start(db, body.query, body.source, body.article)
    await commit_and_dispatch(db)
    return SessionOut(token=deflection.token_for(_secret(request), sessions.app.app_id, record_id))


@router.patch("/deflections/{token}", response_model=SessionOut)
async def note_session(
    app_key: AppKey, token: Token, body: SessionPatch, request: Request, db: SessionDep
) -> SessionOut:
    sessions = await deflection.sessions_of(db, app_key)
    record_id = deflection.record_of(_secret(request), sessions.app.app_id, token)
    if record_id is None:
        raise ProblemError("not_found")
    if body.article is not None:
        await _public_article(db, sessions.app.app_id, body.article)
    still_open = await sessions.note(
        db, record_id, query=body.query, article_id=body.article, outcome=body.outcome
    )
    await commit_and_dispatch(db)
    return SessionOut(token=token, open=still_open and body.outcome is None)
