"""SLA states: one clock per record under an SLA policy, due and warning times indexed

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 05:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_states",
        sa.Column(
            "form_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column(
            "record_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("app_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column(
            "version_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("paused_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_warn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("response_warned", sa.Boolean(), nullable=False),
        sa.Column("resolution_warned", sa.Boolean(), nullable=False),
        sa.Column("response_breached", sa.Boolean(), nullable=False),
        sa.Column("resolution_breached", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_sla_states_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("form_id", "record_id", name=op.f("pk_sla_states")),
    )
    with op.batch_alter_table("sla_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sla_states_resolution_due_at"), ["resolution_due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sla_states_resolution_warn_at"), ["resolution_warn_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sla_states_response_due_at"), ["response_due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sla_states_response_warn_at"), ["response_warn_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sla_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sla_states_response_warn_at"))
        batch_op.drop_index(batch_op.f("ix_sla_states_response_due_at"))
        batch_op.drop_index(batch_op.f("ix_sla_states_resolution_warn_at"))
        batch_op.drop_index(batch_op.f("ix_sla_states_resolution_due_at"))

    op.drop_table("sla_states")
