"""kb_index: the knowledge base's search index

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 13:30:00

One row per article of an app's knowledge form: its search words per part (title, keywords,
summary, body), visibility, review state and, on PostgreSQL, the weighted ``tsvector`` with a
GIN index. SQLite's FTS5 tables (``kb_fts_<app id>``) are created by the index when an app's
first article is written, like the forms' FTS tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
VECTOR = postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kb_index",
        sa.Column("id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("form_id", ID, nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("category_id", ID, nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("title_words", sa.Text(), nullable=False),
        sa.Column("keyword_words", sa.Text(), nullable=False),
        sa.Column("summary_words", sa.Text(), nullable=False),
        sa.Column("body_words", sa.Text(), nullable=False),
        sa.Column("vector", VECTOR, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_kb_index_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_index")),
        sa.UniqueConstraint("form_id", "record_id", name=op.f("uq_kb_index_form_id_record_id")),
    )
    op.create_index("ix_kb_index_app", "kb_index", ["app_id", "published", "public"])
    op.create_index("ix_kb_index_vector", "kb_index", ["vector"], postgresql_using="gin")


def downgrade() -> None:
    op.drop_index("ix_kb_index_vector", table_name="kb_index")
    op.drop_index("ix_kb_index_app", table_name="kb_index")
    op.drop_table("kb_index")
