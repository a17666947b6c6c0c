"""Permissions benchmark: one list page as an administrator and as a scoped department manager.

    python -m benchmarks.permissions [--quick] [--json] [--sqlite] [--rows N]

The same filtered, sorted first page of the ticket form (``LIST_FILTER``, ``LIST_SORT``,
``PAGE`` of ``benchmarks.records``) is listed through ``GET /api/v1/records/bench/ticket`` by
two API tokens: an administrator's (every row, no permission condition) and a manager's, whose
only grant is ``read`` with the ``department_tree`` scope and ``contact_phone`` hidden. The
manager heads one of four regions (root → 4 regions → 2 teams each); seeded rows are spread
over all 13 departments, so the manager's subtree (the region and its 2 teams) holds 3/13 of
them. Requests of the two sides alternate; the last line of stdout is one JSON object with the
medians, p95s and ``ratio`` = scoped / admin median (goal ≤ 1.2). The query plan of the scoped
page (PostgreSQL: ``EXPLAIN (ANALYZE, BUFFERS)``) goes to stderr once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, func, select, text

from benchmarks.records import (
    FORM_KEY,
    FULL,
    LIST_FILTER,
    LIST_SORT,
    PAGE,
    QUICK,
    TICKET_FORM,
    Profile,
    admin_token,
    bench_settings,
    execute,
    expect,
    percentile,
    publish,
    say,
    seed,
    server_version,
    user_token,
)
from runtime.app import create_app
from runtime.db import create_engine
from runtime.org.models import Department
from runtime.records.forms import resolve

MANAGER = ("bench_manager", "Manager-pass-2026")
HIDDEN_FIELD = "contact_phone"
REGIONS = 4
TEAMS = 2
GOAL_RATIO = 1.2
PERMISSIONS = {
    "roles": [{"key": "manager", "name": {"en": "Manager"}}],
    "permissions": [
        {
            "id": "managers_read_tree",
            "form": FORM_KEY,
            "grantee": {"kind": "role", "key": "manager"},
            "actions": ["read"],
            "scope": "department_tree",
            "fields": {HIDDEN_FIELD: "hidden"},
        }
    ],
}


async def build_org(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> tuple[list[int], int, str]:
    """Root → regions → teams through the org API: every department id, the managed region's
    id and its path."""

    async def create(code: str, parent: int | None) -> dict[str, Any]:
        body = {"code": code, "name": code, "parent_id": parent}
        return expect(  # type: ignore[no-any-return]
            await client.post("/api/v1/departments", json=body, headers=headers), 201
        ).json()

    root = await create("bench_hq", None)
    ids = [root["id"]]
    regions = []
    for r in range(REGIONS):
        region = await create(f"bench_region_{r}", root["id"])
        regions.append(region)
        ids.append(region["id"])
        for t in range(TEAMS):
            ids.append((await create(f"bench_region_{r}_team_{t}", region["id"]))["id"])
    managed = regions[0]
    return ids, managed["id"], managed["path"]


async def make_manager(
    client: httpx.AsyncClient, app: FastAPI, headers: dict[str, str], region_id: int
) -> str:
    """The manager: a plain user, head of ``region_id`` (primary), in the app role ``manager``."""
    user_id, token = await user_token(client, app, *MANAGER, is_admin=False)
    expect(
        await client.put(
            f"/api/v1/departments/{region_id}/members/{user_id}",
            json={"position": "head", "is_primary": True},
            headers=headers,
        ),
        200,
    )
    roles = expect(
        await client.get("/api/v1/roles", params={"scope": "app"}, headers=headers), 200
    ).json()["items"]
    role_id = next(r["id"] for r in roles if r["key"] == "manager")
    expect(await client.put(f"/api/v1/roles/{role_id}/members/{user_id}", headers=headers), 200)
    return token


async def explain(
    app: FastAPI,
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    params: dict[str, str],
    label: str,
) -> None:
    """Catch the SQL of one list request and print its plan to stderr."""
    engine = app.state.engine
    caught: list[tuple[str, Any]] = []

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "LIMIT" in statement.upper() and "ORDER BY" in statement.upper():
            caught.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        expect(await client.get(url, params=params, headers=headers), 200)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)
    if not caught:
        say(f"EXPLAIN {label}: no list query caught")
        return
    statement, parameters = caught[-1]
    prefix = (
        "EXPLAIN (ANALYZE, BUFFERS) "
        if engine.dialect.name == "postgresql"
        else "EXPLAIN QUERY PLAN "
    )
    async with engine.connect() as conn:
        rows = (await conn.exec_driver_sql(prefix + statement, parameters)).all()
    plan = "\n".join("    " + " | ".join(str(c) for c in row) for row in rows)
    print(f"[bench] {label} query:\n    {statement}\n    params: {parameters}", file=sys.stderr)
    print(f"[bench] {label} plan:\n{plan}", file=sys.stderr, flush=True)


async def measure(
    profile: Profile,
    client: httpx.AsyncClient,
    url: str,
    sides: dict[str, dict[str, str]],
) -> dict[str, Any]:
    params = {"filter": json.dumps(LIST_FILTER), "sort": LIST_SORT, "limit": str(PAGE)}

    async def page(headers: dict[str, str]) -> list[dict[str, Any]]:
        return expect(  # type: ignore[no-any-return]
            await client.get(url, params=params, headers=headers), 200
        ).json()["items"]

    for _ in range(20):
        for headers in sides.values():
            await page(headers)
    samples: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(profile.list_iterations):
        for side, headers in sides.items():
            started = time.perf_counter()
            await page(headers)
            samples[side].append((time.perf_counter() - started) * 1000)
    out: dict[str, Any] = {}
    for side in sides:
        out[f"{side}_ms"] = round(statistics.median(samples[side]), 2)
        out[f"{side}_p95_ms"] = round(percentile(samples[side], 0.95), 2)
    out["ratio"] = round(out["scoped_ms"] / out["admin_ms"], 3)
    out["list_iterations"] = profile.list_iterations
    return out


async def run(
    url: str, profile: Profile, tmp: Path, analyze_departments: bool = False
) -> dict[str, Any]:
    settings = bench_settings(url, tmp)
    app = create_app(settings)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    results: dict[str, Any] = {
        "database": await server_version(engine),
        "dialect": f"{engine.dialect.name}+{engine.dialect.driver}",
    }
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://tangram") as client,
    ):
        admin_id, token = await admin_token(client, app)
        admin = {"Authorization": f"Bearer {token}"}
        records = await publish(client, admin, json.loads(TICKET_FORM.read_text()), PERMISSIONS)
        departments, region_id, region_path = await build_org(client, admin)
        manager = {"Authorization": f"Bearer {await make_manager(client, app, admin, region_id)}"}
        async with app.state.sessions() as db:
            handle = await resolve(db, "bench", FORM_KEY)
        results["rows"] = await seed(
            engine, handle, profile.rows, admin_id, lambda i: departments[i % len(departments)]
        )
        table = handle.table
        subtree = select(Department.id).where(Department.path.startswith(region_path))
        async with engine.connect() as conn:
            results["scoped_rows_visible"] = (
                await conn.execute(
                    select(func.count())
                    .select_from(table)
                    .where(table.c.department_id.in_(subtree), table.c.deleted_at.is_(None))
                )
            ).scalar_one()
            in_tree = set((await conn.execute(subtree)).scalars())
        say(f"manager sees {results['scoped_rows_visible']:,} of {results['rows']:,} rows")
        # Autovacuum analyses a table after 50 changed rows + 10%: a small department tree is
        # never analysed on its own, so by default the planner runs without its statistics.
        results["departments_analyzed"] = analyze_departments
        if analyze_departments:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("ANALYZE departments"))

        # Check the scoped page before timing it: only the subtree, the hidden field empty.
        params = {"filter": json.dumps(LIST_FILTER), "sort": LIST_SORT, "limit": str(PAGE)}
        items = expect(await client.get(records, params=params, headers=manager), 200).json()[
            "items"
        ]
        ok = bool(items) and all(
            item["department_id"] in in_tree and item["values"].get(HIDDEN_FIELD) is None
            for item in items
        )
        if not ok:
            raise RuntimeError(f"the scoped page is wrong: {items[:2]}")
        results["scoped_page_rows"] = len(items)

        await explain(app, client, records, manager, params, "scoped")
        await explain(app, client, records, admin, params, "admin")
        say(f"listing ({profile.list_iterations} pages per side, alternating)")
        results.update(await measure(profile, client, records, {"admin": admin, "scoped": manager}))
    await engine.dispose()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.permissions", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k rows")
    parser.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    parser.add_argument("--sqlite", action="store_true", help="a temp SQLite file, not PostgreSQL")
    parser.add_argument("--rows", type=int, help="rows in the table")
    parser.add_argument(
        "--analyze-departments",
        action="store_true",
        help="ANALYZE the departments table before measuring (autovacuum never does for 13 rows)",
    )
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.sqlite and not args.quick and args.rows is None:
        profile = Profile(**{**profile.__dict__, "rows": 200_000})  # SQLite: no 1M by default
    if args.rows is not None:
        profile = Profile(**{**profile.__dict__, "rows": args.rows})

    return execute(
        "permissions",
        profile,
        args,
        lambda url, tmp: run(url, profile, tmp, args.analyze_departments),
        {"ratio<=1.2": lambda r: r["ratio"] <= GOAL_RATIO},
        width=22,
    )


if __name__ == "__main__":
    sys.exit(main())
