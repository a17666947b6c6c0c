"""The ``tangram`` command in a real subprocess, on both databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from runtime.auth.models import User
from runtime.auth.passwords import verify_password
from runtime.db import create_engine, session_factory


def tangram(
    args: list[str],
    db_url: str,
    var_dir: Path,
    *,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "TANGRAM_ADMIN_PASSWORD"}
    environment.update(TANGRAM_DATABASE_URL=db_url, TANGRAM_VAR_DIR=str(var_dir), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


async def _user(db_url: str, username: str) -> User | None:
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as db:
            return (
                await db.execute(select(User).where(User.username == username))
            ).scalar_one_or_none()
    finally:
        await engine.dispose()


@pytest.fixture
async def cleanup(app):
    """Borrow the app fixture so the tables are emptied after the test."""
    return app


async def test_user_create_and_reset_password(db_url, tmp_path, cleanup):
    created = tangram(
        ["user", "create", "Grace", "--admin", "--email", "grace@example.com"], db_url, tmp_path
    )
    assert created.returncode == 0, created.stderr
    generated = created.stdout.split("Password (shown once): ")[1].strip()
    user = await _user(db_url, "grace")
    assert user is not None and user.is_admin and verify_password(user.password_hash, generated)

    duplicate = tangram(["user", "create", "grace"], db_url, tmp_path)
    assert duplicate.returncode == 1 and "username" in duplicate.stderr

    weak = tangram(
        ["user", "reset-password", "grace", "--password-stdin"], db_url, tmp_path, stdin="123\n"
    )
    assert weak.returncode == 1 and "8" in weak.stderr

    reset = tangram(
        ["user", "reset-password", "grace", "--password-stdin"],
        db_url,
        tmp_path,
        stdin="Brand-new-pass-7\n",
    )
    assert reset.returncode == 0, reset.stderr
    user = await _user(db_url, "grace")
    assert verify_password(user.password_hash, "Brand-new-pass-7")


async def test_init_creates_the_first_admin_once(db_url, tmp_path, cleanup):
    first = tangram(["init"], db_url, tmp_path, env={"TANGRAM_ADMIN_PASSWORD": "First-admin-pw-1"})
    assert first.returncode == 0, first.stderr
    assert "Created administrator 'admin'" in first.stdout
    user = await _user(db_url, "admin")
    assert user.is_admin and verify_password(user.password_hash, "First-admin-pw-1")
    second = tangram(["init"], db_url, tmp_path, env={"TANGRAM_ADMIN_PASSWORD": "Other-pw-2222"})
    assert second.returncode == 0 and "exists already" in second.stdout
    assert verify_password((await _user(db_url, "admin")).password_hash, "First-admin-pw-1")


def test_webhook_secret_prints_the_signing_secret(tmp_path: Path) -> None:
    from runtime.net.webhooks import derive_secret

    env = {
        "TANGRAM_SECRET_KEY": "cli-secret-key",
        "TANGRAM_WEBHOOK_SECRETS": json.dumps({"crm": "c" * 20}),
    }
    derived = tangram(["webhook-secret"], "sqlite+aiosqlite:///unused.db", tmp_path, env=env)
    assert derived.returncode == 0, derived.stderr
    assert derived.stdout.strip() == derive_secret("cli-secret-key")
    named = tangram(["webhook-secret", "crm"], "sqlite+aiosqlite:///unused.db", tmp_path, env=env)
    assert named.stdout.strip() == "c" * 20
    unknown = tangram(["webhook-secret", "erp"], "sqlite+aiosqlite:///unused.db", tmp_path, env=env)
    assert unknown.returncode == 1 and "TANGRAM_WEBHOOK_SECRETS" in unknown.stderr
