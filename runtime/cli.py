"""The ``tangram`` command: serve, work, migrate, manage users."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy import func, select

from runtime.config import Settings, describe_settings_error, get_settings

app = typer.Typer(help="Tangram — self-hosted no-code application builder.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(user_app, name="user")


def _settings() -> Settings:
    """The settings; a bad value ends the command with a message naming it, not a traceback."""
    try:
        return get_settings()
    except (ValidationError, SettingsError) as exc:
        typer.echo(f"Invalid configuration:\n{describe_settings_error(exc)}", err=True)
        raise typer.Exit(2) from None


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Target revision")] = "head",
    downgrade: Annotated[bool, typer.Option("--downgrade", help="Downgrade to REVISION")] = False,
) -> None:
    """Bring the platform tables to the latest (or the given) revision."""
    from runtime import migrate as migrations

    settings = _settings()
    if downgrade:
        migrations.downgrade(settings.database_url, revision)
    else:
        migrations.upgrade(settings.database_url, revision)
    current = asyncio.run(migrations.current_revision(settings.database_url))
    typer.echo(f"database at revision {current}")


@app.command()
def run(
    host: Annotated[str | None, typer.Option(help="Address (TANGRAM_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (TANGRAM_PORT)")] = None,
    worker: Annotated[bool, typer.Option(help="Run an in-process job worker")] = True,
    processes: Annotated[int, typer.Option(help="Web processes (uvicorn workers)")] = 1,
) -> None:
    """Serve the web application and API."""
    import uvicorn

    from runtime import migrate as migrations

    settings = _settings()
    if not migrations.is_current(settings.database_url):
        if settings.is_sqlite:
            migrations.upgrade(settings.database_url)
        else:
            typer.echo(
                "The database is not at the latest revision: run `tangram migrate`.", err=True
            )
            raise typer.Exit(1)
    if not worker:
        os.environ["TANGRAM_RUN_WORKER"] = "0"
        get_settings.cache_clear()
    host = host or settings.host
    port = port or settings.port
    typer.echo(f"Tangram on http://{host}:{port}  (API docs: http://{host}:{port}/api/docs)")
    uvicorn.run(
        "runtime.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=processes if processes > 1 else None,
        log_config=None,
        proxy_headers=True,
        forwarded_allow_ips=",".join(settings.trusted_proxies),
        timeout_graceful_shutdown=30,
    )


@app.command("worker")
def worker_command(
    concurrency: Annotated[int | None, typer.Option(help="Jobs run at once")] = None,
) -> None:
    """Run a job worker until SIGTERM/SIGINT; running jobs finish before it exits."""
    from runtime import aio
    from runtime import db as database
    from runtime.app import load_plugins
    from runtime.jobs import builtin  # noqa: F401
    from runtime.jobs.worker import Worker
    from runtime.observability.logs import configure_logging

    settings = _settings()
    configure_logging(json_lines=settings.log_json, level=settings.log_level)
    load_plugins(settings)

    async def main() -> None:
        engine = database.create_engine(settings.database_url, pool_size=settings.db_pool_size)
        worker = Worker(database.session_factory(engine), settings, concurrency=concurrency)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        try:
            await worker.run()
        finally:
            await engine.dispose()

    aio.run(main())


async def _with_session(coro_factory):  # type: ignore[no-untyped-def]
    from runtime import db as database

    settings = _settings()
    engine = database.create_engine(settings.database_url)
    try:
        async with database.session_factory(engine)() as session:
            return await coro_factory(session, settings)
    finally:
        await engine.dispose()


@app.command()
def init() -> None:
    """Create the first administrator if there is none (password printed once)."""
    from runtime.auth.models import User
    from runtime.users import service

    async def create(session, settings):  # type: ignore[no-untyped-def]
        admins = (
            await session.execute(select(func.count()).where(User.is_admin.is_(True)))
        ).scalar_one()
        if admins:
            return None
        password = settings.admin_password
        user, generated = await service.create_user(
            session,
            None,
            username=settings.admin_username,
            password=password,
            display_name="Administrator",
            is_admin=True,
        )
        if generated:
            user.must_change_password = False
        await session.commit()
        return generated or "(from TANGRAM_ADMIN_PASSWORD)"

    shown = asyncio.run(_with_session(create))
    if shown is None:
        typer.echo("An administrator exists already.")
    else:
        settings = _settings()
        typer.echo(f"Created administrator '{settings.admin_username}' with password: {shown}")
        typer.echo("This password is shown only once.")


@app.command("webhook-secret")
def webhook_secret(
    name: Annotated[
        str | None, typer.Argument(help="A secret of TANGRAM_WEBHOOK_SECRETS (default: none)")
    ] = None,
) -> None:
    """Print the secret webhooks are signed with, for their receivers to verify signatures."""
    from runtime.net.webhooks import UnknownSecret, signing_secret

    try:
        typer.echo(signing_secret(_settings(), name))
    except UnknownSecret as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@user_app.command("create")
def user_create(
    username: str,
    admin: Annotated[bool, typer.Option("--admin", help="Make an administrator")] = False,
    email: Annotated[str | None, typer.Option()] = None,
    display_name: Annotated[str, typer.Option()] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Create a user; without --password-stdin a password is generated and printed once."""
    from runtime.errors import ProblemError
    from runtime.users import service

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None

    async def create(session, _settings):  # type: ignore[no-untyped-def]
        _user, generated = await service.create_user(
            session,
            None,
            username=username,
            password=password,
            email=email,
            display_name=display_name,
            is_admin=admin,
        )
        await session.commit()
        return generated

    try:
        generated = asyncio.run(_with_session(create))
    except ProblemError as exc:
        _fail(exc)
    typer.echo(f"Created user '{username}'" + (" (administrator)" if admin else ""))
    if generated:
        typer.echo(f"Password (shown once): {generated}")


@user_app.command("reset-password")
def user_reset_password(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a new password (generated unless read from stdin) and end the user's sessions."""
    from runtime.auth import passwords
    from runtime.auth import service as auth
    from runtime.auth.models import User
    from runtime.errors import ProblemError

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None

    async def reset(session, _settings):  # type: ignore[no-untyped-def]
        user = (
            await session.execute(select(User).where(User.username == username.lower()))
        ).scalar_one_or_none()
        if user is None:
            raise ProblemError("not_found", detail=f"no user {username!r}")
        new = password or passwords.generate_password()
        passwords.check_policy(new, username=user.username)
        await auth.set_password(session, user, new, must_change=password is None)
        await session.commit()
        return None if password else new

    try:
        generated = asyncio.run(_with_session(reset))
    except ProblemError as exc:
        _fail(exc)
    typer.echo(f"Password of '{username}' reset; their sessions were ended.")
    if generated:
        typer.echo(f"Temporary password (shown once): {generated}")


def _fail(exc: Exception) -> None:
    from runtime.errors import ERRORS, ProblemError

    if isinstance(exc, ProblemError):
        typer.echo(f"error: {ERRORS[exc.code].title(**exc.params)}", err=True)
        for error in exc.errors:
            typer.echo(f"  {error.field}: {error.message}", err=True)
        if exc.detail:
            typer.echo(f"  {exc.detail}", err=True)
    raise typer.Exit(1)


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        app()


if __name__ == "__main__":
    main()
