"""flows: instances, tokens, tasks with their claim pools, timers, CC notices and history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:18:26.165786
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "flow_instances",
        sa.Column("id", _ID, nullable=False),
        sa.Column("app_id", _ID, nullable=False),
        sa.Column("version_id", _ID, nullable=False),
        sa.Column("flow_key", sa.String(length=64), nullable=False),
        sa.Column("form_id", _ID, nullable=True),
        sa.Column("record_id", _ID, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("variables", JSON, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("visited", JSON, nullable=False),
        sa.Column("error", JSON, nullable=True),
        sa.Column("started_by", _ID, nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parent_id", _ID, nullable=True),
        sa.Column("parent_token", sa.Integer(), nullable=True),
        sa.Column("parent_call", sa.Integer(), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_flow_instances_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["form_id"],
            ["forms.id"],
            name=op.f("fk_flow_instances_form_id_forms"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["flow_instances.id"],
            name=op.f("fk_flow_instances_parent_id_flow_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["started_by"],
            ["users.id"],
            name=op.f("fk_flow_instances_started_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["app_versions.id"],
            name=op.f("fk_flow_instances_version_id_app_versions"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_instances")),
    )
    with op.batch_alter_table("flow_instances", schema=None) as batch_op:
        batch_op.create_index("ix_flow_instances_app_status", ["app_id", "status"], unique=False)
        batch_op.create_index("ix_flow_instances_parent_id", ["parent_id"], unique=False)
        batch_op.create_index("ix_flow_instances_record", ["form_id", "record_id"], unique=False)
        batch_op.create_index("ix_flow_instances_started_by", ["started_by", "id"], unique=False)

    op.create_table(
        "flow_history",
        sa.Column("id", _ID, nullable=False),
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor_id", _ID, nullable=True),
        sa.Column("node", sa.String(length=100), nullable=True),
        sa.Column("task_seq", sa.Integer(), nullable=True),
        sa.Column("data", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_flow_history_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["flow_instances.id"],
            name=op.f("fk_flow_history_instance_id_flow_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_history")),
    )
    with op.batch_alter_table("flow_history", schema=None) as batch_op:
        batch_op.create_index("ix_flow_history_instance", ["instance_id", "id"], unique=False)

    op.create_table(
        "flow_tasks",
        sa.Column("id", _ID, nullable=False),
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("app_id", _ID, nullable=False),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("name", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", _ID, nullable=True),
        sa.Column("candidates", JSON, nullable=False),
        sa.Column("signer", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("data", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_flow_tasks_app_id_apps"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_flow_tasks_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["completed_by"],
            ["users.id"],
            name=op.f("fk_flow_tasks_completed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["flow_instances.id"],
            name=op.f("fk_flow_tasks_instance_id_flow_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_tasks")),
        sa.UniqueConstraint("instance_id", "seq", name=op.f("uq_flow_tasks_instance_id_seq")),
    )
    with op.batch_alter_table("flow_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_flow_tasks_assignee", ["assignee_id", "status", "id"], unique=False
        )
        batch_op.create_index(
            "ix_flow_tasks_completed_by", ["completed_by", "completed_at"], unique=False
        )
        batch_op.create_index(
            "ix_flow_tasks_open_due",
            ["due_at"],
            unique=False,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )

    op.create_table(
        "flow_timers",
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("boundary_of", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["flow_instances.id"],
            name=op.f("fk_flow_timers_instance_id_flow_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "seq", name=op.f("pk_flow_timers")),
    )
    op.create_table(
        "flow_tokens",
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("node", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=100), nullable=True),
        sa.Column("data", JSON, nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["flow_instances.id"],
            name=op.f("fk_flow_tokens_instance_id_flow_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "seq", name=op.f("pk_flow_tokens")),
    )
    op.create_table(
        "flow_cc",
        sa.Column("id", _ID, nullable=False),
        sa.Column("instance_id", _ID, nullable=False),
        sa.Column("task_id", _ID, nullable=True),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["flow_instances.id"],
            name=op.f("fk_flow_cc_instance_id_flow_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["flow_tasks.id"],
            name=op.f("fk_flow_cc_task_id_flow_tasks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_flow_cc_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_cc")),
        sa.UniqueConstraint("task_id", "user_id", name=op.f("uq_flow_cc_task_id_user_id")),
    )
    with op.batch_alter_table("flow_cc", schema=None) as batch_op:
        batch_op.create_index("ix_flow_cc_user_id", ["user_id", "id"], unique=False)

    op.create_table(
        "flow_task_pools",
        sa.Column("id", _ID, nullable=False),
        sa.Column("task_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["flow_tasks.id"],
            name=op.f("fk_flow_task_pools_task_id_flow_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_task_pools")),
    )
    with op.batch_alter_table("flow_task_pools", schema=None) as batch_op:
        batch_op.create_index("ix_flow_task_pools_kind_ref", ["kind", "ref_id"], unique=False)
        batch_op.create_index("ix_flow_task_pools_task_id", ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("flow_task_pools", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_task_pools_task_id")
        batch_op.drop_index("ix_flow_task_pools_kind_ref")

    op.drop_table("flow_task_pools")
    with op.batch_alter_table("flow_cc", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_cc_user_id")

    op.drop_table("flow_cc")
    op.drop_table("flow_tokens")
    op.drop_table("flow_timers")
    with op.batch_alter_table("flow_tasks", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_flow_tasks_open_due",
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
        batch_op.drop_index("ix_flow_tasks_completed_by")
        batch_op.drop_index("ix_flow_tasks_assignee")

    op.drop_table("flow_tasks")
    with op.batch_alter_table("flow_history", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_history_instance")

    op.drop_table("flow_history")
    with op.batch_alter_table("flow_instances", schema=None) as batch_op:
        batch_op.drop_index("ix_flow_instances_started_by")
        batch_op.drop_index("ix_flow_instances_record")
        batch_op.drop_index("ix_flow_instances_parent_id")
        batch_op.drop_index("ix_flow_instances_app_status")

    op.drop_table("flow_instances")
