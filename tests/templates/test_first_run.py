"""The first run (``make run``: ``tangram init`` then ``tangram template install-default``) in
a real subprocess on a fresh database: the Customer Center with demo data installed once, the
URL and sign-in printed; a second run, and a run after the app was deleted, install nothing;
``TANGRAM_NO_DEMO=1`` installs it without demo data — on both databases."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, update

from builder.apps.models import App
from runtime.auth.models import User
from runtime.db import create_engine, session_factory, utcnow
from templates.models import DefaultInstall
from tests.conftest import clear_caches, create_database
from tests.runtime.test_cli import tangram
from tests.templates import demo_template


async def _query(db_url: str, statement, *, write: bool = False):
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as db:
            result = await db.execute(statement)
            if write:
                await db.commit()
                return None
            return result.scalar()
    finally:
        await engine.dispose()


async def test_the_first_run_installs_once(backend, tmp_path):
    url, drop = await asyncio.to_thread(create_database, backend, tmp_path)
    path = demo_template.make(tmp_path / "cc")
    env = {"TANGRAM_HOST": "0.0.0.0", "TANGRAM_PORT": "8123"}
    command = ["template", "install-default", "--path", str(path)]
    try:
        init = tangram(["init"], url, tmp_path)
        assert init.returncode == 0, init.stderr
        first = tangram(command, url, tmp_path, env=env)
        assert first.returncode == 0, first.stderr
        assert "Installed customer_center 1.0.0 as app customer_center" in first.stdout
        assert "with demo data, 89 records" in first.stdout
        assert "Open http://127.0.0.1:8123/ and sign in as 'admin'" in first.stdout
        assert "Agent: li.na / Demo@2026" in first.stdout
        assert "Loading demo data" in first.stderr
        assert await _query(url, select(func.count()).select_from(App)) == 1

        again = tangram(command, url, tmp_path, env=env)
        assert again.returncode == 0, again.stderr
        assert "installed by an earlier first run; not again" in again.stdout
        assert await _query(url, select(func.count()).select_from(App)) == 1

        # An administrator deletes the app: the first run does not bring it back.
        await _query(url, update(App).values(deleted_at=utcnow()), write=True)
        after_delete = tangram(command, url, tmp_path, env=env)
        assert after_delete.returncode == 0, after_delete.stderr
        assert "not again" in after_delete.stdout
        assert await _query(url, select(func.count()).select_from(App)) == 1
        assert await _query(url, select(func.count()).select_from(DefaultInstall)) == 1
    finally:
        clear_caches()
        await asyncio.to_thread(drop)


async def test_the_first_run_without_demo_data(backend, tmp_path):
    url, drop = await asyncio.to_thread(create_database, backend, tmp_path)
    path = demo_template.make(tmp_path / "cc")
    try:
        assert tangram(["init"], url, tmp_path).returncode == 0
        bare = tangram(
            ["template", "install-default", "--path", str(path)],
            url,
            tmp_path,
            env={"TANGRAM_NO_DEMO": "1"},
        )
        assert bare.returncode == 0, bare.stderr
        assert "(no demo data)" in bare.stdout and "Demo accounts" not in bare.stdout
        demo_users = select(func.count()).select_from(User).where(User.username == "li.na")
        assert await _query(url, demo_users) == 0
        assert await _query(url, select(func.count()).select_from(App)) == 1
    finally:
        clear_caches()
        await asyncio.to_thread(drop)
