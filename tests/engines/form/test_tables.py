"""Real tables from form schemas, on both databases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import MetaData, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError

from engines.form.schema import FormSchema
from engines.form.tables import build_table, side_tables, table_name
from engines.form.validate import FormValidator
from runtime.db import create_engine
from runtime.models import metadata as platform_metadata

DATA = Path(__file__).parent / "data"


@pytest.fixture
def form() -> FormSchema:
    return FormSchema.model_validate(json.loads((DATA / "ticket.json").read_text()))


@pytest.fixture
async def engine(db_url):
    engine = create_engine(db_url)
    yield engine
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP TABLE IF EXISTS t_1")
    await engine.dispose()


def metadata_with_platform() -> MetaData:
    metadata = MetaData()
    for name in ("users", "departments"):
        platform_metadata.tables[name].to_metadata(metadata)
    return metadata


async def test_table_has_system_and_field_columns_and_indexes(engine, form):
    table = build_table(form, metadata_with_platform())
    assert table.name == table_name(form) == "t_1"
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: table.create(c))

        def describe(c):
            inspector = inspect(c)
            return (
                {col["name"] for col in inspector.get_columns("t_1")},
                {ix["name"]: ix for ix in inspector.get_indexes("t_1")},
                inspector.get_foreign_keys("t_1"),
            )

        columns, indexes, fks = await conn.run_sync(describe)
    assert {
        "id",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "owner_id",
        "department_id",
        "row_version",
        "deleted_at",
    } <= columns
    assert {f"f_{i}" for i in range(1, 17)} <= columns
    assert "ux_t_1_f_9" in indexes and indexes["ux_t_1_f_9"]["unique"]
    assert "ix_t_1_f_3" in indexes  # select fields are indexed for filtering
    assert "ix_t_1_f_11" in indexes  # datetimes too
    assert {fk["referred_table"] for fk in fks} == {"users", "departments"}


async def test_rows_round_trip_and_unique_among_live_rows(engine, form):
    table = build_table(form, metadata_with_platform())
    validator = FormValidator(form)
    submission = validator.check(
        {
            "subject": "退货申请",
            "category": "return",
            "return_reason": "尺码不对",
            "amount": "99.90",
            "tags": ["vip"],
            "contact_email": "a@example.com",
            "due_at": "2026-11-23T18:00:00+08:00",
        }
    )
    assert submission.ok
    now = datetime.now(UTC)
    row = {f"f_{form.field(k).id}": v for k, v in submission.values.items()}
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: table.create(c))
        new_id = (
            await conn.execute(
                insert(table).values(**row, created_at=now, updated_at=now).returning(table.c.id)
            )
        ).scalar_one()
        stored = (await conn.execute(select(table).where(table.c.id == new_id))).mappings().one()
    assert stored["f_5"] == Decimal("99.90")
    assert stored["f_7"] == ["vip"]
    assert stored["f_11"] == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert stored["row_version"] == 1
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(table).values(**row, created_at=now, updated_at=now))
    async with engine.begin() as conn:
        await conn.execute(update(table).where(table.c.id == new_id).values(deleted_at=now))
        await conn.execute(insert(table).values(**row, created_at=now, updated_at=now))


async def test_many_relation_link_table(engine):
    form = FormSchema.model_validate(
        {
            "id": 1,
            "key": "t",
            "label": {"en": "T"},
            "fields": [
                {
                    "id": 4,
                    "key": "links",
                    "type": "multirelation",
                    "label": {"en": "Links"},
                    "options": {"form_id": 2},
                }
            ],
        }
    )
    table = build_table(form, metadata_with_platform())
    [links] = side_tables(form, table)
    assert links.name == "t_1_4" and "f_4" not in table.c
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: table.create(c))
        await conn.run_sync(lambda c: links.create(c))

        def describe(c):
            inspector = inspect(c)
            return (
                inspector.get_pk_constraint("t_1_4")["constrained_columns"],
                {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("t_1_4")},
                inspector.get_foreign_keys("t_1_4"),
            )

        primary, indexes, fks = await conn.run_sync(describe)
        now = datetime.now(UTC)
        await conn.execute(insert(table).values(id=7, created_at=now, updated_at=now))
        await conn.execute(insert(links).values(record_id=7, target_id=3, position=0))
        with pytest.raises(IntegrityError):
            async with conn.begin_nested():
                await conn.execute(insert(links).values(record_id=7, target_id=3, position=1))
        await conn.exec_driver_sql("DROP TABLE t_1_4")
    assert primary == ["record_id", "target_id"]
    assert indexes["ix_t_1_4_target"] == ["target_id", "record_id"]
    assert [(fk["referred_table"], fk["options"].get("ondelete")) for fk in fks] == [
        ("t_1", "CASCADE")
    ]
