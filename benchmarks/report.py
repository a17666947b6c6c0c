"""Report benchmark: a Customer-Center dashboard through the report engine and by hand.

    python -m benchmarks.report [--quick] [--json] [--rows N] [--rounds N]

PostgreSQL: a fresh database beside ``TANGRAM_TEST_POSTGRES`` (dropped at the end). The app's
``customer`` and ``ticket`` forms are published through the apps API (so the tables, indexes
and dashboard checks are the real ones), the organisation (4 support departments under one
root, 40 agents) through the org API; then ``rows`` tickets (quick 200,000, full 1,000,000)
and their customers are written straight into the tables with COPY (not measured).

Eight widgets of the dashboard — volume per day, backlog by status, category × team pivot,
average first response, p90 resolution time, CSAT average, agent leaderboard, first-contact
resolution ratio — run as a department manager (scope ``department_tree``) for the last 90 local
days (Asia/Shanghai), through the service layer (``runtime.reports.service``: prepare — the
compiled widget reused, as in any repeated run, rights checked — execute, shape; results never
from the cache) and as hand-written SQL (``text()`` with bound parameters) answering the same
questions, alternating per round in this process, in one transaction planned as the service
plans reports (with the parameters' values). Both must give the same rows.
``compile_ms_per_widget`` is the cost of compiling a widget afresh (a new viewer, filter or
minute), which a first run adds to ``engine_ms``. The last line of stdout is one JSON object:
``widgets`` (``{name, engine_ms, handwritten_ms, ratio}``, medians), ``max_ratio`` (goal ≤ 1.15)
and ``compile_ms_per_widget`` (goal ≤ 2).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import bindparam, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.permissions import make_manager
from benchmarks.records import (
    admin_token,
    bench_settings,
    execute,
    expect,
    save_and_publish,
    say,
    server_version,
)
from runtime.app import create_app
from runtime.auth import service as auth
from runtime.auth.principal import Principal
from runtime.permissions import load_membership
from runtime.records.forms import FormHandle, resolve_app
from runtime.reports import service
from runtime.reports.cache import ResultCache
from runtime.users import service as users

APP_KEY = "center"
TZ = "Asia/Shanghai"
DAYS = 180
WINDOW_DAYS = 90
DEPARTMENTS = 4
AGENTS = 40
CUSTOMERS = 5_000
BATCH = 20_000
GOAL_RATIO = 1.15
GOAL_COMPILE_MS = 2.0

STATUSES = ("new", "open", "pending", "resolved", "closed")
STATUS_WEIGHTS = (8, 12, 10, 40, 30)
CATEGORIES = ("billing", "technical", "account", "shipping", "returns", "other")
TEAMS = ("l1", "l2", "billing_team", "tech_team")
PRIORITIES = ("low", "normal", "high", "urgent")
CHANNELS = ("email", "phone", "wechat", "web", "chat")
LEVELS = ("gold", "silver", "bronze")


def _choice(key: str, values: tuple[str, ...], fid: int, indexed: bool = False) -> dict[str, Any]:
    return {
        "id": fid,
        "key": key,
        "type": "select",
        "label": {"en": key},
        "indexed": indexed,
        "options": {"options": [{"value": v} for v in values]},
    }


def customer_form() -> dict[str, Any]:
    return {
        "key": "customer",
        "label": {"en": "Customer", "zh-CN": "客户"},
        "fields": [
            {"id": 1, "key": "name", "type": "text", "label": {"en": "Name"}},
            _choice("level", LEVELS, 2),
            {"id": 3, "key": "city", "type": "text", "label": {"en": "City"}},
        ],
    }


def ticket_form(customer_id: int) -> dict[str, Any]:
    return {
        "key": "ticket",
        "label": {"en": "Ticket", "zh-CN": "工单"},
        "fields": [
            {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
            _choice("status", STATUSES, 2, indexed=True),
            _choice("category", CATEGORIES, 3),
            _choice("team", TEAMS, 4),
            _choice("priority", PRIORITIES, 5),
            _choice("channel", CHANNELS, 6),
            {
                "id": 7,
                "key": "customer",
                "type": "relation",
                "label": {"en": "Customer"},
                "options": {"form_id": customer_id},
            },
            {"id": 8, "key": "agent", "type": "user", "label": {"en": "Agent"}},
            {"id": 9, "key": "first_response_minutes", "type": "integer", "label": {"en": "FRT"}},
            {
                "id": 10,
                "key": "resolution_hours",
                "type": "decimal",
                "label": {"en": "Resolution hours"},
                "options": {"precision": 10, "scale": 2},
            },
            {"id": 11, "key": "csat", "type": "integer", "label": {"en": "CSAT"}},
            {"id": 12, "key": "replies", "type": "integer", "label": {"en": "Replies"}},
            {"id": 13, "key": "resolved_at", "type": "datetime", "label": {"en": "Resolved"}},
        ],
    }


RESOLVED = {"in": [{"var": "status"}, ["resolved", "closed"]]}


def dashboard() -> dict[str, Any]:
    """The Customer-Center operations dashboard (the engine's spec)."""
    count = {"key": "tickets", "agg": "count"}
    widgets = [
        {
            "key": "volume_per_day",
            "chart": "line",
            "form": "ticket",
            "measures": [count],
            "dimensions": [{"key": "day", "field": "created_at", "bucket": "day"}],
            "sort": [{"key": "day"}],
        },
        {
            "key": "backlog_by_status",
            "chart": "bar",
            "form": "ticket",
            "measures": [count],
            "dimensions": [{"key": "status", "field": "status"}],
            "filter": {"in": [{"var": "status"}, ["new", "open", "pending"]]},
            "sort": [{"key": "tickets", "desc": True}],
        },
        {
            "key": "category_team",
            "chart": "pivot",
            "form": "ticket",
            "measures": [count],
            "dimensions": [
                {"key": "category", "field": "category"},
                {"key": "team", "field": "team"},
            ],
            "pivot": {"rows": ["category"], "columns": ["team"], "totals": True},
        },
        {
            "key": "avg_first_response",
            "chart": "kpi",
            "form": "ticket",
            "measures": [{"key": "minutes", "agg": "avg", "field": "first_response_minutes"}],
        },
        {
            "key": "p90_resolution",
            "chart": "kpi",
            "form": "ticket",
            "measures": [
                {"key": "hours", "agg": "percentile", "p": 0.9, "field": "resolution_hours"}
            ],
            "filter": RESOLVED,
        },
        {
            "key": "csat_avg",
            "chart": "kpi",
            "form": "ticket",
            "measures": [{"key": "csat", "agg": "avg", "field": "csat"}],
        },
        {
            "key": "agent_leaderboard",
            "chart": "table",
            "form": "ticket",
            "measures": [
                {"key": "resolved", "agg": "count", "filter": RESOLVED},
                {"key": "csat", "agg": "avg", "field": "csat"},
            ],
            "dimensions": [{"key": "agent", "field": "agent"}],
            "sort": [{"key": "resolved", "desc": True}, {"key": "agent"}],
            "limit": 10,
        },
        {
            "key": "fcr_ratio",
            "chart": "kpi",
            "form": "ticket",
            "measures": [
                {
                    "key": "fcr",
                    "agg": "ratio",
                    "numerator": {
                        "key": "one_reply",
                        "agg": "count",
                        "filter": {"and": [RESOLVED, {"==": [{"var": "replies"}, 1]}]},
                    },
                    "denominator": {"key": "resolved", "agg": "count", "filter": RESOLVED},
                }
            ],
        },
    ]
    return {
        "key": "operations",
        "title": {"en": "Operations", "zh-CN": "运营"},
        "widgets": widgets,
        "filters": [{"key": "period", "kind": "date_range", "field": "created_at"}],
    }


# --- hand-written SQL ---------------------------------------------------------------------------


def handwritten(t: str, c: dict[str, str]) -> dict[str, str]:
    """The same questions as plain SQL over table ``t`` (columns ``c`` by field key); every
    query has the manager's scope and the period as bound parameters."""
    live = (
        f"{t}.deleted_at IS NULL AND {t}.department_id IN :departments"
        f" AND {t}.created_at >= :start AND {t}.created_at < :end"
    )
    resolved = f"{c['status']} IN ('resolved', 'closed')"
    return {
        "volume_per_day": (
            f"SELECT date_trunc('day', timezone(:tz, created_at)) AS day, count(*) AS tickets"
            f" FROM {t} WHERE {live} GROUP BY 1 ORDER BY 1"
        ),
        "backlog_by_status": (
            f"SELECT {c['status']} AS status, count(*) AS tickets FROM {t}"
            f" WHERE {live} AND {c['status']} IN ('new', 'open', 'pending')"
            f" GROUP BY 1 ORDER BY 2 DESC"
        ),
        "category_team": (  # cells, row totals, column totals and the grand total
            f"SELECT {c['category']} AS category, {c['team']} AS team, count(*) AS tickets"
            f" FROM {t} WHERE {live}"
            f" GROUP BY GROUPING SETS (({c['category']}, {c['team']}), ({c['category']}),"
            f" ({c['team']}), ())"
        ),
        "avg_first_response": (
            f"SELECT avg({c['first_response_minutes']}) AS minutes FROM {t} WHERE {live}"
        ),
        "p90_resolution": (
            f"SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY {c['resolution_hours']})"
            f" AS hours FROM {t} WHERE {live} AND {resolved}"
        ),
        "csat_avg": f"SELECT avg({c['csat']}) AS csat FROM {t} WHERE {live}",
        "agent_leaderboard": (
            f"SELECT {c['agent']} AS agent, count(*) FILTER (WHERE {resolved}) AS resolved,"
            f" avg({c['csat']}) AS csat FROM {t} WHERE {live}"
            f" GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"
        ),
        "fcr_ratio": (
            f"SELECT count(*) FILTER (WHERE {resolved} AND {c['replies']} = 1)::float"
            f" / NULLIF(count(*) FILTER (WHERE {resolved}), 0) AS fcr FROM {t} WHERE {live}"
        ),
    }


# --- data ---------------------------------------------------------------------------------------


async def build_org(client: httpx.AsyncClient, headers: dict[str, str]) -> list[int]:
    """A root and 4 support departments through the org API; the departments' ids."""
    root = expect(
        await client.post(
            "/api/v1/departments", json={"code": "cc", "name": "Customer Center"}, headers=headers
        ),
        201,
    ).json()
    ids = []
    for d in range(DEPARTMENTS):
        body = {"code": f"support_{d}", "name": f"Support {d}", "parent_id": root["id"]}
        ids.append(
            expect(
                await client.post("/api/v1/departments", json=body, headers=headers), 201
            ).json()["id"]
        )
    return ids


async def make_agents(app: Any) -> list[int]:
    ids = []
    async with app.state.sessions() as db:
        for i in range(AGENTS):
            user, _ = await users.create_user(
                db, None, username=f"agent{i:02d}", password="Agent-pass-2026", is_admin=False
            )
            ids.append(user.id)
        await db.commit()
    return ids


def _column(handle: FormHandle, key: str) -> str:
    return f"f_{handle.spec(key).id}"


def ticket_rows(
    handle: FormHandle,
    count: int,
    agents: list[int],
    departments: list[int],
    customers: list[int],
    now: datetime,
) -> Any:
    """Ticket rows in batches (tuples in the table's column order, for COPY)."""
    rng = random.Random(6)
    c = {spec.key: f"f_{spec.id}" for spec in handle.form.fields}
    names = [col.name for col in handle.table.c if col.name != "id"]
    batch: list[tuple[Any, ...]] = []
    for i in range(count):
        created = now - timedelta(seconds=rng.randrange(DAYS * 86_400))
        status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        agent_index = rng.randrange(AGENTS)
        agent = agents[agent_index]
        done = status in ("resolved", "closed")
        hours = Decimal(int(rng.lognormvariate(2.5, 1.0) * 100)) / 100 if done else None
        row = {
            "created_at": created,
            "updated_at": created,
            "created_by": agent,
            "updated_by": agent,
            "owner_id": agent,
            "department_id": departments[agent_index % len(departments)],
            "row_version": 1,
            "deleted_at": None,
            "search_text": None,
            c["subject"]: f"Ticket {i}",
            c["status"]: status,
            c["category"]: CATEGORIES[rng.randrange(len(CATEGORIES))],
            c["team"]: TEAMS[rng.randrange(len(TEAMS))],
            c["priority"]: PRIORITIES[rng.randrange(len(PRIORITIES))],
            c["channel"]: CHANNELS[rng.randrange(len(CHANNELS))],
            c["customer"]: customers[rng.randrange(len(customers))],
            c["agent"]: agent,
            c["first_response_minutes"]: None
            if status == "new"
            else int(rng.expovariate(1 / 90)) + 1,
            c["resolution_hours"]: hours,
            c["csat"]: rng.choice((1, 2, 3, 4, 4, 5, 5, 5))
            if done and rng.random() < 0.6
            else None,
            c["replies"]: rng.randint(1, 3) if rng.random() < 0.7 else rng.randint(4, 9),
            c["resolved_at"]: created + timedelta(hours=float(hours))
            if hours is not None
            else None,
        }
        batch.append(tuple(row.get(name) for name in names))
        if len(batch) == BATCH:
            yield names, batch
            batch = []
    if batch:
        yield names, batch


async def copy_rows(
    engine: AsyncEngine, table: str, names: list[str], rows: list[tuple[Any, ...]]
) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(table, records=rows, columns=names)  # type: ignore[union-attr]
        await conn.commit()


async def seed(
    engine: AsyncEngine,
    handles: dict[str, FormHandle],
    rows: int,
    agents: list[int],
    departments: list[int],
) -> list[int]:
    now = datetime.now(UTC)
    customer = handles["customer"]
    values = [
        {
            "created_at": now,
            "updated_at": now,
            "row_version": 1,
            _column(customer, "name"): f"Customer {i}",
            _column(customer, "level"): LEVELS[i % 3],
            _column(customer, "city"): ("Shanghai", "Beijing", "Shenzhen", "Hangzhou")[i % 4],
        }
        for i in range(CUSTOMERS)
    ]
    async with engine.begin() as conn:
        result = await conn.execute(insert(customer.table).returning(customer.table.c.id), values)
        customers = list(result.scalars())
    ticket = handles["ticket"]
    started = time.perf_counter()
    done = 0
    for names, batch in ticket_rows(ticket, rows, agents, departments, customers, now):
        await copy_rows(engine, ticket.table.name, names, batch)
        done += len(batch)
        if done % 100_000 < BATCH:
            say(f"  copied {done:,} tickets in {time.perf_counter() - started:.0f}s")
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for table in (ticket.table.name, customer.table.name):
            await conn.execute(text(f'VACUUM ANALYZE "{table}"'))
    return customers


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Side:
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def _normal(value: Any) -> Any:
    if isinstance(value, Decimal | float):
        return round(float(value), 6)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    return value


def same_rows(
    engine_rows: list[tuple[Any, ...]], hand_rows: list[tuple[Any, ...]], ordered: bool
) -> bool:
    a = [tuple(_normal(v) for v in r) for r in engine_rows]
    b = [tuple(_normal(v) for v in r) for r in hand_rows]
    return a == b if ordered else sorted(a, key=repr) == sorted(b, key=repr)


def answer_rows(compiled: Any, rows: list[Any]) -> list[tuple[Any, ...]]:
    """The engine's rows as (dimensions…, measures…): without its layout columns (a pivot's
    grouping level, a top-N's "others" flag)."""
    names = [c.name for c in compiled.columns if c.role in ("dimension", "measure")]
    return [tuple(row._mapping[n] for n in names) for row in rows]


def period(now: datetime) -> tuple[dict[str, str], datetime, datetime]:
    """The last ``WINDOW_DAYS`` local days up to today: the filter value and its UTC bounds."""
    zone = ZoneInfo(TZ)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=WINDOW_DAYS - 1)
    start = datetime(first.year, first.month, first.day, tzinfo=zone).astimezone(UTC)
    after = today + timedelta(days=1)
    end = datetime(after.year, after.month, after.day, tzinfo=zone).astimezone(UTC)
    return {"from": first.isoformat(), "to": today.isoformat()}, start, end


async def show_plan(db: Any, name: str, side: str, statement: Any, params: dict[str, Any]) -> None:
    """Print a statement and its ``EXPLAIN (ANALYZE, BUFFERS)`` to stderr."""
    if params:
        names = statement._bindparams  # a text() query: bind the values before compiling
        statement = statement.bindparams(**{k: v for k, v in params.items() if k in names})
    compiled = statement.compile(
        dialect=db.bind.dialect, compile_kwargs={"render_postcompile": True}
    )
    positional = tuple(compiled.params[n] for n in compiled.positiontup or ())
    sql = str(compiled)
    rows = (await db.connection()).exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, positional)
    plan = "\n".join("    " + str(r[0]) for r in (await rows).all())
    print(f"[bench] {name} ({side}):\n    {sql}\n{plan}", file=sys.stderr, flush=True)


async def measure(
    app: Any,
    principal: Principal,
    rounds: int,
    handles: dict[str, FormHandle],
    explain: bool = False,
) -> dict[str, Any]:
    settings = app.state.settings
    # Results never come from the cache (use_cache off); compiled widgets do, as in any
    # repeated run: compile_ms_per_widget is the cost of compiling afresh.
    cache = ResultCache(settings.report_cache_entries, settings.report_cache_seconds)
    ticket = handles["ticket"]
    columns = {spec.key: _column(ticket, spec.key) for spec in ticket.form.fields}
    membership = principal.membership
    assert membership is not None
    filter_value, start, end = period(datetime.now(UTC))
    params = {
        "departments": sorted(membership.subtree_ids),
        "start": start,
        "end": end,
        "tz": TZ,
    }
    queries = {
        k: text(v).bindparams(bindparam("departments", expanding=True))
        for k, v in handwritten(ticket.table.name, columns).items()
    }
    filters = {"period": filter_value}
    async with app.state.read_sessions() as db:
        context = await service.load_context(
            db, principal, APP_KEY, settings, cache, use_cache=False
        )
        board = service.dashboard(context, "operations")
        widgets = {w.key: w for w in board.widgets}
        # One transaction for both sides, planned the way the service plans reports (with the
        # parameters' values, see service.custom_plans): the hand-written SQL gets it too.
        await service.custom_plans(db)
        # Same answers first.
        checks: dict[str, bool] = {}
        for name, query in queries.items():
            prepared = service.prepare(context, board, widgets[name], filters)
            outcome = await service.execute_prepared(db, context, prepared)
            hand = [tuple(r) for r in (await db.execute(query, params)).all()]
            ordered = bool(widgets[name].sort)
            engine_rows = answer_rows(prepared.compiled, outcome.rows or [])
            checks[name] = same_rows(engine_rows, hand, ordered)
            if not checks[name]:
                say(f"{name}: engine {engine_rows[:5]} vs hand {hand[:5]}")
        if explain:
            for name, query in queries.items():
                prepared = service.prepare(context, board, widgets[name], filters)
                await show_plan(db, name, "engine", prepared.compiled.statement, {})
                await show_plan(db, name, "handwritten", query, params)
        # Compile cost: prepare() (scope, rights, all compiler passes) per widget, afresh.
        cold = replace(context, cache=ResultCache(0, 0))
        started = time.perf_counter()
        iterations = 50
        for _ in range(iterations):
            for widget in board.widgets:
                service.prepare(cold, board, widget, filters)
        compile_ms = (time.perf_counter() - started) * 1000 / (iterations * len(board.widgets))
        engine_side = {n: Side([]) for n in queries}
        hand_side = {n: Side([]) for n in queries}
        for round_number in range(rounds + 2):  # two warm-up rounds
            for name, query in queries.items():
                order = (0, 1) if round_number % 2 == 0 else (1, 0)
                for which in order:
                    began = time.perf_counter()
                    if which == 0:
                        prepared = service.prepare(context, board, widgets[name], filters)
                        await service.execute_prepared(db, context, prepared)
                    else:
                        rows = (await db.execute(query, params)).all()
                        _ = [tuple(r) for r in rows]
                    elapsed = (time.perf_counter() - began) * 1000
                    if round_number >= 2:
                        (engine_side if which == 0 else hand_side)[name].samples.append(elapsed)
    widgets_out = [
        {
            "name": name,
            "engine_ms": round(engine_side[name].median, 2),
            "handwritten_ms": round(hand_side[name].median, 2),
            "ratio": round(engine_side[name].median / hand_side[name].median, 3),
        }
        for name in queries
    ]
    return {
        "widgets": widgets_out,
        "max_ratio": max(w["ratio"] for w in widgets_out),
        "compile_ms_per_widget": round(compile_ms, 3),
        "same_answers": checks,
        "all_same": all(checks.values()),
        "rounds": rounds,
        "period": filter_value,
        "timezone": TZ,
    }


async def run(url: str, rows: int, rounds: int, tmp: Path, explain: bool = False) -> dict[str, Any]:
    settings = bench_settings(url, tmp)
    settings = settings.model_copy(update={"time_zone": TZ})
    app = create_app(settings)
    results: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://tangram") as client,
    ):
        engine = app.state.engine
        results["database"] = await server_version(engine)
        results["dialect"] = f"{engine.dialect.name}+{engine.dialect.driver}"
        _, token = await admin_token(client, app)
        admin = {"Authorization": f"Bearer {token}"}
        departments = await build_org(client, admin)
        await publish_center(client, admin)
        agents = await make_agents(app)
        manager = await make_manager(client, app, admin, departments[0])
        async with app.state.sessions() as db:
            handles = (await resolve_app(db, APP_KEY)).handles
        say(f"copying {rows:,} tickets and {CUSTOMERS:,} customers")
        await seed(engine, handles, rows, agents, departments)
        results["rows"] = rows
        async with app.state.sessions() as db:
            principal = await auth.token_principal(db, manager)
            assert principal is not None
            await load_membership(db, principal)
        say(f"measuring {rounds} rounds, engine and hand-written alternating")
        results.update(await measure(app, principal, rounds, handles, explain))
    return results


async def publish_center(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """The app through the apps API: forms, the manager role's grant and the dashboard."""
    created = expect(
        await client.post(
            "/api/v1/apps", json={"key": APP_KEY, "name": {"en": "Center"}}, headers=headers
        ),
        201,
    ).json()
    base = f"/api/v1/apps/{created['id']}"
    draft = expect(await client.get(f"{base}/draft", headers=headers), 200).json()
    for key in ("customer", "ticket"):
        draft = expect(
            await client.post(
                f"{base}/forms",
                json={"key": key, "label": {"en": key}, "row_version": draft["row_version"]},
                headers=headers,
            ),
            201,
        ).json()
    ids = {f["key"]: f["id"] for f in draft["definition"]["forms"]}
    forms = [
        {**customer_form(), "id": ids["customer"]},
        {**ticket_form(ids["customer"]), "id": ids["ticket"]},
    ]
    definition = {
        **draft["definition"],
        "forms": forms,
        "roles": [{"key": "manager", "name": {"en": "Manager"}}],
        "permissions": [
            {
                "id": "managers",
                "grantee": {"kind": "role", "key": "manager"},
                "actions": ["read", "export"],
                "scope": "department_tree",
            }
        ],
        "dashboards": [dashboard()],
    }
    await save_and_publish(client, headers, created["id"], draft["row_version"], definition)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200,000 tickets")
    parser.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    parser.add_argument("--rows", type=int, help="tickets in the table")
    parser.add_argument("--rounds", type=int, help="measured rounds per side and widget")
    parser.add_argument("--explain", action="store_true", help="query plans of both sides")
    args = parser.parse_args(argv)
    args.sqlite = False  # COPY, percentile_cont and FILTER: the comparison is PostgreSQL's
    rows = args.rows or (200_000 if args.quick else 1_000_000)
    rounds = args.rounds or (9 if args.quick else 7)

    @dataclass(frozen=True)
    class Profile:
        name: str

    profile = Profile("quick" if args.quick else "full")
    return execute(
        "report",
        profile,  # type: ignore[arg-type]
        args,
        lambda url, tmp: run(url, rows, rounds, tmp, args.explain),
        {
            f"max_ratio<={GOAL_RATIO}": lambda r: r["max_ratio"] <= GOAL_RATIO,
            f"compile_ms_per_widget<={GOAL_COMPILE_MS}": lambda r: (
                r["compile_ms_per_widget"] <= GOAL_COMPILE_MS
            ),
            "same_answers": lambda r: r["all_same"],
        },
        width=24,
    )


if __name__ == "__main__":
    sys.exit(main())
