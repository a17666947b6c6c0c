"""Migration 0015 (saved views): the table comes with the upgrade and goes with the downgrade."""

from __future__ import annotations

from sqlalchemy import inspect

from runtime import migrate
from tests.runtime.test_migrations import drift, empty_db, run_sync, table_names

__all__ = ["empty_db"]


def test_0015_adds_and_drops_saved_views(empty_db: str) -> None:
    migrate.upgrade(empty_db, "0014")
    assert "saved_views" not in table_names(empty_db)
    migrate.upgrade(empty_db, "0015")
    assert "saved_views" in table_names(empty_db)
    columns = run_sync(
        empty_db, lambda conn: {c["name"] for c in inspect(conn).get_columns("saved_views")}
    )
    assert {"form_id", "owner_id", "name", "columns", "filter", "sort", "shared"} <= columns
    indexes = run_sync(
        empty_db, lambda conn: {i["name"] for i in inspect(conn).get_indexes("saved_views")}
    )
    assert "ix_saved_views_form_shared" in indexes
    migrate.downgrade(empty_db, "0014")
    assert "saved_views" not in table_names(empty_db)
    migrate.upgrade(empty_db)
    assert drift(empty_db) == []
