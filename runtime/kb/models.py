"""The knowledge base's search index: one row per article of an app's knowledge form.

The row holds the article's search words per part (title, keywords, summary, body — Chinese
segmented by :mod:`engines.form.search`), whether customers may see it and whether it is
published. PostgreSQL ranks a weighted ``tsvector`` (title A, keywords B, summary C, body D)
through a GIN index (a plain, empty index on SQLite); SQLite keeps an FTS5 table per app
(``kb_fts_<app id>``, created when the first article is indexed, like the forms' FTS tables)
ranked by ``bm25`` with the same weights.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from runtime.db import Base, IdType, utcnow

VectorType = TSVECTOR().with_variant(Text(), "sqlite")


class KbEntry(Base):
    __tablename__ = "kb_index"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    form_id: Mapped[int] = mapped_column(IdType)
    record_id: Mapped[int] = mapped_column(IdType)
    category_id: Mapped[int | None] = mapped_column(IdType)
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The plain title and the start of the plain text (for results and highlights).
    title: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    title_words: Mapped[str] = mapped_column(Text, default="")
    keyword_words: Mapped[str] = mapped_column(Text, default="")
    summary_words: Mapped[str] = mapped_column(Text, default="")
    body_words: Mapped[str] = mapped_column(Text, default="")
    #: PostgreSQL only: the weighted vector of the words (NULL on SQLite).
    vector: Mapped[str | None] = mapped_column(VectorType)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("form_id", "record_id"),
        Index("ix_kb_index_app", "app_id", "published", "public"),
        Index("ix_kb_index_vector", "vector", postgresql_using="gin"),
    )
