"""Browser tests: Debian's headless Chromium, driven by Playwright, against a real server.

* ``live`` — uvicorn in a background thread on a free 127.0.0.1 port, serving
  ``create_app(Settings(...))`` on a fresh migrated SQLite database (a copy of one migrated
  once per session); ``live.url``, ``live.create_user(...)`` and ``live.run(...)`` (any
  coroutine, on the server's event loop with its session factory).
  A test marked ``@pytest.mark.both_databases`` runs twice: also against a server on a fresh
  PostgreSQL database (a copy of one migrated once, ``TANGRAM_TEST_POSTGRES``).
* ``sign_in_as(page, username, password)`` — signs in through the sign-in page.
* ``browser`` — Chromium from ``/usr/bin/chromium`` (Playwright never downloads one), once per
  module.
* ``page`` — a new context and page per test in the ``locale`` fixture's language (override
  it with ``@pytest.mark.parametrize("locale", ["zh-CN"])``); console and page errors are
  collected in ``page.errors``; a full-page screenshot is saved to
  ``var/artifacts/screenshots/<test>.png`` when the test ends.

Every test here is marked ``browser`` and skipped when Chromium or Playwright is missing
(``TANGRAM_REQUIRE_BROWSER=1`` turns such a run into a failure, see tests/conftest.py).
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import socket
import sqlite3
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode, urlsplit

import pytest
import uvicorn

from runtime import draining
from runtime.app import create_app
from tests.conftest import (
    ADMIN_PASSWORD,
    BACKENDS,
    USER_PASSWORD,
    clear_caches,
    create_database,
    make_settings,
    pg_admin,
    pg_url,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parent.parent / "var" / "artifacts" / "screenshots"
#: What a page may take to load or an element to appear (not a timing assertion: a bound).
TIMEOUT_MS = 30_000

T = TypeVar("T")


def _missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"Chromium is not installed ({CHROMIUM}; apt-get install chromium)"
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``live_backend``: both databases for a test marked ``both_databases``, else SQLite."""
    if "live_backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_databases") is not None
        metafunc.parametrize("live_backend", BACKENDS if both else ["sqlite"], ids=str)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser ``browser``; skip them all when they cannot run."""
    reason = _missing()
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


# --- the server ----------------------------------------------------------------------------


class _Server(uvicorn.Server):
    """uvicorn remembering its event loop, so tests can run coroutines on it."""

    loop: asyncio.AbstractEventLoop

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # No signal reaches a server in a thread: end the open event streams as SIGTERM
        # does for `tangram run` (runtime.draining), then shut down as uvicorn does.
        draining.begin(self.config.app)
        await super().shutdown(sockets)


@dataclass
class LiveUser:
    id: int
    username: str
    password: str


@dataclass
class Live:
    url: str
    app: Any
    server: _Server

    def run(self, make: Callable[[Any], Awaitable[T]], timeout: float = 30) -> T:
        """Run ``make(sessions)`` on the server's loop (with the app's write session factory)
        and return its result; SQLite writers of the process then share one queue."""

        async def call() -> T:
            return await make(self.app.state.sessions)

        future: Future[T] = asyncio.run_coroutine_threadsafe(call(), self.server.loop)
        return future.result(timeout)

    def create_user(
        self, username: str, password: str = USER_PASSWORD, *, admin: bool = False, **fields: Any
    ) -> LiveUser:
        """A user who can sign in with ``password`` (``fields``: display_name, locale …)."""
        from runtime.users import service

        async def create(sessions: Any) -> int:
            async with sessions() as db:
                user, _ = await service.create_user(
                    db, None, username=username, password=password, is_admin=admin, **fields
                )
                await db.commit()
                return int(user.id)

        return LiveUser(self.run(create), username, password)

    def create_admin(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> LiveUser:
        return self.create_user(username, password, admin=True)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A SQLite database migrated once; each ``live`` server gets a copy.

    Migrating runs an event loop: in a thread of its own, since Playwright's synchronous API
    keeps one running in this thread while a module's browser is open."""
    with ThreadPoolExecutor(1) as pool:
        url, drop = pool.submit(
            create_database, "sqlite", tmp_path_factory.mktemp("browser-db")
        ).result()
    yield Path(url.removeprefix("sqlite+aiosqlite:///"))
    drop()


@pytest.fixture(scope="session")
def migrated_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The name of a PostgreSQL database migrated once: the template of each ``live``
    server's database on PostgreSQL (``CREATE DATABASE … TEMPLATE``)."""
    with ThreadPoolExecutor(1) as pool:
        url, drop = pool.submit(
            create_database, "postgresql", tmp_path_factory.mktemp("browser-pg")
        ).result()
    yield url.rpartition("/")[2]
    drop()


def _copy_database(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _postgres_copy(template: str) -> tuple[str, Callable[[], None]]:
    """A new PostgreSQL database copied from ``template``, and a function that drops it."""
    name = f"tangram_live_{uuid.uuid4().hex[:12]}"

    def admin(statement: str) -> None:
        with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
            pool.submit(asyncio.run, pg_admin(statement)).result()

    admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return pg_url(name), lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _serve(
    migrated: Path, tmp_path: Path, *, pg_template: str | None = None, **overrides: Any
) -> Iterator[Live]:
    """A live server on a copy of ``migrated`` (SQLite), or of ``pg_template`` when given."""
    drop: Callable[[], None] | None = None
    if pg_template is None:
        database = tmp_path / "tangram.db"
        _copy_database(migrated, database)
        url = f"sqlite+aiosqlite:///{database}"
    else:
        url, drop = _postgres_copy(pg_template)
    settings = make_settings(url, tmp_path / "var", **overrides)
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    # A page still open when the server stops has its notification stream (SSE) ended at
    # once (``shutdown`` above); a second for anything else, not uvicorn's unbounded wait.
    server = _Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="live-uvicorn", daemon=True
    )
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the live server stopped during start-up (see the log above)")
        thread.join(0.02)
    try:
        yield Live(f"http://{host}:{port}", app, server)
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        clear_caches()
        if drop is not None:
            drop()


@pytest.fixture
def live(
    migrated_sqlite: Path, tmp_path: Path, request: pytest.FixtureRequest, live_backend: str
) -> Iterator[Live]:
    """The live server; a test marked ``@pytest.mark.worker`` gets its in-process job worker
    running (as ``tangram run`` has), so publishing, imports and rules run as for a user."""
    worker = request.node.get_closest_marker("worker") is not None
    template = None
    if live_backend == "postgresql":
        template = request.getfixturevalue("migrated_postgres")
    yield from _serve(migrated_sqlite, tmp_path, pg_template=template, run_worker=worker)


@pytest.fixture
def sign_in_as(live: Live) -> Callable[..., None]:
    """``sign_in_as(page, username, password)``: sign in through the sign-in page like a
    person (``next_url``: where to go afterwards); fails with the page's messages when the
    sign-in page comes back instead."""

    def sign_in(page: Page, username: str, password: str, next_url: str = "/") -> None:
        page.goto(f"{live.url}/sign-in?{urlencode({'next': next_url})}")
        form = page.locator("form[action='/sign-in']")
        form.locator("input[name=username]").fill(username)
        form.locator("input[name=password]").fill(password)
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        if urlsplit(page.url).path == "/sign-in":
            shown = page.locator("[role=alert], .field-errors").all_inner_texts()
            raise AssertionError(f"signing in as {username!r} failed: {shown}")

    return sign_in


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def locale() -> str:
    """The browser's language (Accept-Language and navigator.language)."""
    return "en-US"


def screenshot_path(name: str) -> Path:
    """``var/artifacts/screenshots/<test name>.png``, the name made safe for a file system."""
    return SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name).strip('_')}.png"


@pytest.fixture
def page(browser: Browser, locale: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.errors = errors  # type: ignore[attr-defined]

    def console(message: ConsoleMessage) -> None:
        url = message.location.get("url", "")
        # Chromium asks for /favicon.ico itself for a document declaring no icon (a JSON
        # response, say); that request is the browser's, not the page's.
        if message.type == "error" and not url.endswith("/favicon.ico"):
            errors.append(f"console: {message.text} ({url})")

    tab.on("console", console)
    tab.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    try:
        yield tab
    finally:
        try:
            path = screenshot_path(request.node.name)
            path.parent.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(path), full_page=True)
        finally:
            context.close()
