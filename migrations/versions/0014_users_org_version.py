"""organisation version: also raised when a user is added, removed, renamed or (de)activated

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 08:00:00

Flow assignment keeps who a user task's assignee names (a username, a role, a group, a
department) cached while the organisation version holds (``runtime.flows.assign``); which
users exist and are active is part of that answer, so those writes raise the version too.
Other user columns (last sign-in, password, locale) do not.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTION = "tangram_raise_org_version"
SQLITE_RAISE = (
    "INSERT INTO org_version (id, version, epoch) VALUES (1, 1, lower(hex(randomblob(16)))) "
    "ON CONFLICT (id) DO UPDATE SET version = version + 1"
)
SQLITE_EVENTS = {
    "insert": "INSERT",
    "update": "UPDATE OF username, is_active",
    "delete": "DELETE",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE CONSTRAINT TRIGGER tr_users_org_version "
            "AFTER INSERT OR UPDATE OF username, is_active OR DELETE ON users "
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()"
        )
    else:
        for kind, event in SQLITE_EVENTS.items():
            op.execute(
                f"CREATE TRIGGER tr_users_{kind}_org_version AFTER {event} "
                f"ON users BEGIN {SQLITE_RAISE}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS tr_users_org_version ON users")
    else:
        for kind in SQLITE_EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS tr_users_{kind}_org_version")
