"""The ``tangram`` command: serve, work, migrate, manage users."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy import func, select

from runtime.config import Settings, describe_settings_error, get_settings

app = typer.Typer(help="Tangram — self-hosted no-code application builder.", no_args_is_help=True)
user_app = typer.Typer(help="Manage users.", no_args_is_help=True)
app.add_typer(user_app, name="user")
template_app = typer.Typer(help="Export, import and upgrade app templates.", no_args_is_help=True)
app.add_typer(template_app, name="template")


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


@app.command("public-form")
def public_form(
    app_key: Annotated[str, typer.Argument(help="The app's key, e.g. customer_center")],
    form_key: Annotated[str, typer.Argument(help="The published form's key, e.g. ticket")],
    slug: Annotated[str, typer.Argument(help="The link's name: /p/<slug>")],
    title_en: Annotated[str | None, typer.Option(help="Title (English)")] = None,
    title_zh: Annotated[str | None, typer.Option(help="Title (简体中文)")] = None,
) -> None:
    """Publish a form at a public link (Customer Center: ``public-form customer_center ticket
    submit-ticket --title-zh 提交工单 --title-en "Submit a ticket"``)."""
    from builder.apps.models import App
    from runtime.errors import ProblemError
    from runtime.publicforms import service
    from runtime.publicforms.schemas import PublicFormIn

    title = {k: v for k, v in (("en", title_en), ("zh-CN", title_zh)) if v}

    async def publish(session, settings):  # type: ignore[no-untyped-def]
        app_id = (
            await session.execute(select(App.id).where(App.key == app_key))
        ).scalar_one_or_none()
        if app_id is None:
            return f"error: no app {app_key!r}"
        try:
            body = PublicFormIn(form=form_key, slug=slug, title=title)
            await service.create_form(session, None, app_id, body)
        except (ProblemError, ValueError) as exc:
            return f"error: {getattr(exc, 'code', exc)} {getattr(exc, 'params', '')}"
        await session.commit()
        return None

    failed = asyncio.run(_with_session(publish))
    if failed:
        typer.echo(failed, err=True)
        raise typer.Exit(1)
    typer.echo(f"{app_key}.{form_key} is public at /p/{slug}")


@app.command("kb-reindex")
def kb_reindex(
    app_key: Annotated[str, typer.Argument(help="The app's key, e.g. customer_center")],
) -> None:
    """Rebuild an app's knowledge-base search index from its articles."""
    from runtime.errors import ProblemError
    from runtime.kb import index

    async def rebuild(session, settings):  # type: ignore[no-untyped-def]
        try:
            count = await index.reindex_app(session, app_key)
        except ProblemError:
            return None
        await session.commit()
        return count

    count = asyncio.run(_with_session(rebuild))
    if count is None:
        typer.echo(f"error: no published app {app_key!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{app_key}: {count} article(s) indexed")


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


# --- templates -----------------------------------------------------------------------------


async def _admin(session):  # type: ignore[no-untyped-def]
    """The first active administrator, whom template installs are recorded as."""
    from runtime.auth.models import User
    from runtime.auth.principal import Principal
    from runtime.errors import ProblemError

    user = (
        await session.execute(
            select(User)
            .where(User.is_admin.is_(True), User.is_active.is_(True))
            .order_by(User.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if user is None:
        raise ProblemError("admin_required", detail="run `tangram init` first")
    return Principal(user, via="system")


async def _app_id(session, app_ref: str) -> int:  # type: ignore[no-untyped-def]
    from builder.apps.models import App
    from runtime.errors import ProblemError

    query = select(App.id).where(App.deleted_at.is_(None))
    query = (
        query.where(App.id == int(app_ref))
        if app_ref.isdigit()
        else query.where(App.key == app_ref)
    )
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        raise ProblemError("not_found", detail=f"no app {app_ref!r}")
    return int(found)


async def _say_progress(percent: float, stage: str, params: dict) -> None:  # type: ignore[type-arg]
    from templates.jobs import stage_text

    typer.echo(f"[{percent:3.0f}%] {stage_text(stage, params)}", err=True)


def _print_conflicts(view: dict) -> None:  # type: ignore[type-arg]
    import json

    for conflict in view["conflicts"]:
        choice = conflict["choice"] or "undecided"
        paths = ", ".join(conflict["paths"]) or "-"
        typer.echo(
            f"  #{conflict['index']} {conflict['part']} {conflict['element']} ({paths}): {choice}",
            err=True,
        )
        for side in ("base", "local", "theirs"):
            shown = json.dumps(conflict[side], ensure_ascii=False)
            typer.echo(f"      {side}: {shown[:200]}", err=True)


@template_app.command("export")
def template_export(
    app_ref: Annotated[str, typer.Argument(metavar="APP", help="The app's key or id")],
    output: Annotated[
        Path, typer.Option("-o", "--output", help="A .zip file, or a directory to write into")
    ],
    with_data: Annotated[bool, typer.Option("--with-data", help="Records as seed data")] = False,
    version: Annotated[str | None, typer.Option(help="The template version (1.2.0)")] = None,
) -> None:
    """Export an app (its draft) as a template."""
    from runtime.errors import ProblemError
    from templates import service
    from templates.source import read_zip, write_directory

    async def export(session, _settings):  # type: ignore[no-untyped-def]
        actor = await _admin(session)
        _app, data = await service.export_app(
            session, actor, await _app_id(session, app_ref), with_data=with_data, version=version
        )
        await session.commit()
        return data

    try:
        data = asyncio.run(_with_session(export))
    except ProblemError as exc:
        _fail(exc)
    if output.suffix.lower() == ".zip":
        output.write_bytes(data)
    else:
        write_directory(read_zip(data), output)
    typer.echo(f"exported {app_ref} to {output}")


def _read_template(path: Path):  # type: ignore[no-untyped-def]
    from templates.problems import invalid
    from templates.source import SourceError, read_source

    try:
        return read_source(path)
    except SourceError as exc:
        raise invalid([exc.problem]) from None


@template_app.command("check")
def template_check(
    path: Annotated[Path, typer.Argument(help="A template .zip or directory")],
) -> None:
    """Check a template without installing it; every problem is listed."""
    from runtime.errors import ProblemError
    from templates import service

    try:
        template = service.check_files(_read_template(path), _settings())
    except ProblemError as exc:
        _fail(exc)
    manifest = template.manifest
    typer.echo(f"{manifest.key} {manifest.version}: no problems")


@template_app.command("import")
def template_import(
    path: Annotated[Path, typer.Argument(help="A template .zip or directory")],
    no_demo: Annotated[bool, typer.Option("--no-demo", help="Skip the seed/demo data")] = False,
    key: Annotated[
        str | None, typer.Option(help="Install as a new app with this key (never an upgrade)")
    ] = None,
) -> None:
    """Install a template; an app installed from the same template is upgraded instead.

    An upgrade with conflicts stops (exit 3) and lists them: decide each with `tangram
    template resolve`, then run `tangram template upgrade`."""
    from runtime.errors import ProblemError
    from templates import service

    settings = _settings()

    async def run_import(session, _settings):  # type: ignore[no-untyped-def]
        actor = await _admin(session)
        await _say_progress(2.0, "validate", {})
        template = service.check_files(_read_template(path), settings)
        found = (
            await service.installed_from(session, template.manifest.key) if key is None else None
        )
        if found is None:
            events: list = []  # type: ignore[type-arg]
            app, written = await service.install(
                session,
                actor,
                template,
                key=key,
                demo=not no_demo,
                settings=settings,
                progress=_say_progress,
                events=events,
            )
            await session.commit()
            if events:  # seed rows with _events: rules and flows run on them now
                await service.deliver_events(session, events)
            return (
                f"installed {template.manifest.key} {template.manifest.version} as app "
                f"{app.key} (id {app.id}, {written} records)",
                None,
            )
        view = await service.plan_upgrade(session, actor, found, template)
        if view["unresolved"]:
            await session.commit()
            return None, view
        await service.apply_upgrade(session, actor, found.app_id, settings, _say_progress)
        await session.commit()
        return f"upgraded app {found.app_id} to {template.manifest.version}", None

    try:
        message, conflicts = asyncio.run(_with_session(run_import))
    except ProblemError as exc:
        _fail(exc)
    if conflicts is not None:
        typer.echo(
            f"The upgrade to {conflicts['to_version']} has {conflicts['unresolved']} conflict(s):",
            err=True,
        )
        _print_conflicts(conflicts)
        raise typer.Exit(3)
    typer.echo(message)


@template_app.command("install-default")
def template_install_default(
    no_demo: Annotated[
        bool, typer.Option("--no-demo", help="Without demo data (also TANGRAM_NO_DEMO=1)")
    ] = False,
    path: Annotated[
        Path | None,
        typer.Option(help="Another template directory (default: the bundled Customer Center)"),
    ] = None,
) -> None:
    """First run: install the bundled Customer Center with demo data, once per database.

    Nothing happens when an earlier run installed it (even if its app was deleted since)."""
    from runtime.errors import ProblemError
    from templates import first_run

    settings = _settings()
    demo = first_run.demo_wanted(no_demo)

    async def install(session, _settings):  # type: ignore[no-untyped-def]
        actor = await _admin(session)
        return await first_run.install_default(
            session,
            actor,
            settings,
            path=path or first_run.DEFAULT_TEMPLATE,
            demo=demo,
            progress=_say_progress,
        )

    try:
        outcome = asyncio.run(_with_session(install))
    except ProblemError as exc:
        _fail(exc)
    address = first_run.url(settings)
    if outcome.status == "installed":
        with_demo = f"with demo data, {outcome.records} records" if outcome.demo else "no demo data"
        typer.echo(
            f"Installed {outcome.template} {outcome.version} as app {outcome.app_key} "
            f"({with_demo})."
        )
    elif outcome.status == "done_before":
        typer.echo(f"{outcome.template} was installed by an earlier first run; not again.")
    else:
        typer.echo(f"An app from {outcome.template} exists already; nothing installed.")
    typer.echo(f"Open {address} and sign in as '{settings.admin_username}'", nl=False)
    typer.echo(" with the password `tangram init` printed (or TANGRAM_ADMIN_PASSWORD).")
    if outcome.accounts:
        typer.echo("Demo accounts (also offered on the sign-in page):")
        for account in outcome.accounts:
            typer.echo(f"  {account.role}: {account.username} / {account.password}")


@template_app.command("resolve")
def template_resolve(
    app_ref: Annotated[str, typer.Argument(metavar="APP", help="The app's key or id")],
    index: Annotated[int, typer.Argument(help="The conflict's number (#)")],
    choice: Annotated[str, typer.Argument(help="local or theirs")],
) -> None:
    """Decide one conflict of an app's planned upgrade."""
    from runtime.errors import ProblemError
    from templates import service

    if choice not in ("local", "theirs"):
        typer.echo("error: choose local or theirs", err=True)
        raise typer.Exit(2)

    async def resolve(session, _settings):  # type: ignore[no-untyped-def]
        actor = await _admin(session)
        view = await service.resolve(session, actor, await _app_id(session, app_ref), index, choice)
        await session.commit()
        return view

    try:
        view = asyncio.run(_with_session(resolve))
    except ProblemError as exc:
        _fail(exc)
    _print_conflicts(view)
    typer.echo(f"{view['unresolved']} conflict(s) left")


@template_app.command("upgrade")
def template_upgrade(
    app_ref: Annotated[str, typer.Argument(metavar="APP", help="The app's key or id")],
) -> None:
    """Apply an app's planned upgrade once every conflict is decided."""
    from runtime.errors import ProblemError
    from templates import service

    settings = _settings()

    async def upgrade(session, _settings):  # type: ignore[no-untyped-def]
        actor = await _admin(session)
        app_id = await _app_id(session, app_ref)
        await service.apply_upgrade(session, actor, app_id, settings, _say_progress)
        install = await service.installed(session, app_id)
        await session.commit()
        return install.version if install else ""

    try:
        version = asyncio.run(_with_session(upgrade))
    except ProblemError as exc:
        if exc.code == "upgrade_unresolved":
            _print_conflicts(exc.extra["upgrade"])
        _fail(exc)
    typer.echo(f"upgraded {app_ref} to {version}")


def _fail(exc: Exception) -> None:
    from runtime.errors import ERRORS, ProblemError

    if isinstance(exc, ProblemError):
        typer.echo(f"error: {ERRORS[exc.code].title(**exc.params)}", err=True)
        for error in [] if "problems" in exc.extra else exc.errors:
            typer.echo(f"  {error.field}: {error.message}", err=True)
        if exc.detail:
            typer.echo(f"  {exc.detail}", err=True)
        for found in exc.extra.get("problems", []):
            where = f"{found['file']}#{found['path']}" if found["path"] else found["file"]
            typer.echo(f"  {where}: [{found['code']}] {found['message']}", err=True)
    raise typer.Exit(1)


def main() -> None:
    with contextlib.suppress(KeyboardInterrupt):
        app()


if __name__ == "__main__":
    main()
