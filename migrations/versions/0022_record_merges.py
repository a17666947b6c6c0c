"""record_merges: records merged into others (customers, tickets), kept for the undo

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 02:30:00

One row per merge: the survivor and the merged record (soft-deleted), the references that
moved from one to the other, the survivor's fields filled from the merged record and what other
parts moved (channel logs), so that undo puts everything back.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "record_merges",
        sa.Column("id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("form_id", ID, nullable=False),
        sa.Column("survivor_id", ID, nullable=False),
        sa.Column("merged_id", ID, nullable=False),
        sa.Column("moved", JSON, nullable=False),
        sa.Column("filled", JSON, nullable=False),
        sa.Column("extra", JSON, nullable=False),
        sa.Column("merged_by", ID, nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_by", ID, nullable=True),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_record_merges_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["forms.id"],
            name=op.f("fk_record_merges_form_id_forms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["merged_by"],
            ["users.id"],
            name=op.f("fk_record_merges_merged_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["undone_by"],
            ["users.id"],
            name=op.f("fk_record_merges_undone_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_merges")),
    )
    op.create_index("ix_record_merges_survivor", "record_merges", ["form_id", "survivor_id"])
    op.create_index("ix_record_merges_merged", "record_merges", ["form_id", "merged_id"])


def downgrade() -> None:
    op.drop_index("ix_record_merges_merged", table_name="record_merges")
    op.drop_index("ix_record_merges_survivor", table_name="record_merges")
    op.drop_table("record_merges")
