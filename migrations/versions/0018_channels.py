"""channels: the app's intake channels and the log of what came and went through them

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 19:00:00

``channels``: one row per configured channel of an app (a mailbox, a WeChat official account,
the web chat, a telephony connector …): its kind, settings, encrypted secrets and the state the
channel keeps between runs. ``channel_messages``: every message in and out — accepted,
duplicate, ignored (auto-replies, loops), quarantined (malformed, forged) or failed — with its
external id (unique per channel and direction: repeats and replays are detected) and what it
became (customer, ticket, message record).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("intake", sa.String(length=63), nullable=True),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("secrets", sa.Text(), nullable=True),
        sa.Column("state", JSON, nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_channels_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("app_id", "key", name=op.f("uq_channels_app_id_key")),
    )
    op.create_index("ix_channels_kind", "channels", ["kind", "enabled"])
    op.create_table(
        "channel_messages",
        sa.Column("id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("channel_id", ID, nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("external_id", sa.String(length=500), nullable=True),
        sa.Column("thread_key", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("raw_file_id", ID, nullable=True),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("ticket_id", ID, nullable=True),
        sa.Column("communication_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_channel_messages_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_channel_messages_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["raw_file_id"],
            ["files.id"],
            name=op.f("fk_channel_messages_raw_file_id_files"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_messages")),
        sa.UniqueConstraint(
            "channel_id",
            "direction",
            "external_id",
            name=op.f("uq_channel_messages_channel_id_direction_external_id"),
        ),
    )
    op.create_index(
        "ix_channel_messages_channel", "channel_messages", ["channel_id", "status", "created_at"]
    )
    op.create_index("ix_channel_messages_thread", "channel_messages", ["app_id", "thread_key"])
    op.create_index("ix_channel_messages_ticket", "channel_messages", ["ticket_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_channel_messages_ticket", table_name="channel_messages")
    op.drop_index("ix_channel_messages_thread", table_name="channel_messages")
    op.drop_index("ix_channel_messages_channel", table_name="channel_messages")
    op.drop_table("channel_messages")
    op.drop_index("ix_channels_kind", table_name="channels")
    op.drop_table("channels")
