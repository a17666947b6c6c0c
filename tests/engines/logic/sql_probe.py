"""A probe table for the SQL compiler tests: every logic kind, compared with the evaluator.

The tests are synchronous (hypothesis drives many examples); ``Probe`` owns a
private event loop and an async engine from ``runtime.db.create_engine``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    case,
    delete,
    insert,
    not_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from engines.form.types.dates import UTCTimestamp
from engines.logic import evaluate, truthy
from engines.logic.coerce import format_datetime
from engines.logic.sql import SqlField, compile_condition
from runtime.db import create_engine

TABLE = "logic_sql_probe"
NOW = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
CONTEXT: dict[str, Any] = {
    "now": NOW,
    "timezone": "Asia/Shanghai",
    "user": {"id": 7, "name": "Alice", "tags": ["VIP"], "dept": {"code": "A-1"}},
    "department": {"id": 3, "name": "客户中心"},
}

metadata = MetaData()
probe = Table(
    TABLE,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(100)),
    Column("code", String(100)),
    Column("n", BigInteger),
    Column("amount", Numeric(12, 2)),
    Column("flag", Boolean),
    Column("day", Date),
    Column("at", UTCTimestamp()),
    Column("tags", JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")),
)

FIELDS: dict[str, SqlField] = {
    "name": SqlField(probe.c.name, "text"),
    "code": SqlField(probe.c.code, "text"),
    "n": SqlField(probe.c.n, "number"),
    "amount": SqlField(probe.c.amount, "number"),
    "flag": SqlField(probe.c.flag, "boolean"),
    "day": SqlField(probe.c.day, "date"),
    "at": SqlField(probe.c.at, "datetime"),
    "tags": SqlField(probe.c.tags, "array"),
    "meta.code": SqlField(probe.c.code, "text"),  # a dotted name: nested data
}
COLUMNS = ("name", "code", "n", "amount", "flag", "day", "at", "tags")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Values per column, chosen for the corners: NULL, "", 0, negatives, case, CJK, LIKE
# wildcards, numeric strings, case-mapping specials (Kelvin sign, dotted I, ß), astral
# and private-use characters, microsecond timestamps around the pinned `now`.
POOLS: dict[str, Sequence[Any]] = {
    "name": (
        None,
        "",
        "Alice",
        "alice",
        "ALICE",
        "Bob",
        "bob smith",
        "张三",
        "李四",
        "客户中心",
        "a%b",
        "a_b",
        "100%",
        "5",
        "05",
        " 5 ",
        "0",
        "-3",
        "1e3",
        "null",
        "true",
        "\u212aelvin",
        "\u0130stanbul",
        "straße",
        "STRASSE",
        "ÄBC",
        "äbc",
        "Σίσυφος",
        "😀",
        "\ue000",
        "VIP",
    ),
    "code": (None, "", "A-1", "a-1", "B-2", "5", "7", "0x10", "INV-001", "inv-002", "张"),
    "n": (None, 0, 1, -1, 5, 7, 42, -7, 100, 2**40),
    "amount": tuple(
        None if v is None else Decimal(v)
        for v in (None, "0", "0.10", "0.20", "0.30", "-2.25", "5", "5.50", "100", "-0.01")
    ),
    "flag": (None, True, False),
    "day": (
        None,
        date(2024, 5, 1),
        date(2024, 4, 30),
        date(2024, 5, 2),
        date(2024, 4, 24),
        date(2023, 12, 31),
        date(2024, 2, 29),
        date(999, 1, 1),
    ),
    "at": (
        None,
        utc("2024-05-01T12:30:15.123456"),
        utc("2024-05-01T12:30:15.123999"),
        utc("2024-05-01T12:30:15.124000"),
        utc("2024-05-01T00:00:00"),
        utc("2024-04-30T23:59:59.999500"),
        utc("2024-04-30T16:00:00"),
        utc("2023-01-01T08:00:00"),
    ),
    "tags": (None, [], ["a"], ["a", "b"], ["VIP"], ["客户", "a"], ["A"], ["5"], [""]),
}


def logic_data(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as the evaluator sees it (dates and datetimes as canonical strings)."""
    data: dict[str, Any] = {}
    for column in COLUMNS:
        value = row[column]
        if isinstance(value, Decimal):
            value = float(value)
        elif isinstance(value, datetime):
            value = format_datetime(value)
        elif isinstance(value, date):
            value = value.isoformat()
        data[column] = value
    data["meta"] = {"code": data["code"]}
    return data


class Probe:
    """The probe table in one database, with a private event loop."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name
        self.rows: list[dict[str, Any]] = []
        self.run(self._create())

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def _create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)

    def close(self) -> None:
        async def drop() -> None:
            async with self.engine.begin() as conn:
                await conn.run_sync(metadata.drop_all)
            await self.engine.dispose()

        self.run(drop())
        self.loop.close()

    def load(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Replace the table's rows; ``self.rows`` holds them as read back."""

        async def load() -> list[dict[str, Any]]:
            async with self.engine.begin() as conn:
                await conn.execute(delete(probe))
                await conn.execute(insert(probe), [dict(row) for row in rows])
                result = await conn.execute(select(probe).order_by(probe.c.id))
                return [dict(r._mapping) for r in result]

        self.rows = self.run(load())

    def ids_where(self, condition: ColumnElement[bool]) -> set[int]:
        """Ids of the rows ``WHERE condition`` selects."""

        async def query() -> set[int]:
            async with self.engine.connect() as conn:
                return {r[0] for r in await conn.execute(select(probe.c.id).where(condition))}

        result: set[int] = self.run(query())
        return result

    def select(self, condition: ColumnElement[bool]) -> tuple[set[int], set[int], set[int]]:
        """Ids where the condition is true, where ``NOT`` it is true, and where it is NULL."""

        async def query() -> tuple[set[int], set[int], set[int]]:
            async with self.engine.connect() as conn:
                where = await conn.execute(select(probe.c.id).where(condition))
                state = case((condition, 1), (not_(condition), 0), else_=2)
                both = await conn.execute(select(probe.c.id, state))
                states = list(both)
            chosen = {r[0] for r in where}
            return (
                chosen,
                {r[0] for r in states if r[1] == 0},
                {r[0] for r in states if r[1] == 2},
            )

        result: tuple[set[int], set[int], set[int]] = self.run(query())
        return result

    def expected(self, rule: Any, context: Mapping[str, Any] | None = None) -> set[int]:
        ctx = CONTEXT if context is None else context
        return {
            row["id"] for row in self.rows if truthy(evaluate(rule, logic_data(row), context=ctx))
        }

    def check(self, rule: Any, context: Mapping[str, Any] | None = None) -> set[int]:
        """Compile ``rule``, run it, and assert SQL == evaluator (and two-valued SQL)."""
        ctx = CONTEXT if context is None else context
        condition = compile_condition(rule, FIELDS, context=ctx)
        chosen, negated, unknown = self.select(condition)
        expected = self.expected(rule, ctx)
        assert not unknown, f"{rule}: NULL for ids {sorted(unknown)} on {self.dialect}"
        if chosen != expected:
            detail = {i: logic_data(self.rows[i - 1]) for i in sorted(chosen ^ expected)[:5]}
            raise AssertionError(
                f"{rule} on {self.dialect}: sql-only {sorted(chosen - expected)}, "
                f"evaluator-only {sorted(expected - chosen)}; rows {detail}"
            )
        all_ids = {row["id"] for row in self.rows}
        assert negated == all_ids - chosen, f"{rule}: NOT is not the complement"
        # Where NULL acts as false (WHERE), the guards may go: the same rows.
        loose = compile_condition(rule, FIELDS, context=ctx, null_is_false=True)
        chosen_loose = self.ids_where(loose)
        assert chosen_loose == expected, f"{rule} (null_is_false) on {self.dialect}"
        return chosen
