"""webhook subscriptions: record events of an app posted, signed, to a URL

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 02:20:00

``webhook_subscriptions``: one row per subscription of an app — a form (by its stable id, or
every form), the record events (created, updated, deleted), the URL, the sealed signing secret
and whether it is active. Each delivery attempt is logged in ``webhook_deliveries`` with
``source_kind`` ``subscription``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=True),
        sa.Column("events", JSON, nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_webhook_subscriptions_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )
    op.create_index("ix_webhook_subscriptions_app", "webhook_subscriptions", ["app_id", "active"])


def downgrade() -> None:
    op.drop_index("ix_webhook_subscriptions_app", table_name="webhook_subscriptions")
    op.drop_table("webhook_subscriptions")
