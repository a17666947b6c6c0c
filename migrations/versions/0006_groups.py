"""user groups; roles get row versions; one primary department per user

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 18:20:54.317908
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", ID, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("key", name=op.f("uq_groups_key")),
    )
    op.create_table(
        "group_members",
        sa.Column("id", ID, nullable=False),
        sa.Column("group_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_members_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_group_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_members")),
        sa.UniqueConstraint("group_id", "user_id", name=op.f("uq_group_members_group_id_user_id")),
    )
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_members_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_group_members_user_id"), ["user_id"], unique=False)

    # Existing data: keep the lowest-id primary membership of each user.
    op.execute(
        "UPDATE department_members SET is_primary = false WHERE is_primary AND id NOT IN "
        "(SELECT MIN(id) FROM department_members WHERE is_primary GROUP BY user_id)"
    )
    op.create_index(
        "uq_department_members_primary_user_id",
        "department_members",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("is_primary"),
        postgresql_where=sa.text("is_primary"),
    )

    # Existing roles: updated when created, version 1.
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("row_version", sa.Integer(), nullable=False, server_default="1")
        )
    op.execute("UPDATE roles SET updated_at = created_at")
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.alter_column(
            "updated_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )
        batch_op.alter_column("row_version", existing_type=sa.Integer(), server_default=None)
    # Global roles sharing a key (nothing prevented it before): all but the first get ``_<id>``.
    op.execute(
        "UPDATE roles SET key = substr(key, 1, 40) || '_' || id WHERE app_id IS NULL "
        "AND id NOT IN (SELECT MIN(id) FROM roles WHERE app_id IS NULL GROUP BY key)"
    )
    op.create_index(
        "uq_roles_global_key",
        "roles",
        ["key"],
        unique=True,
        sqlite_where=sa.text("app_id IS NULL"),
        postgresql_where=sa.text("app_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_roles_global_key", table_name="roles")
    with op.batch_alter_table("roles", schema=None) as batch_op:
        batch_op.drop_column("row_version")
        batch_op.drop_column("updated_at")
    op.drop_index("uq_department_members_primary_user_id", table_name="department_members")

    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_members_user_id"))
        batch_op.drop_index(batch_op.f("ix_group_members_group_id"))

    op.drop_table("group_members")
    op.drop_table("groups")
