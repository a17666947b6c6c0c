"""The SQLite functions: local buckets across DST and the continuous percentile."""

from __future__ import annotations

import sqlite3

import pytest

from engines.report.sqlite_functions import percentile_cont, register


@pytest.fixture
def conn() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    register(connection)
    return connection


@pytest.mark.parametrize(
    ("stored", "unit", "tz", "expected"),
    [
        ("2024-03-04 15:59:59.000000", "day", "Asia/Shanghai", "2024-03-04 00:00:00"),
        ("2024-03-04 16:00:00.000000", "day", "Asia/Shanghai", "2024-03-05 00:00:00"),
        ("2024-03-30 23:00:00.000000", "day", "Europe/Berlin", "2024-03-31 00:00:00"),
        ("2024-03-31 21:59:59.000000", "day", "Europe/Berlin", "2024-03-31 00:00:00"),
        ("2024-03-31 22:00:00.000000", "day", "Europe/Berlin", "2024-04-01 00:00:00"),
        ("2024-10-27 00:30:00.000000", "hour", "Europe/Berlin", "2024-10-27 02:00:00"),
        ("2024-10-27 01:30:00.000000", "hour", "Europe/Berlin", "2024-10-27 02:00:00"),
        ("2024-03-06 10:00:00.000000", "week", "UTC", "2024-03-04 00:00:00"),
        ("2024-03-10 23:59:59.000000", "week", "UTC", "2024-03-04 00:00:00"),
        ("2024-06-30 16:00:00.000000", "quarter", "Asia/Shanghai", "2024-07-01 00:00:00"),
        ("2024-12-31 16:00:00.000000", "year", "Asia/Shanghai", "2025-01-01 00:00:00"),
        ("2024-02-29", "month", None, "2024-02-01 00:00:00"),
    ],
)
def test_trunc(
    conn: sqlite3.Connection, stored: str, unit: str, tz: str | None, expected: str
) -> None:
    assert (
        conn.execute("select tangram_trunc(?, ?, ?)", (stored, unit, tz)).fetchone()[0] == expected
    )


def test_parts(conn: sqlite3.Connection) -> None:
    row = conn.execute(
        "select tangram_part(?, 'hour_of_day', 'Asia/Shanghai'), "
        "tangram_part(?, 'weekday', 'Asia/Shanghai'), tangram_part(NULL, 'weekday', 'UTC')",
        ("2024-03-10 16:30:00.000000", "2024-03-10 16:30:00.000000"),
    ).fetchone()
    assert row == (0, 1, None)  # 00:30 on Monday 11 March in Shanghai


def test_percentile_aggregate(conn: sqlite3.Connection) -> None:
    conn.execute("create table t (g, x)")
    conn.executemany(
        "insert into t values (?, ?)", [(1, 1), (1, 2), (1, 3), (1, 4), (1, None), (2, None)]
    )
    rows = conn.execute(
        "select g, tangram_percentile(x, 0.5), tangram_percentile(x, 0.9) from t group by g"
    ).fetchall()
    assert rows == [(1, 2.5, pytest.approx(3.7)), (2, None, None)]


def test_percentile_cont_matches_postgres_definition() -> None:
    assert percentile_cont([10.0], 0.9) == 10.0
    assert percentile_cont([1.0, 2.0], 0.25) == 1.25
    assert percentile_cont([], 0.5) is None
    assert percentile_cont([5.0, 1.0, 3.0], 0.5) == 3.0
