"""JsonLogic -> SQL over ``links`` fields (many-relations): EXISTS subqueries, on both databases.

A probe table with two links fields (each a link table ``owner_id, target_id``) and a number
field. Every case runs the compiled condition and checks it against the evaluator row by row
(the evaluator sees ``null`` for a row without links and the list of ids otherwise), that it is
two-valued, and against the ids written here; a hypothesis run does the same for random rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    Table,
    case,
    delete,
    insert,
    not_,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from engines.logic import evaluate, truthy
from engines.logic.sql import NotSqlError, SqlField, SqlLinks, compile_condition
from runtime.db import create_engine

metadata = MetaData()
rows_table = Table(
    "logic_links_probe",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("n", BigInteger),
)


def _link_table(name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("owner_id", Integer, ForeignKey(rows_table.c.id), primary_key=True),
        Column("target_id", BigInteger, primary_key=True),
        Column("position", Integer, nullable=False),
    )


customers_table = _link_table("logic_links_probe_customers")
watchers_table = _link_table("logic_links_probe_watchers")
FIELDS = {
    "n": SqlField(rows_table.c.n, "number"),
    "customers": SqlField(
        rows_table.c.id,
        "links",
        SqlLinks(customers_table.c.owner_id, customers_table.c.target_id),
    ),
    "watchers": SqlField(
        rows_table.c.id,
        "links",
        SqlLinks(watchers_table.c.owner_id, watchers_table.c.target_id),
    ),
}
CONTEXT = {"user": {"id": 7, "name": "Alice"}}

# id: (n, customers, watchers); None is "no link rows"
ROWS: dict[int, tuple[int | None, list[int] | None, list[int] | None]] = {
    1: (5, [5], [7]),
    2: (7, [5, 7], None),
    3: (None, None, None),
    4: (0, [1, 2, 3], [1]),
    5: (42, [42], [42, 5]),
    6: (1, [7], None),
    7: (-1, [2**40], [2**40]),
    8: (3, [3, 9], [9]),
}
ALL = set(ROWS)


class LinksProbe:
    """The probe tables in one database, with a private event loop."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name
        self.data: dict[int, dict[str, Any]] = {}
        self.loop.run_until_complete(self._create())

    async def _create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)

    def close(self) -> None:
        async def drop() -> None:
            async with self.engine.begin() as conn:
                await conn.run_sync(metadata.drop_all)
            await self.engine.dispose()

        self.loop.run_until_complete(drop())
        self.loop.close()

    def load(self, rows: dict[int, tuple[int | None, list[int] | None, list[int] | None]]) -> None:
        async def load() -> None:
            async with self.engine.begin() as conn:
                for table in (customers_table, watchers_table, rows_table):
                    await conn.execute(delete(table))
                await conn.execute(
                    insert(rows_table), [{"id": i, "n": n} for i, (n, _, _) in rows.items()]
                )
                for index, table in ((1, customers_table), (2, watchers_table)):
                    links = [
                        {"owner_id": i, "target_id": target, "position": position}
                        for i, row in rows.items()
                        for position, target in enumerate(row[index] or [])
                    ]
                    if links:
                        await conn.execute(insert(table), links)

        self.loop.run_until_complete(load())
        self.data = {
            i: {"n": n, "customers": customers or None, "watchers": watchers or None}
            for i, (n, customers, watchers) in rows.items()
        }

    def select(self, condition: ColumnElement[bool]) -> tuple[set[int], set[int], set[int]]:
        async def query() -> tuple[set[int], set[int], set[int]]:
            async with self.engine.connect() as conn:
                found = await conn.execute(select(rows_table.c.id).where(condition))
                chosen = {r[0] for r in found}
                state = case((condition, 1), (not_(condition), 0), else_=2)
                states = list(await conn.execute(select(rows_table.c.id, state)))
            return (
                chosen,
                {r[0] for r in states if r[1] == 0},
                {r[0] for r in states if r[1] == 2},
            )

        result: tuple[set[int], set[int], set[int]] = self.loop.run_until_complete(query())
        return result

    def check(self, rule: Any) -> set[int]:
        condition = compile_condition(rule, FIELDS, context=CONTEXT)
        chosen, negated, unknown = self.select(condition)
        expected = {
            i for i, data in self.data.items() if truthy(evaluate(rule, data, context=CONTEXT))
        }
        assert not unknown, f"{rule}: NULL for ids {sorted(unknown)} on {self.dialect}"
        assert chosen == expected, (
            f"{rule} on {self.dialect}: sql-only {sorted(chosen - expected)}, "
            f"evaluator-only {sorted(expected - chosen)}"
        )
        assert negated == set(self.data) - chosen, f"{rule}: NOT is not the complement"
        return chosen


@pytest.fixture(scope="module")
def probe(db_url: str) -> Iterator[LinksProbe]:
    db = LinksProbe(db_url)
    db.load(ROWS)
    yield db
    db.close()


def v(name: str) -> dict[str, Any]:
    return {"var": name}


ELEMENT = {"var": ""}

CASES: list[tuple[str, Any, set[int]]] = [
    ("links to 5", {"in": [5, v("customers")]}, {1, 2}),
    ("links to 5.0", {"in": [5.0, v("customers")]}, {1, 2}),
    ("links to 2**40", {"in": [2**40, v("customers")]}, {7}),
    ("a string is never an id", {"in": ["5", v("customers")]}, set()),
    ("true is not 1", {"in": [True, v("customers")]}, set()),
    ("null is not an element", {"in": [None, v("customers")]}, set()),
    ("NaN is not an element", {"in": [{"+": ["x"]}, v("customers")]}, set()),
    ("not linked to 5", {"!": {"in": [5, v("customers")]}}, ALL - {1, 2}),
    ("links to the row's number", {"in": [v("n"), v("customers")]}, {1, 2, 5, 8}),
    ("contains", {"contains": [v("customers"), 7]}, {2, 6}),
    ("links to the current user", {"in": [{"current_user": "id"}, v("customers")]}, {2, 6}),
    ("has links", v("customers"), ALL - {3}),
    ("!! has links", {"!!": [v("watchers")]}, {1, 4, 5, 7, 8}),
    ("is_empty", {"is_empty": v("watchers")}, {2, 3, 6}),
    ("missing", {"missing": ["watchers"]}, {2, 3, 6}),
    ("== null", {"==": [v("customers"), None]}, {3}),
    ("!= null", {"!=": [v("watchers"), None]}, {1, 4, 5, 7, 8}),
    ("== [] is identity", {"==": [v("customers"), []]}, set()),
    ("itself", {"===": [v("customers"), v("customers")]}, ALL),
    ("null in [null]", {"in": [v("watchers"), [None, 5]]}, {2, 3, 6}),
    ("length", {">": [{"length": v("customers")}, 1]}, {2, 4, 8}),
    ("length == 0", {"==": [{"length": v("watchers")}, 0]}, {2, 3, 6}),
    ("starts_with is false for arrays", {"starts_with": [v("customers"), "5"]}, set()),
    ("some", {"some": [v("customers"), {">": [ELEMENT, 5]}]}, {2, 5, 6, 7, 8}),
    ("some in a set", {"some": [v("customers"), {"in": [ELEMENT, [1, 42]]}]}, {4, 5}),
    ("none", {"none": [v("customers"), {"==": [ELEMENT, 5]}]}, ALL - {1, 2}),
    ("all", {"all": [v("customers"), {"<": [ELEMENT, 10]}]}, {1, 2, 4, 6, 8}),
    ("all of nothing is false", {"all": [v("watchers"), True]}, {1, 4, 5, 7, 8}),
    ("none of nothing is true", {"none": [v("watchers"), True]}, {2, 3, 6}),
    ("some element == current user",
     {"some": [v("watchers"), {"==": [ELEMENT, {"current_user": "id"}]}]}, {1}),
    ("a path into an element is null", {"some": [v("customers"), {"==": [v("x"), None]}]},
     ALL - {3}),
    ("a path default applies", {"some": [v("customers"), {"var": ["x", 0]}]}, set()),
    ("element truthiness", {"some": [v("customers"), ELEMENT]}, ALL - {3}),
    ("some and a column", {"and": [{"some": [v("customers"), {"==": [ELEMENT, 7]}]},
                                   {">": [v("n"), 2]}]}, {2}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "expected"),
    [pytest.param(rule, expected, id=name) for name, rule, expected in CASES],
)
def test_links_case(probe: LinksProbe, rule: Any, expected: set[int]) -> None:
    assert probe.check(rule) == expected


@pytest.mark.parametrize(
    "rule",
    [
        {"cat": [v("customers")]},
        {"<": [v("customers"), 5]},
        {"==": [v("customers"), 5]},
        {"==": [v("customers"), v("watchers")]},
        {"===": [v("customers"), v("watchers")]},
        {"in": [5, {"if": [v("n"), v("customers"), v("watchers")]}]},
        {"in": [v("customers"), "5 7"]},
        {"map": [v("customers"), ELEMENT]},
        {"some": [v("n"), True]},
        {"some": [v("customers"), {"some": [ELEMENT, True]}]},
        {"some": [v("customers"), {"missing": ["x"]}]},
        {"some": [v("customers"), {"var": {"cat": ["x"]}}]},
    ],
)
def test_links_refusals(rule: Any) -> None:
    with pytest.raises(NotSqlError):
        compile_condition(rule, FIELDS, context=CONTEXT)


def test_links_elements_are_bound_parameters() -> None:
    condition = compile_condition({"in": [5, v("customers")]}, FIELDS, context=CONTEXT)
    sql = str(condition.compile())
    assert "EXISTS" in sql and "logic_links_probe_customers" in sql and "5" not in sql


# --- random rules --------------------------------------------------------------------------

LINKS = st.sampled_from(["customers", "watchers"]).map(v)
IDS = st.sampled_from([0, 1, 3, 5, 7, 9, 42, 2**40, 5.0, 2.5, "5", None, True, -1])
element_tests = st.one_of(
    st.tuples(st.sampled_from(["==", "!=", "<", ">=", "==="]), IDS).map(
        lambda t: {t[0]: [ELEMENT, t[1]]}
    ),
    st.lists(IDS, max_size=3).map(lambda items: {"in": [ELEMENT, items]}),
    st.just(ELEMENT),
    st.just({"==": [v("x"), None]}),
    st.just({"==": [ELEMENT, {"current_user": "id"}]}),
    st.booleans(),
)
bodies = st.recursive(
    element_tests,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda items: {"and": items}),
        st.lists(inner, min_size=1, max_size=3).map(lambda items: {"or": items}),
        inner.map(lambda item: {"!": item}),
    ),
    max_leaves=4,
)
atoms = st.one_of(
    st.tuples(st.one_of(IDS, st.just(v("n"))), LINKS).map(lambda t: {"in": [t[0], t[1]]}),
    st.tuples(LINKS, IDS).map(lambda t: {"contains": [t[0], t[1]]}),
    st.tuples(st.sampled_from(["some", "none", "all"]), LINKS, bodies).map(
        lambda t: {t[0]: [t[1], t[2]]}
    ),
    st.tuples(st.sampled_from(["==", ">", "<="]), LINKS, st.sampled_from([0, 1, 2, "1"])).map(
        lambda t: {t[0]: [{"length": t[1]}, t[2]]}
    ),
    LINKS,
    LINKS.map(lambda f: {"is_empty": f}),
    LINKS.map(lambda f: {"==": [f, None]}),
    LINKS.map(lambda f: {"in": [f, [None, 1]]}),
    st.tuples(st.sampled_from(["<", ">", "=="]), st.sampled_from([0, 5, None])).map(
        lambda t: {t[0]: [v("n"), t[1]]}
    ),
)
conditions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda items: {"and": items}),
        st.lists(inner, min_size=1, max_size=3).map(lambda items: {"or": items}),
        inner.map(lambda item: {"!": item}),
        st.tuples(inner, inner, inner).map(lambda t: {"if": list(t)}),
    ),
    max_leaves=5,
)
link_lists = st.one_of(
    st.none(), st.lists(st.sampled_from([1, 3, 5, 7, 9, 42, 2**40]), max_size=3, unique=True)
)
tables = st.lists(
    st.tuples(st.sampled_from([None, 0, 1, 5, 7, 42]), link_lists, link_lists),
    min_size=10,
    max_size=10,
).map(lambda items: {i + 1: row for i, row in enumerate(items)})


def test_random_rules_agree_with_the_evaluator(db_url: str) -> None:
    probe = LinksProbe(db_url)
    try:

        @settings(
            max_examples=60,
            derandomize=True,
            database=None,
            deadline=None,
            phases=(Phase.explicit, Phase.generate),
            suppress_health_check=list(HealthCheck),
        )
        @given(table=tables, rules=st.lists(conditions, min_size=8, max_size=8))
        def agree(table: Any, rules: list[Any]) -> None:
            probe.load(table)
            for rule in rules:
                probe.check(rule)

        agree()
    finally:
        probe.close()
