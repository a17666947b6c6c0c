"""Records benchmark: Tangram's records API against a minimal FastAPI + SQLAlchemy Core app.

    python -m benchmarks.records [--quick] [--json] [--sqlite] [--rows N] [--creates N]

PostgreSQL by default: a fresh database is created beside ``TANGRAM_TEST_POSTGRES`` (e.g.
``postgresql://postgres@127.0.0.1:5432/test``) and dropped at the end; ``--sqlite`` uses a
temporary SQLite file instead. Progress goes to stderr; the last line of stdout is one JSON
object with the results (see benchmarks/README.md for what each number means).

Both sides of each comparison run in this process, against the same table of the same
database, driven the same way: sequential requests through ``httpx.AsyncClient`` with an
in-process ``ASGITransport`` (no sockets). Measurements of the two sides are interleaved in
rounds so drift (autovacuum, caches, CPU frequency) hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from runtime import migrate
from runtime.app import create_app
from runtime.auth import service as auth
from runtime.config import Settings, normalise_database_url
from runtime.db import create_engine
from runtime.ratelimit.rates import ROUTE_CLASSES
from runtime.records.forms import FormHandle, resolve
from runtime.records.writer import RecordWriter, commit_and_dispatch
from runtime.users import service as users

ROOT = Path(__file__).resolve().parents[1]
TICKET_FORM = ROOT / "tests" / "engines" / "form" / "data" / "ticket.json"
APP_KEY = "bench"
FORM_KEY = "ticket"
ADMIN = ("bench_admin", "Bench-pass-2026")
CATEGORIES = ("consult", "repair", "complaint", "return")
#: The list query: first page of repairs of 100 or more, newest first.
LIST_FILTER = {"and": [{"==": [{"var": "category"}, "repair"]}, {">=": [{"var": "amount"}, 100]}]}
LIST_SORT = "-created_at"
PAGE = 50
IMPORT_CHUNK = 1_000
SEED_BATCH = 5_000
GOALS = {"ratio": 0.5, "list_p95_ms": 50.0}


@dataclass(frozen=True)
class Profile:
    name: str
    creates: int
    rows: int
    imports: int
    list_iterations: int
    warmup: int = 200
    rounds: int = 10


QUICK = Profile("quick", creates=2_000, rows=100_000, imports=10_000, list_iterations=200)
FULL = Profile("full", creates=20_000, rows=1_000_000, imports=100_000, list_iterations=1_000)


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- databases -----------------------------------------------------------------------------


async def _pg_admin(admin_url: str, statement: str) -> None:
    engine = create_engine(admin_url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def make_database(use_sqlite: bool, tmp: Path) -> tuple[str, Callable[[], None]]:
    """A fresh, migrated database: its URL and a function that drops it."""
    if use_sqlite:
        url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"

        def drop() -> None:  # the temp directory goes with everything in it
            return None

    else:
        admin = os.environ.get("TANGRAM_TEST_POSTGRES", "")
        if not admin:
            sys.exit("set TANGRAM_TEST_POSTGRES (e.g. postgresql://postgres@127.0.0.1:5432/test)")
        admin = normalise_database_url(admin)
        name = f"tangram_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(admin, f'CREATE DATABASE "{name}"'))
        url = f"{admin.rpartition('/')[0]}/{name}"

        def drop() -> None:
            asyncio.run(_pg_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    try:
        migrate.upgrade(url)
    except BaseException:
        drop()
        raise
    return url, drop


# --- data ----------------------------------------------------------------------------------


def ticket_values(i: int, prefix: str) -> dict[str, Any]:
    """A 12-field ticket as an API client sends it (no ``return``: it needs a 13th field)."""
    return {
        "subject": f"Printer on floor {i % 9} jams again (#{i})",
        "description": "<p>The printer shows <b>error 42</b> after the first page.</p>",
        "category": CATEGORIES[i % 3],
        "amount": f"{(i * 37) % 2000}.{i % 100:02d}",
        "quantity": 1 + i % 20,
        "tags": ["vip", "urgent"] if i % 5 == 0 else ["urgent"],
        "contact_phone": f"+86138{i % 100_000_000:08d}",
        "contact_email": f"{prefix}{i}@example.com",
        "website": f"https://shop.example.com/orders/{i}",
        "due_at": "2026-03-01T09:30:00Z",
        "order_date": "2026-02-20",
        "discount": "12.5",
    }


def seed_rows(
    table: Table,
    handle: FormHandle,
    start: int,
    count: int,
    user_id: int,
    department: Callable[[int], int | None] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Storage rows in batches, written straight to the table (seeding is not measured).

    ``department`` maps a row number to the row's ``department_id`` (left unset without it).
    """
    column = {spec.key: f"f_{spec.id}" for spec in handle.form.fields}
    rng = random.Random(start)
    now = datetime.now(UTC)
    batch: list[dict[str, Any]] = []
    for i in range(start, start + count):
        created = now - timedelta(seconds=rng.randrange(365 * 86_400))
        category = CATEGORIES[rng.randrange(4)]
        tags = ["vip"] if rng.random() < 0.1 else []
        batch.append(
            {
                "created_at": created,
                "updated_at": created,
                "created_by": user_id,
                "updated_by": user_id,
                "owner_id": user_id,
                "row_version": 1,
                column["subject"]: f"Seeded ticket {i}",
                column["description"]: None,
                column["category"]: category,
                column["return_reason"]: "Wrong size" if category == "return" else None,
                column["amount"]: Decimal(rng.randrange(0, 300_000)) / 100,
                column["quantity"]: rng.randint(1, 20),
                column["tags"]: tags,
                column["contact_phone"]: f"+86139{i % 100_000_000:08d}",
                column["contact_email"]: f"seed{i}@example.com",
                column["website"]: None,
                column["due_at"]: created + timedelta(days=3),
                column["order_date"]: (created - timedelta(days=1)).date(),
                column["vip"]: bool(tags),
                column["assignee"]: None,
                column["team"]: None,
                column["discount"]: None,
            }
        )
        if department is not None:
            batch[-1]["department_id"] = department(i)
        if len(batch) == SEED_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


# --- the baseline: a minimal FastAPI app over SQLAlchemy Core --------------------------------


class BaselineIn(BaseModel):
    values: dict[str, Any]


def baseline_app(engine: AsyncEngine, handle: FormHandle, user_id: int) -> FastAPI:
    """One insert endpoint and one list endpoint, written the plain way, on the same table."""
    table = handle.table
    c = {spec.key: table.c[f"f_{spec.id}"] for spec in handle.form.fields}
    convert: dict[str, Callable[[Any], Any]] = {
        "amount": Decimal,
        "discount": Decimal,
        "quantity": int,
        "due_at": datetime.fromisoformat,
        "order_date": date.fromisoformat,
    }
    #: Plain ``str`` names for the response (column names are SQLAlchemy ``quoted_name``s).
    names = [str.__str__(column.name) for column in table.c]
    keys = {f"f_{spec.id}": spec.key for spec in handle.form.fields}
    names = [keys.get(name, name) for name in names]
    app = FastAPI()

    @app.post("/records", status_code=201)
    async def create(body: BaselineIn) -> dict[str, Any]:
        now = datetime.now(UTC)
        row = {
            c[key].name: convert.get(key, lambda v: v)(value) for key, value in body.values.items()
        }
        row[c["vip"].name] = "vip" in body.values.get("tags", [])
        row.update(
            created_at=now,
            updated_at=now,
            created_by=user_id,
            updated_by=user_id,
            owner_id=user_id,
            row_version=1,
        )
        async with engine.begin() as conn:
            created = (await conn.execute(insert(table).returning(*table.c), row)).one()
        return dict(zip(names, created, strict=True))

    @app.get("/records")
    async def list_(category: str, min_amount: Decimal, limit: int = PAGE) -> dict[str, Any]:
        query = (
            select(table)
            .where(
                c["category"] == category,
                c["amount"] >= min_amount,
                table.c.deleted_at.is_(None),
            )
            .order_by(table.c.created_at.desc(), table.c.id)
            .limit(limit + 1)
        )
        async with engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        items = [dict(zip(names, row, strict=True)) for row in rows[:limit]]
        return {"items": items, "more": len(rows) > limit}

    return app


# --- measuring -----------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


async def timed(
    calls: int, call: Callable[[int], Awaitable[None]], offset: int = 0
) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process: app, client, driver) for ``calls`` calls."""
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(offset, offset + calls):
        await call(i)
    return time.perf_counter() - wall, time.process_time() - cpu


def expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response


async def admin_token(client: httpx.AsyncClient, app: FastAPI) -> tuple[int, str]:
    return await user_token(client, app, *ADMIN, is_admin=True)


async def user_token(
    client: httpx.AsyncClient, app: FastAPI, username: str, password: str, *, is_admin: bool
) -> tuple[int, str]:
    """A new user and an API token of theirs (made after a login, as a person would)."""
    async with app.state.sessions() as db:
        user, _ = await users.create_user(
            db, None, username=username, password=password, is_admin=is_admin
        )
        await db.commit()
    login = expect(
        await client.post("/api/v1/auth/login", json={"username": username, "password": password}),
        200,
    )
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    created = expect(
        await client.post("/api/v1/auth/tokens", json={"name": "bench"}, headers=csrf), 201
    )
    await client.post("/api/v1/auth/logout", headers=csrf)
    client.cookies.clear()
    return user.id, created.json()["token"]


async def publish(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    form: dict[str, Any],
    extra: dict[str, Any] | None = None,
    app_key: str = APP_KEY,
) -> str:
    """Create, draft and publish the app through the apps API; returns the records URL.

    ``extra``: more keys of the app definition (e.g. ``permissions`` and ``roles``)."""
    created = expect(
        await client.post(
            "/api/v1/apps", json={"key": app_key, "name": {"en": "Bench"}}, headers=headers
        ),
        201,
    )
    app_id = created.json()["id"]
    draft = expect(await client.get(f"/api/v1/apps/{app_id}/draft", headers=headers), 200).json()
    added = expect(
        await client.post(
            f"/api/v1/apps/{app_id}/forms",
            json={"key": form["key"], "label": form["label"], "row_version": draft["row_version"]},
            headers=headers,
        ),
        201,
    ).json()
    stored = added["definition"]["forms"][0]
    definition = {**added["definition"], "forms": [{**form, "id": stored["id"]}], **(extra or {})}
    await save_and_publish(client, headers, app_id, added["row_version"], definition)
    return f"/api/v1/records/{app_key}/{form['key']}"


async def save_and_publish(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    app_id: int,
    row_version: int,
    definition: dict[str, Any],
) -> None:
    """Save ``definition`` as the app's draft and publish it."""
    saved = expect(
        await client.put(
            f"/api/v1/apps/{app_id}/draft",
            json={"row_version": row_version, "definition": definition},
            headers=headers,
        ),
        200,
    ).json()
    expect(
        await client.post(
            f"/api/v1/apps/{app_id}/publish",
            json={"row_version": saved["row_version"]},
            headers=headers,
        ),
        200,
    )


async def measure_creates(
    profile: Profile,
    tangram: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    baseline: httpx.AsyncClient,
) -> dict[str, Any]:
    async def create_tangram(i: int) -> None:
        body = {"values": ticket_values(i, "t")}
        expect(await tangram.post(url, json=body, headers=headers), 201)

    async def create_baseline(i: int) -> None:
        body = {"values": ticket_values(i, "b")}
        expect(await baseline.post("/records", json=body, headers=headers), 201)

    say(f"warming up creates ({profile.warmup} each)")
    await timed(profile.warmup, create_tangram)
    await timed(profile.warmup, create_baseline)
    per_round = profile.creates // profile.rounds
    wall = {"tangram": 0.0, "baseline": 0.0}
    cpu = {"tangram": 0.0, "baseline": 0.0}
    offset = profile.warmup
    for round_ in range(profile.rounds):
        for side, call in (("tangram", create_tangram), ("baseline", create_baseline)):
            seconds, cpu_seconds = await timed(per_round, call, offset)
            wall[side] += seconds
            cpu[side] += cpu_seconds
        offset += per_round
        done = per_round * (round_ + 1)
        say(
            f"creates round {round_ + 1}/{profile.rounds}: "
            f"tangram {done / wall['tangram']:.0f}/s, baseline {done / wall['baseline']:.0f}/s"
        )
    done = per_round * profile.rounds
    return {
        "creates": done,
        "create_per_s": round(done / wall["tangram"], 1),
        "baseline_create_per_s": round(done / wall["baseline"], 1),
        "ratio": round(wall["baseline"] / wall["tangram"], 3),
        "create_cpu_ms": round(cpu["tangram"] / done * 1000, 3),
        "baseline_create_cpu_ms": round(cpu["baseline"] / done * 1000, 3),
    }


def import_cells(values: dict[str, Any]) -> list[str]:
    """A spreadsheet row: every value as the text a user would type into a cell."""
    return [", ".join(v) if isinstance(v, list) else str(v) for v in values.values()]


async def measure_import(app: FastAPI, token: str, rows: int) -> tuple[float, str]:
    """Bulk writing through the one write path: 1,000 rows a chunk, all in one transaction.

    Uses the spreadsheet importer's ``run_import`` (rows of text cells, parsed by the field
    types) when ``runtime/records/importer.py`` exists, else ``RecordWriter.create_many``.
    """
    items = [ticket_values(i, "i") for i in range(rows)]
    try:
        from runtime.records import importer
    except ImportError:
        importer = None  # type: ignore[assignment]
    async with app.state.sessions() as db:
        principal = await auth.token_principal(db, token)
        handle = await resolve(db, APP_KEY, FORM_KEY)
        if importer is not None:
            via = "runtime.records.importer.run_import"
            table = [(1, list(items[0]))]
            table += [(n + 2, import_cells(values)) for n, values in enumerate(items)]
            started = time.perf_counter()
            report = await importer.run_import(db, handle, principal, iter(table), dry_run=False)
            if not report.ok or report.created != rows:
                raise RuntimeError(f"import failed: {report.as_dict()['errors'][:3]}")
        else:
            via = "RecordWriter.create_many"
            writer = RecordWriter(db, handle, principal, source="import")
            started = time.perf_counter()
            for start in range(0, rows, IMPORT_CHUNK):
                await writer.create_many(items[start : start + IMPORT_CHUNK])
        await commit_and_dispatch(db)
        elapsed = time.perf_counter() - started
    return rows / elapsed, via


async def seed(
    engine: AsyncEngine,
    handle: FormHandle,
    rows: int,
    user_id: int,
    department: Callable[[int], int | None] | None = None,
) -> int:
    table = handle.table
    async with engine.connect() as conn:
        have = (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    missing = max(0, rows - have)
    say(f"seeding {missing:,} rows (table has {have:,}, target {rows:,})")
    started = time.perf_counter()
    done = 0
    for batch in seed_rows(table, handle, have, missing, user_id, department):
        async with engine.begin() as conn:
            await conn.execute(insert(table), batch)
        done += len(batch)
        if done % 100_000 < SEED_BATCH:
            say(f"  seeded {done:,} in {time.perf_counter() - started:.0f}s")
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'VACUUM ANALYZE "{table.name}"'))
        else:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table))).scalar_one()


async def measure_lists(
    profile: Profile,
    tangram: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    baseline: httpx.AsyncClient,
) -> dict[str, Any]:
    params = {"filter": json.dumps(LIST_FILTER), "sort": LIST_SORT, "limit": str(PAGE)}
    base_params = {"category": "repair", "min_amount": "100", "limit": str(PAGE)}

    async def list_tangram() -> list[int]:
        page = expect(await tangram.get(url, params=params, headers=headers), 200).json()
        return [item["id"] for item in page["items"]]

    async def list_baseline() -> list[int]:
        page = expect(await baseline.get("/records", params=base_params), 200).json()
        return [item["id"] for item in page["items"]]

    same = await list_tangram() == await list_baseline()
    if not same:
        say("WARNING: the two list queries returned different pages")
    for _ in range(20):
        await list_tangram()
        await list_baseline()
    samples: dict[str, list[float]] = {"tangram": [], "baseline": []}
    cpu = {"tangram": 0.0, "baseline": 0.0}
    for _ in range(profile.list_iterations):
        for side, call in (("tangram", list_tangram), ("baseline", list_baseline)):
            started, cpu_started = time.perf_counter(), time.process_time()
            await call()
            samples[side].append((time.perf_counter() - started) * 1000)
            cpu[side] += time.process_time() - cpu_started
    p95, base_p95 = percentile(samples["tangram"], 0.95), percentile(samples["baseline"], 0.95)
    return {
        "list_p50_ms": round(percentile(samples["tangram"], 0.5), 2),
        "list_p95_ms": round(p95, 2),
        "baseline_list_p50_ms": round(percentile(samples["baseline"], 0.5), 2),
        "baseline_list_p95_ms": round(base_p95, 2),
        "list_ratio": round(base_p95 / p95, 3),
        "list_cpu_ms": round(cpu["tangram"] / profile.list_iterations * 1000, 2),
        "baseline_list_cpu_ms": round(cpu["baseline"] / profile.list_iterations * 1000, 2),
        "list_same_page": same,
        "list_iterations": profile.list_iterations,
    }


async def server_version(engine: AsyncEngine) -> str:
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            raw = (await conn.execute(text("SHOW server_version"))).scalar_one()
            return f"PostgreSQL {str(raw).split()[0]}"
        raw = (await conn.execute(text("SELECT sqlite_version()"))).scalar_one()
        return f"SQLite {raw}"


def bench_settings(url: str, tmp: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url,
        var_dir=tmp / "var",
        secret_key="benchmark",
        run_worker=False,
        log_level="WARNING",
        # One token drives hundreds of creates a second: the limiter runs (its cost is part
        # of the stack measured) but at these rates never refuses.
        rate_limits=dict.fromkeys(ROUTE_CLASSES, "1000000/second"),
    )


async def run(url: str, profile: Profile, tmp: Path) -> dict[str, Any]:
    settings = bench_settings(url, tmp)
    app = create_app(settings)
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    results: dict[str, Any] = {
        "database": await server_version(engine),
        "dialect": f"{engine.dialect.name}+{engine.dialect.driver}",
    }
    tangram_transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=tangram_transport, base_url="http://tangram") as client,
    ):
        user_id, token = await admin_token(client, app)
        headers = {"Authorization": f"Bearer {token}"}
        records = await publish(client, headers, json.loads(TICKET_FORM.read_text()))
        async with app.state.sessions() as db:
            handle = await resolve(db, APP_KEY, FORM_KEY)
        baseline_transport = httpx.ASGITransport(
            app=baseline_app(engine, handle, user_id), client=("127.0.0.1", 50001)
        )
        async with httpx.AsyncClient(
            transport=baseline_transport, base_url="http://baseline"
        ) as baseline:
            say(f"{profile.creates:,} creates per side, {profile.rounds} rounds")
            results.update(await measure_creates(profile, client, records, headers, baseline))
            say(f"importing {profile.imports:,} rows in chunks of {IMPORT_CHUNK:,}")
            import_per_s, via = await measure_import(app, token, profile.imports)
            say(f"import: {import_per_s:,.0f} rows/s via {via}")
            results.update(
                import_rows=profile.imports,
                import_rows_per_s=round(import_per_s, 1),
                import_via=via,
            )
            results["rows"] = await seed(engine, handle, profile.rows, user_id)
            say(f"listing ({profile.list_iterations} pages per side)")
            results.update(await measure_lists(profile, client, records, headers, baseline))
    await engine.dispose()
    return results


def git_commit() -> tuple[str | None, bool | None]:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return head, bool(status.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.records", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k rows, 2,000 creates")
    parser.add_argument("--json", action="store_true", help="print only the JSON line on stdout")
    parser.add_argument("--sqlite", action="store_true", help="a temp SQLite file, not PostgreSQL")
    parser.add_argument("--rows", type=int, help="rows in the table for the list measurement")
    parser.add_argument("--creates", type=int, help="creates per side")
    parser.add_argument("--imports", type=int, help="rows written by the import measurement")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.sqlite and not args.quick and args.rows is None:
        profile = Profile(**{**profile.__dict__, "rows": 200_000})  # SQLite: no 1M by default
    overrides = {
        k: v
        for k, v in (("rows", args.rows), ("creates", args.creates), ("imports", args.imports))
        if v is not None
    }
    if overrides:
        profile = Profile(**{**profile.__dict__, **overrides})

    goals = {"ratio>=0.5": lambda r: r["ratio"] >= GOALS["ratio"]}
    goals["list_p95_ms<=50"] = lambda r: r["list_p95_ms"] <= GOALS["list_p95_ms"]
    return execute(
        "records", profile, args, lambda url, tmp: run(url, profile, tmp), goals, width=24
    )


def execute(
    name: str,
    profile: Profile,
    args: argparse.Namespace,
    runner: Callable[[str, Path], Awaitable[dict[str, Any]]],
    goals: dict[str, Callable[[dict[str, Any]], bool]],
    *,
    width: int,
) -> int:
    """Run one benchmark in a fresh database (``--sqlite`` or PostgreSQL) and print its report;
    the last line of stdout is one JSON object (every benchmark ends the same way)."""
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="tangram-bench-"))
    try:
        say(f"profile {profile.name}: {'SQLite' if args.sqlite else 'PostgreSQL'}")
        url, drop = make_database(args.sqlite, tmp)
        try:
            results = asyncio.run(runner(url, tmp))
        finally:
            drop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    commit, dirty = git_commit()
    report = {
        "benchmark": name,
        "profile": profile.name,
        **results,
        "goals": {goal: check(results) for goal, check in goals.items()},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "dirty": dirty,
        "seconds": round(time.perf_counter() - started, 1),
    }
    if not args.json:
        for key, value in report.items():
            print(f"{key:>{width}}: {value}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
