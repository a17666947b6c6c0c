"""template installs: which template and version an app was installed from

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 12:45:00

One row per app installed from a template (``templates``): the template's key and version,
its content at that version (the base of three-way merges when the app is upgraded), the map
from the template's form ids to the app's, and an upgrade planned but waiting for decisions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "template_installs",
        sa.Column("id", ID, nullable=False),
        sa.Column("app_id", ID, nullable=False),
        sa.Column("template_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("base", JSON, nullable=False),
        sa.Column("form_ids", JSON, nullable=False),
        sa.Column("pending", JSON, nullable=True),
        sa.Column("installed_by", ID, nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("upgraded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_template_installs_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["installed_by"],
            ["users.id"],
            name=op.f("fk_template_installs_installed_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_installs")),
    )
    with op.batch_alter_table("template_installs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_template_installs_app_id"), ["app_id"], unique=True)
        batch_op.create_index(
            batch_op.f("ix_template_installs_template_key"), ["template_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("template_installs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_template_installs_template_key"))
        batch_op.drop_index(batch_op.f("ix_template_installs_app_id"))

    op.drop_table("template_installs")
