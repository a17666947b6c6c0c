"""public forms: published forms at public links and their submissions' tracking tokens

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 02:30:00

``public_forms``: a form of an app at ``/p/<slug>`` (title, intro and success message per
locale, the fields shown, whether an e-mail is asked for, the rate limit). Tracking tokens of
submissions are kept as SHA-256 hashes in ``public_form_submissions`` with the challenge nonce
each used (unique: one answer per challenge).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "public_forms",
        sa.Column("id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("form_key", sa.String(length=63), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("title", JSON, nullable=False),
        sa.Column("intro", JSON, nullable=False),
        sa.Column("success", JSON, nullable=False),
        sa.Column("fields", JSON, nullable=True),
        sa.Column("collect_email", sa.Boolean(), nullable=False),
        sa.Column("rate_limit", sa.String(length=32), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_public_forms_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_forms")),
        sa.UniqueConstraint("slug", name=op.f("uq_public_forms_slug")),
        sa.UniqueConstraint("app_id", "form_key", name=op.f("uq_public_forms_app_id_form_key")),
    )
    op.create_table(
        "public_form_submissions",
        sa.Column("id", ID, nullable=False),
        sa.Column("public_form_id", ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("record_id", ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["public_form_id"],
            ["public_forms.id"],
            name=op.f("fk_public_form_submissions_public_form_id_public_forms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_form_submissions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_public_form_submissions_token_hash")),
        sa.UniqueConstraint("nonce", name=op.f("uq_public_form_submissions_nonce")),
    )
    op.create_index(
        "ix_public_form_submissions_form",
        "public_form_submissions",
        ["public_form_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_public_form_submissions_form", table_name="public_form_submissions")
    op.drop_table("public_form_submissions")
    op.drop_table("public_forms")
