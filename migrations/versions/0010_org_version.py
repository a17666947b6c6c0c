"""organisation version: one counter that triggers raise on every write to the organisation

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:00:00

Requests keep a user's membership cached while this counter holds (``runtime.permissions``).
Triggers, not application code, raise it, so that no write path can miss it:

* PostgreSQL: a deferred constraint trigger per row runs at commit and raises the counter once
  per transaction (the row is locked only while committing, so two transactions writing the
  organisation cannot deadlock on it).
* SQLite: a trigger per row and statement kind; SQLite has one writer at a time.

When the row is missing (an emptied table) the first write creates it with a new ``epoch``.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "departments",
    "department_members",
    "roles",
    "role_members",
    "groups",
    "group_members",
)
FUNCTION = "tangram_raise_org_version"

PG_FUNCTION = """
CREATE FUNCTION tangram_raise_org_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO org_version (id, version, epoch, xact)
    VALUES (1, 1, md5(random()::text || clock_timestamp()::text), pg_current_xact_id()::text)
    ON CONFLICT (id) DO UPDATE
        SET version = org_version.version + 1, xact = EXCLUDED.xact
        WHERE org_version.xact IS DISTINCT FROM EXCLUDED.xact;
    RETURN NULL;
END
$$
"""

SQLITE_RAISE = (
    "INSERT INTO org_version (id, version, epoch) VALUES (1, 1, lower(hex(randomblob(16)))) "
    "ON CONFLICT (id) DO UPDATE SET version = version + 1"
)


def upgrade() -> None:
    op.create_table(
        "org_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("epoch", sa.String(length=32), nullable=False),
        sa.Column("xact", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_version")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table in TABLES:
            op.execute(
                f"CREATE CONSTRAINT TRIGGER tr_{table}_org_version "
                f"AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
            )
    else:
        for table in TABLES:
            for kind in ("insert", "update", "delete"):
                op.execute(
                    f"CREATE TRIGGER tr_{table}_{kind}_org_version AFTER {kind.upper()} "
                    f"ON {table} BEGIN {SQLITE_RAISE}; END"
                )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "INSERT INTO org_version (id, version, epoch) "
            "VALUES (1, 0, md5(random()::text || clock_timestamp()::text))"
        )
    else:
        op.execute(
            "INSERT INTO org_version (id, version, epoch) VALUES (1, 0, lower(hex(randomblob(16))))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS tr_{table}_org_version ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    else:
        for table in TABLES:
            for kind in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS tr_{table}_{kind}_org_version")
    op.drop_table("org_version")
