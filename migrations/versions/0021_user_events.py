"""user events: live events waiting for a signed-in user's open pages (screen pops)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 02:30:00

``user_events``: one row per event and user (a telephony screen pop …), read by the user's
open event streams (``GET /api/v1/me/events``) in any server process; kept a few minutes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "user_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_events_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_events")),
    )
    op.create_index("ix_user_events_user", "user_events", ["user_id", "id"])
    op.create_index("ix_user_events_created", "user_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_user_events_created", table_name="user_events")
    op.drop_index("ix_user_events_user", table_name="user_events")
    op.drop_table("user_events")
