"""demo accounts: the demo users the sign-in page offers, and the first run's default install

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 15:45:00

``demo_accounts``: one row per demo user a template's demo data marks ``show_on_sign_in`` (the
role it stands for, its labels, the demo password), gone with its app or user.
``default_installs``: the bundled template ``tangram init`` installed on the first run, kept
so that it is never installed again (also after its app was deleted).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "demo_accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("role_key", sa.String(length=64), nullable=False),
        sa.Column("role_label", JSON, nullable=False),
        sa.Column("password", sa.String(length=1024), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_demo_accounts_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_demo_accounts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demo_accounts")),
    )
    with op.batch_alter_table("demo_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_demo_accounts_app_id"), ["app_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_demo_accounts_user_id"), ["user_id"], unique=False)
    op.create_table(
        "default_installs",
        sa.Column("template_key", sa.String(length=64), nullable=False),
        sa.Column("app_id", ID, nullable=True),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_default_installs_app_id_apps"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("template_key", name=op.f("pk_default_installs")),
    )


def downgrade() -> None:
    op.drop_table("default_installs")
    with op.batch_alter_table("demo_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_demo_accounts_user_id"))
        batch_op.drop_index(batch_op.f("ix_demo_accounts_app_id"))

    op.drop_table("demo_accounts")
