"""Migrations: empty → head → base → head, and no drift between the models and the migrations.

The tests are synchronous on purpose: ``runtime.migrate`` blocks and runs its own event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, String, Table, inspect
from sqlalchemy.engine import Connection

from runtime import migrate
from runtime.db import create_engine
from runtime.models import metadata
from tests.conftest import BACKENDS, create_database

PLATFORM_TABLES = {table.name for table in metadata.sorted_tables}


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url, drop = create_database(request.param, tmp_path, migrated=False)
    try:
        yield url
    finally:
        drop()


def run_sync(url: str, fn: Any) -> Any:
    """Run ``fn(sync_connection)`` against ``url`` (in a fresh event loop)."""

    async def go() -> Any:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def table_names(url: str) -> set[str]:
    return set(run_sync(url, lambda conn: inspect(conn).get_table_names()))


def drift(url: str, target: MetaData = metadata) -> list[Any]:
    def compare(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "compare_server_default": False},
        )
        return list(compare_metadata(context, target))

    return run_sync(url, compare)


def test_upgrade_downgrade_upgrade(empty_db: str) -> None:
    assert table_names(empty_db) == set()
    assert asyncio.run(migrate.current_revision(empty_db)) is None
    assert not migrate.is_current(empty_db)

    migrate.upgrade(empty_db)
    assert table_names(empty_db) == PLATFORM_TABLES | {"alembic_version"}
    assert asyncio.run(migrate.current_revision(empty_db)) == migrate.head_revision()
    assert migrate.is_current(empty_db)

    migrate.downgrade(empty_db, "base")
    assert table_names(empty_db) == {"alembic_version"}
    assert asyncio.run(migrate.current_revision(empty_db)) is None

    migrate.upgrade(empty_db)
    assert table_names(empty_db) == PLATFORM_TABLES | {"alembic_version"}
    assert migrate.is_current(empty_db)

    migrate.upgrade(empty_db)  # at head already: nothing to do, nothing breaks
    assert migrate.is_current(empty_db)


def test_models_match_migrations(empty_db: str) -> None:
    migrate.upgrade(empty_db)
    differences = drift(empty_db)
    assert differences == [], "models and migrations differ:\n" + "\n".join(
        str(d) for d in differences
    )


def test_models_match_migrations_after_round_trip(empty_db: str) -> None:
    migrate.upgrade(empty_db)
    migrate.downgrade(empty_db, "base")
    migrate.upgrade(empty_db)
    assert drift(empty_db) == []


def test_drift_check_notices_differences(empty_db: str) -> None:
    """Guard against a vacuous comparison: a changed model must show up as drift."""
    migrate.upgrade(empty_db)
    changed = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(changed)
    Table("not_migrated", changed, Column("id", Integer, primary_key=True))
    changed.tables["users"].append_column(Column("nickname", String(40)))
    kinds = {d[0] if isinstance(d, tuple) else d[0][0] for d in drift(empty_db, changed)}
    assert {"add_table", "add_column"} <= kinds


def test_0005_copies_comment_attachments_and_downgrade_refuses_shared_blobs(
    empty_db: str,
) -> None:
    migrate.upgrade(empty_db, "0004")
    now = datetime.now(UTC)
    tables = metadata.tables

    def arrange(conn: Connection) -> None:
        conn.execute(
            tables["apps"]
            .insert()
            .values(
                id=1,
                key="a",
                name={},
                description={},
                created_at=now,
                updated_at=now,
                row_version=1,
            )
        )
        conn.execute(tables["forms"].insert().values(id=5, app_id=1, key="f", created_at=now))
        conn.execute(
            tables["files"].insert(),
            [
                {
                    "id": file_id,
                    "key": key,
                    "filename": "x",
                    "content_type": "text/plain",
                    "size": 1,
                    "sha256": "0" * 64,
                    "created_at": now,
                }
                for file_id, key in ((1, "a" * 32), (2, "b" * 32))
            ],
        )
        conn.execute(
            tables["record_comments"].insert(),
            [
                {
                    "id": 10,
                    "form_id": 5,
                    "record_id": 3,
                    "body": "b",
                    "internal": False,
                    "mentions": [],
                    "attachments": [1, 2, 1, 99],
                    "created_at": now,
                },
                {
                    "id": 11,
                    "form_id": 5,
                    "record_id": 4,
                    "body": "c",
                    "internal": False,
                    "mentions": [],
                    "attachments": [],
                    "created_at": now,
                },
            ],
        )
        conn.commit()

    run_sync(empty_db, arrange)
    migrate.upgrade(empty_db)
    held = run_sync(
        empty_db,
        lambda conn: conn.execute(
            sa.select(
                tables["record_files"].c.form_id,
                tables["record_files"].c.record_id,
                tables["record_files"].c.comment_id,
                tables["record_files"].c.file_id,
            ).order_by(tables["record_files"].c.id)
        ).all(),
    )
    assert [tuple(r) for r in held] == [(5, 3, 10, 1), (5, 3, 10, 2)]  # unknown file 99 left out

    def share(conn: Connection) -> None:
        conn.execute(tables["files"].update().values(key="c" * 64))
        conn.commit()

    run_sync(empty_db, share)
    with pytest.raises(RuntimeError, match="share the blob"):
        migrate.downgrade(empty_db, "0004")
    # PostgreSQL rolls the whole downgrade back (transactional DDL); SQLite keeps the steps
    # above 0005 that ran before the refusal. Either way 0005's tables are still there.
    expected = migrate.head_revision() if empty_db.startswith("postgresql") else "0005"
    assert asyncio.run(migrate.current_revision(empty_db)) == expected
