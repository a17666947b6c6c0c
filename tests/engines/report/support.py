"""Test support: the report test forms, seeded data with awkward edges, both databases.

The data has NULLs everywhere, deleted rows, rows the test viewer may not see, timestamps right
around local midnight in Asia/Shanghai and around the 2024 DST changes in Europe/Berlin, and
fan-out (several replies and tags per ticket).
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, Table, delete, event, insert, or_
from sqlalchemy.sql.elements import ColumnElement

from engines.form.schema import FormSchema
from engines.report import StaticCatalog, Viewer
from engines.report.sqlite_functions import register
from runtime.db import create_engine
from runtime.models import metadata as platform_metadata

DATA = Path(__file__).parent / "data"
FORMS = [FormSchema.model_validate(f) for f in json.loads((DATA / "forms.json").read_text())]
BY_KEY = {f.key: f for f in FORMS}


def load_widgets() -> dict[str, Any]:
    return {w["key"]: w for w in json.loads((DATA / "widgets.json").read_text())}


def new_catalog() -> StaticCatalog:
    metadata = MetaData()
    for name in ("users", "departments"):
        platform_metadata.tables[name].to_metadata(metadata)
    return StaticCatalog.build(FORMS, metadata)


# --- the test viewer: the same scope in SQL and in Python ---------------------------------------


def _scope_sql(catalog: StaticCatalog, form_key: str) -> ColumnElement[bool]:
    """Written against the form's own table (the engine adapts it to its aliases)."""
    c = catalog.forms[form_key].table.c
    if form_key == "ticket":
        return or_(c.f_3.is_(None), c.f_3 != "other")
    if form_key == "customer":
        return or_(c.f_2.is_(None), c.f_2 != "east")
    if form_key == "tag":
        return or_(c.f_2.is_(None), c.f_2 < 9)
    if form_key == "reply":
        return or_(c.f_2.is_(None), c.f_2 <= 100)
    return or_(c.f_2.is_(None), c.f_2 != "large")  # company


def visible(form_key: str, row: dict[str, Any]) -> bool:
    if row.get("deleted_at") is not None:
        return False
    if form_key == "ticket":
        return row["category"] != "other"
    if form_key == "customer":
        return row["region"] != "east"
    if form_key == "tag":
        return row["weight"] is None or row["weight"] < 9
    if form_key == "reply":
        return row["minutes"] is None or row["minutes"] <= 100
    return row["size"] != "large"


def scoped_viewer(catalog: StaticCatalog) -> Viewer:
    return Viewer(
        scope=lambda form_key, table: _scope_sql(catalog, form_key),
        hidden=lambda form_key: {"secret"} if form_key == "ticket" else set(),
        context={"user": {"id": 1}},
    )


# --- data ---------------------------------------------------------------------------------------

EDGES = [
    # Asia/Shanghai midnight is 16:00 UTC
    datetime(2024, 3, 4, 15, 59, 59, tzinfo=UTC),
    datetime(2024, 3, 4, 16, 0, 0, tzinfo=UTC),
    datetime(2024, 3, 4, 16, 0, 1, tzinfo=UTC),
    datetime(2024, 3, 31, 15, 59, 59, 999000, tzinfo=UTC),
    # Europe/Berlin: DST starts 2024-03-31 01:00 UTC, ends 2024-10-27 01:00 UTC
    datetime(2024, 3, 30, 22, 59, 59, tzinfo=UTC),  # 23:59:59 CET
    datetime(2024, 3, 30, 23, 0, 0, tzinfo=UTC),  # 00:00 CET on the 31st
    datetime(2024, 3, 31, 0, 59, 59, tzinfo=UTC),
    datetime(2024, 3, 31, 1, 0, 0, tzinfo=UTC),  # 03:00 CEST
    datetime(2024, 3, 31, 21, 59, 59, tzinfo=UTC),  # 23:59:59 CEST
    datetime(2024, 3, 31, 22, 0, 0, tzinfo=UTC),  # 00:00 CEST on April 1st
    datetime(2024, 10, 26, 21, 59, 59, tzinfo=UTC),
    datetime(2024, 10, 26, 22, 0, 0, tzinfo=UTC),  # 00:00 CEST on the 27th
    datetime(2024, 10, 27, 0, 30, 0, tzinfo=UTC),  # 02:30 CEST (first)
    datetime(2024, 10, 27, 1, 30, 0, tzinfo=UTC),  # 02:30 CET (second)
    datetime(2024, 10, 27, 22, 59, 59, tzinfo=UTC),
    datetime(2024, 10, 27, 23, 0, 0, tzinfo=UTC),  # 00:00 CET on the 28th
    datetime(2024, 12, 31, 16, 0, 0, tzinfo=UTC),  # New Year in Shanghai
    datetime(2024, 6, 30, 15, 59, 59, tzinfo=UTC),  # quarter edge in Shanghai
]
START = datetime(2024, 2, 20, tzinfo=UTC)


@dataclass
class Data:
    companies: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    links: list[tuple[int, int, int]] = field(default_factory=list)  # ticket, tag, position


def _maybe(rng: random.Random, value: Any, p: float = 0.15) -> Any:
    return None if rng.random() < p else value


def _moment(rng: random.Random) -> datetime:
    if rng.random() < 0.25:
        return rng.choice(EDGES)
    seconds = rng.randrange(0, 300 * 86400)
    return (START + timedelta(seconds=seconds)).replace(microsecond=rng.randrange(0, 1000) * 1000)


def generate(seed: int = 7, tickets: int = 400) -> Data:
    rng = random.Random(seed)
    data = Data()
    for i in range(1, 6):
        data.companies.append(
            {
                "id": i,
                "name": f"Co {i}",
                "size": rng.choice(["small", "large", None]),
                "deleted_at": None,
            }
        )
    for i in range(1, 16):
        data.customers.append(
            {
                "id": i,
                "name": _maybe(rng, rng.choice(["Ann", "Bo", "Cy", "Dee", "Éa", "li"])),
                "region": _maybe(rng, rng.choice(["north", "south", "east"])),
                "tier": _maybe(rng, rng.randrange(1, 4)),
                "company": _maybe(rng, rng.randrange(1, 7)),  # 6 does not exist
                "deleted_at": START if i == 3 else None,
            }
        )
    for i in range(1, 8):
        data.tags.append(
            {
                "id": i,
                "label": f"tag{i}",
                "weight": _maybe(rng, rng.randrange(1, 12)),
                "deleted_at": START if i == 7 else None,
            }
        )
    reply_id = 0
    for i in range(1, tickets + 1):
        opened = _maybe(rng, _moment(rng), 0.1)
        ticket = {
            "id": i,
            "created_at": _moment(rng),
            "subject": _maybe(
                rng, rng.choice(["Login", "login", "Refund", "Zebra", "ärger", "Bug"])
            ),
            "status": _maybe(
                rng, rng.choice(["open", "pending", "resolved", "resolved", "closed"])
            ),
            "category": _maybe(rng, rng.choice(["billing", "tech", "tech", "sales", "other"])),
            "replies": _maybe(rng, rng.randrange(0, 4)),
            "minutes": _maybe(rng, rng.randrange(0, 600)),
            "amount": _maybe(rng, Decimal(rng.randrange(-5000, 100000)) / 100),
            "opened_at": opened,
            "due": _maybe(rng, date(2024, 1, 1) + timedelta(days=rng.randrange(0, 400))),
            "customer": _maybe(rng, rng.randrange(1, 17)),  # 16 does not exist
            "csat": _maybe(rng, rng.randrange(1, 6), 0.4),
            "vip": _maybe(rng, rng.random() < 0.3),
            "secret": "s",
            "deleted_at": START if rng.random() < 0.05 else None,
        }
        data.tickets.append(ticket)
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 5])):
            reply_id += 1
            data.replies.append(
                {
                    "id": reply_id,
                    "ticket": i,
                    "minutes": _maybe(rng, rng.randrange(0, 130)),
                    "by_agent": _maybe(rng, rng.random() < 0.6),
                    "deleted_at": START if rng.random() < 0.05 else None,
                }
            )
        for position, tag in enumerate(rng.sample(range(1, 8), rng.choice([0, 0, 1, 2, 3]))):
            data.links.append((i, tag, position))
    # a reply pointing nowhere
    data.replies.append(
        {"id": reply_id + 1, "ticket": None, "minutes": 5, "by_agent": True, "deleted_at": None}
    )
    return data


def _system(row: dict[str, Any]) -> dict[str, Any]:
    created = row.get("created_at") or START
    return {
        "id": row["id"],
        "created_at": created,
        "updated_at": created,
        "row_version": 1,
        "deleted_at": row.get("deleted_at"),
    }


def table_rows(data: Data) -> dict[str, list[dict[str, Any]]]:
    """Rows per form key, by physical column name."""

    def columns(form_key: str, row: dict[str, Any]) -> dict[str, Any]:
        out = _system(row)
        for spec in BY_KEY[form_key].fields:
            if spec.type == "multirelation":
                continue
            out[f"f_{spec.id}"] = row.get(spec.key)
        return out

    return {
        "company": [columns("company", r) for r in data.companies],
        "customer": [columns("customer", r) for r in data.customers],
        "tag": [columns("tag", r) for r in data.tags],
        "ticket": [columns("ticket", r) for r in data.tickets],
        "reply": [columns("reply", r) for r in data.replies],
    }


class Database:
    """The report forms' tables in one test database, with a private event loop."""

    def __init__(self, url: str, catalog: StaticCatalog) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", lambda conn, _r: register(conn))
        self.catalog = catalog
        self.tables: list[Table] = []
        for entry in catalog.forms.values():
            self.tables.append(entry.table)
            self.tables.extend(entry.links.values())
        self.run(self._create())

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    async def _create(self) -> None:
        async with self.engine.begin() as conn:
            for table in reversed(self.tables):
                await conn.run_sync(lambda c, t=table: t.drop(c, checkfirst=True))
            for table in self.tables:
                await conn.run_sync(lambda c, t=table: t.create(c))

    def load(self, data: Data) -> None:
        async def load() -> None:
            async with self.engine.begin() as conn:
                for table in reversed(self.tables):
                    await conn.execute(delete(table))
                rows = table_rows(data)
                for key in ("company", "customer", "tag", "ticket", "reply"):
                    if rows[key]:
                        await conn.execute(insert(self.catalog.forms[key].table), rows[key])
                link = self.catalog.forms["ticket"].links["tags"]
                if data.links:
                    await conn.execute(
                        insert(link),
                        [{"record_id": t, "target_id": g, "position": p} for t, g, p in data.links],
                    )

        self.run(load())

    def rows(self, statement: Any) -> list[Any]:
        async def fetch() -> list[Any]:
            async with self.engine.connect() as conn:
                return list((await conn.execute(statement)).all())

        return self.run(fetch())

    def close(self) -> None:
        async def drop() -> None:
            async with self.engine.begin() as conn:
                for table in reversed(self.tables):
                    await conn.run_sync(lambda c, t=table: t.drop(c, checkfirst=True))
            await self.engine.dispose()

        self.run(drop())
        self.loop.close()
