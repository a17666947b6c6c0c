"""Test fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests need ``TANGRAM_TEST_POSTGRES`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``);
each test run creates its own databases there and drops them at the end. With
``TANGRAM_REQUIRE_POSTGRES=1`` a run in which PostgreSQL tests were skipped fails, and with
``TANGRAM_REQUIRE_BROWSER=1`` one in which a browser test (``tests/browser``) was skipped.
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import inspect, text

from runtime import migrate
from runtime.app import create_app
from runtime.auth import passwords
from runtime.config import Settings, normalise_database_url
from runtime.db import create_engine
from runtime.flows.assign import clear_cache as clear_assign_cache
from runtime.flows.definitions import clear_cache as clear_flow_cache
from runtime.models import metadata
from runtime.permissions import clear_membership_cache
from runtime.records.forms import clear_cache
from runtime.rules.service import clear_cache as clear_rule_cache

PG_ADMIN_URL = os.environ.get("TANGRAM_TEST_POSTGRES", "")
REQUIRE_PG = os.environ.get("TANGRAM_REQUIRE_POSTGRES") == "1"
REQUIRE_BROWSER = os.environ.get("TANGRAM_REQUIRE_BROWSER") == "1"
BACKENDS = ["sqlite", "postgresql"]
FORM_TABLE = re.compile(r"^t_\d+(_\d+|_fts)?$")

# Argon2id with the library's default cost takes about 0.3 s to hash and as long to verify: a
# sign-in per test (the admin fixture, the Customer Center's eight people) made that most of the
# suite's time. Tests in this process hash with a tiny cost (still argon2id; the cost is stored in
# each hash, so servers in other processes verify them the same way). Production keeps the
# default cost (runtime/auth/passwords.py).
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
passwords._DUMMY_HASH = passwords._hasher.hash("tangram-dummy-password")

_pg_counts = {"ran": 0, "skipped": 0}
_browser_counts = {"skipped": 0}


# --- databases -----------------------------------------------------------------------------


def pg_url(database: str) -> str:
    base = normalise_database_url(PG_ADMIN_URL)
    head, _, _ = base.rpartition("/")
    return f"{head}/{database}"


async def pg_admin(statement: str) -> None:
    engine = create_engine(normalise_database_url(PG_ADMIN_URL))
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


def create_database(backend: str, tmp_dir: Path, *, migrated: bool = True) -> tuple[str, Any]:
    """A new empty database; returns its URL and a function that drops it."""
    if backend == "sqlite":
        path = tmp_dir / f"tangram-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite+aiosqlite:///{path}"

        def drop() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)

    else:
        if not PG_ADMIN_URL:
            pytest.skip("PostgreSQL not configured (set TANGRAM_TEST_POSTGRES)")
        name = f"tangram_test_{uuid.uuid4().hex[:12]}"
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
        url = pg_url(name)

        def drop() -> None:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    if migrated:
        migrate.upgrade(url)
    return url, drop


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database per backend, shared by the session and emptied after each test."""
    url, drop = create_database(request.param, tmp_path_factory.mktemp("db"))
    yield url
    drop()


@pytest.fixture
def backend(db_url: str) -> str:
    return "postgresql" if db_url.startswith("postgresql") else "sqlite"


async def _empty_tables(url: str) -> None:
    """Drop the form tables (``t_<id>``) and empty every platform table."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            names = await conn.run_sync(lambda c: inspect(c).get_table_names())
            for name in sorted(names, key=len, reverse=True):  # child tables first
                if FORM_TABLE.match(name):
                    await conn.execute(text(f'DROP TABLE "{name}"'))
            tables = [t.name for t in metadata.sorted_tables]
            if conn.dialect.name == "postgresql":
                quoted = ", ".join(f'"{t}"' for t in tables)
                await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
            else:
                # Rows of one table may reference each other (departments.parent_id): check
                # foreign keys at commit, when every table is empty.
                await conn.execute(text("PRAGMA defer_foreign_keys = ON"))
                for table in reversed(metadata.sorted_tables):
                    await conn.execute(table.delete())
    finally:
        await engine.dispose()


def make_settings(db_url: str, var_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "var_dir": var_dir,
        "secret_key": "test-secret",
        "run_worker": False,
        "job_poll_seconds": 0.05,
        "job_backoff_seconds": 0.05,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return make_settings(db_url, tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings)
    try:
        async with application.router.lifespan_context(application):
            yield application
    finally:
        await _empty_tables(settings.database_url)
        clear_caches()


def clear_caches() -> None:
    """Forget the process-wide caches (forms, flows, assignees, rules, memberships): the next
    test's database reuses the ids."""
    clear_cache()
    clear_flow_cache()
    clear_assign_cache()
    clear_rule_cache()
    clear_membership_cache()


@pytest.fixture
async def sessions(app: Any) -> Any:
    """The app's write session factory (tests use it to arrange and inspect data)."""
    return app.state.sessions


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


# --- users ---------------------------------------------------------------------------------

ADMIN_PASSWORD = "Admin-pass-2026"
USER_PASSWORD = "User-pass-2026"


@dataclass
class Account:
    id: int
    username: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_account(
    client: httpx.AsyncClient, sessions: Any, username: str, password: str, *, admin: bool = False
) -> Account:
    from runtime.users import service

    async with sessions() as db:
        user, _ = await service.create_user(
            db, None, username=username, password=password, is_admin=admin
        )
        await db.commit()
    login = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert login.status_code == 200, login.text
    csrf = login.json()["csrf_token"]
    created = await client.post(
        "/api/v1/auth/tokens", json={"name": "tests"}, headers={"X-CSRF-Token": csrf}
    )
    assert created.status_code == 201, created.text
    await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    client.cookies.clear()
    return Account(user.id, username, password, created.json()["token"])


@pytest.fixture
async def admin(client: httpx.AsyncClient, sessions: Any) -> Account:
    return await make_account(client, sessions, "admin", ADMIN_PASSWORD, admin=True)


@pytest.fixture
async def user(client: httpx.AsyncClient, sessions: Any) -> Account:
    return await make_account(client, sessions, "alice", USER_PASSWORD)


# --- PostgreSQL and browser requirements ---------------------------------------------------


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count PostgreSQL tests that ran and that were skipped for want of a server, and browser
    tests skipped (with pytest-xdist the controller sees every worker's reports here)."""
    if report.skipped and "browser" in report.keywords:
        _browser_counts["skipped"] += 1
    if "postgresql" not in report.nodeid:
        return
    if report.when == "call" and report.passed:
        _pg_counts["ran"] += 1
    elif report.skipped and "PostgreSQL not configured" in str(report.longrepr):
        _pg_counts["skipped"] += 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "[sqlite" in item.nodeid and item.get_closest_marker("postgres_only"):
            item.add_marker(pytest.mark.skip(reason="PostgreSQL-only test"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # pytest-xdist: the controller, which sees every report, decides
    problems = []
    if REQUIRE_PG:
        if _pg_counts["skipped"]:
            problems.append(
                f"TANGRAM_REQUIRE_POSTGRES=1 but {_pg_counts['skipped']} PostgreSQL fixture(s) "
                "skipped"
            )
        elif _pg_counts["ran"] == 0 and session.testscollected:
            problems.append("TANGRAM_REQUIRE_POSTGRES=1 but no PostgreSQL test ran")
    if REQUIRE_BROWSER and _browser_counts["skipped"]:
        problems.append(
            f"TANGRAM_REQUIRE_BROWSER=1 but {_browser_counts['skipped']} browser test(s) skipped"
        )
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for problem in problems:
            if reporter is not None:
                reporter.write_line(problem, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
