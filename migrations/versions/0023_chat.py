"""chat: web chat conversations and their events

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 02:30:00

``chat_conversations``: one per visitor token and chat channel (the hashed token, what the
visitor told — name, e-mail, phone —, the customer and ticket it became, the latest event
number and the latest one an agent saw). ``chat_events``: the conversation's visitor and agent
messages, numbered per conversation (the widget resumes from a number after a reconnect).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chat_conversations",
        sa.Column("id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("channel_id", ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("customer_id", ID, nullable=True),
        sa.Column("ticket_id", ID, nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("agent_seen_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_chat_conversations_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_chat_conversations_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_conversations")),
        sa.UniqueConstraint(
            "channel_id", "token_hash", name=op.f("uq_chat_conversations_channel_id_token_hash")
        ),
    )
    op.create_index("ix_chat_conversations_app", "chat_conversations", ["app_id", "updated_at"])
    op.create_index("ix_chat_conversations_ticket", "chat_conversations", ["ticket_id"])
    op.create_table(
        "chat_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=16), nullable=False),
        sa.Column("author_id", ID, nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("communication_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["chat_conversations.id"],
            name=op.f("fk_chat_events_conversation_id_chat_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_events")),
        sa.UniqueConstraint(
            "conversation_id", "seq", name=op.f("uq_chat_events_conversation_id_seq")
        ),
    )


def downgrade() -> None:
    op.drop_table("chat_events")
    op.drop_index("ix_chat_conversations_ticket", table_name="chat_conversations")
    op.drop_index("ix_chat_conversations_app", table_name="chat_conversations")
    op.drop_table("chat_conversations")
