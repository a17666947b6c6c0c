"""``GET /api/v1/apps/{app_id}/kb/search``: the knowledge base searched by a signed-in user —
every published article they may read (``audience=agent``, the default) or what customers see
(``audience=public``), best first, with highlights."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from builder.apps.models import App
from runtime.deps import CurrentUser, IdPath, SessionDep
from runtime.errors import ProblemError
from runtime.kb.search import SearchResult, search

router = APIRouter(prefix="/api/v1/apps/{app_id}/kb", tags=["knowledge base"])


class HitOut(BaseModel):
    id: int
    title: str
    #: The title and a passage of the article as HTML: escaped text, found words in <mark>.
    title_html: str
    snippet_html: str
    #: The start of the article's summary and text, plain.
    summary: str
    score: float
    category: int | None
    public: bool


class SearchOut(BaseModel):
    items: list[HitOut]
    #: The query with its typos corrected, when the search corrected any ("did you mean").
    corrected: str | None


def search_out(result: SearchResult) -> SearchOut:
    return SearchOut(
        items=[
            HitOut(
                id=h.record_id,
                title=h.title,
                title_html=h.title_html,
                snippet_html=h.snippet_html,
                summary=h.summary,
                score=h.score,
                category=h.category_id,
                public=h.public,
            )
            for h in result.hits
        ],
        corrected=result.corrected,
    )


@router.get("/search", response_model=SearchOut)
async def search_articles(
    app_id: IdPath,
    principal: CurrentUser,
    db: SessionDep,
    q: Annotated[str, Query(min_length=1, max_length=200, description="What to look for")],
    audience: Annotated[Literal["agent", "public"], Query()] = "agent",
    category: Annotated[int | None, Query(ge=1, description="A category (and those below)")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchOut:
    app_key = (
        await db.execute(select(App.key).where(App.id == app_id, App.deleted_at.is_(None)))
    ).scalar_one_or_none()
    if app_key is None:
        raise ProblemError("not_found")
    result = await search(
        db,
        app_id,
        q,
        audience=audience,
        principal=principal,
        category_id=category,
        limit=limit,
        app_key=app_key,
    )
    return search_out(result)
