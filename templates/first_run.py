"""The first run: install the bundled Customer Center (with its demo data unless told not to)
once per database — ``tangram template install-default``, which ``make run`` calls after
``tangram init``. A ``default_installs`` row records it, so it is never installed again, even
after an administrator deleted the app."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from runtime.auth.principal import Principal
from runtime.config import Settings
from runtime.records.writer import RecordEvent
from templates import demo_accounts, service
from templates.models import DefaultInstall
from templates.problems import invalid
from templates.source import MANIFEST, SourceError, read_source

#: The template installed on the first run.
DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "customer_center"


def demo_wanted(no_demo: bool) -> bool:
    """Demo data unless ``--no-demo`` or ``TANGRAM_NO_DEMO`` (1, true, yes) says otherwise."""
    flag = os.environ.get("TANGRAM_NO_DEMO", "").strip().lower()
    return not (no_demo or flag in ("1", "true", "yes", "on"))


@dataclass
class Outcome:
    #: installed, done_before (a marker), present (installed by other means).
    status: str
    template: str
    version: str = ""
    app_key: str = ""
    records: int = 0
    demo: bool = False
    accounts: list[demo_accounts.Shown] = field(default_factory=list)


async def install_default(
    db: AsyncSession,
    actor: Principal,
    settings: Settings,
    *,
    path: Path = DEFAULT_TEMPLATE,
    demo: bool = True,
    progress: service.Progress = service._quiet,
) -> Outcome:
    """Install the template at ``path`` unless this database had it installed by an earlier
    first run or has an app from it; commits."""
    try:
        files = read_source(path)
    except SourceError as exc:
        raise invalid([exc.problem]) from None
    key = _key(files)
    if key is not None:  # decided before reading the demo data through
        if await db.get(DefaultInstall, key) is not None:
            return Outcome("done_before", key)
        present = await service.installed_from(db, key)
        if present is not None:
            db.add(DefaultInstall(template_key=key, app_id=present.app_id, demo=False))
            await db.commit()
            return Outcome("present", key)
    template = service.check_files(files, settings)
    key = template.manifest.key
    if await db.get(DefaultInstall, key) is not None:
        return Outcome("done_before", key)
    events: list[RecordEvent] = []
    app, written = await service.install(
        db, actor, template, demo=demo, settings=settings, progress=progress, events=events
    )
    db.add(DefaultInstall(template_key=key, app_id=app.id, demo=demo))
    await db.commit()
    if events:
        await service.deliver_events(db, events)
    return Outcome(
        "installed",
        key,
        template.manifest.version,
        app.key,
        written,
        demo,
        await demo_accounts.shown(db) if demo else [],
    )


def _key(files: dict[str, bytes]) -> str | None:
    """The manifest's key, read on its own (None if it is not readable: the check says why)."""
    try:
        key = json.loads(files[MANIFEST]).get("key")
    except (KeyError, ValueError, AttributeError):
        return None
    return key if isinstance(key, str) and key else None


def url(settings: Settings) -> str:
    host = settings.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (shown, not bound)
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/"
