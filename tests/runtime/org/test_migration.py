"""Migration 0006 on existing data: duplicate global role keys and extra primary departments.

Synchronous on purpose, like tests/runtime/test_migrations.py: ``runtime.migrate`` blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from runtime import migrate
from tests.conftest import BACKENDS, create_database
from tests.runtime.test_migrations import run_sync

NOW = "2026-01-01 00:00:00"


@pytest.fixture(params=BACKENDS)
def db_at_0004(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url, drop = create_database(request.param, tmp_path, migrated=False)
    migrate.upgrade(url, "0004")
    try:
        yield url
    finally:
        drop()


def test_upgrade_keeps_existing_roles_and_memberships(db_at_0004: str) -> None:
    def arrange(conn) -> None:  # type: ignore[no-untyped-def]
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, is_admin, is_active, "
                "must_change_password, attributes, created_at, updated_at, row_version) "
                f"VALUES (1, 'carol', 'Carol', false, true, false, '{{}}', '{NOW}', '{NOW}', 1)"
            )
        )
        for id_ in (1, 2):
            conn.execute(
                text(
                    "INSERT INTO departments (id, code, name, path, sort_order, created_at, "
                    f"updated_at, row_version) VALUES ({id_}, 'D{id_}', 'D', '/{id_}/', 0, "
                    f"'{NOW}', '{NOW}', 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO department_members (id, department_id, user_id, is_primary, "
                    f"position) VALUES ({id_}, {id_}, 1, true, 'member')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO roles (id, key, name, description, created_at) "
                    f"VALUES ({id_}, 'agent', 'Agent', '', '{NOW}')"
                )
            )
        conn.commit()

    run_sync(db_at_0004, arrange)
    migrate.upgrade(db_at_0004)

    def inspect(conn):  # type: ignore[no-untyped-def]
        roles = conn.execute(text("SELECT id, key, row_version FROM roles ORDER BY id")).all()
        primary = conn.execute(
            text("SELECT department_id FROM department_members WHERE is_primary")
        ).all()
        members = conn.execute(text("SELECT count(*) FROM department_members")).scalar()
        return roles, primary, members

    roles, primary, members = run_sync(db_at_0004, inspect)
    assert [tuple(r) for r in roles] == [(1, "agent", 1), (2, "agent_2", 1)]
    assert [tuple(p) for p in primary] == [(1,)] and members == 2
