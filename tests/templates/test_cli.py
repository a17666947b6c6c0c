"""``tangram template`` in a real subprocess: export an app to a .zip and to a directory,
check, import into a fresh database (with and without demo data), a broken template listing
its problems with a non-zero exit, an upgrade that stops on a conflict, then resolve and
upgrade — on both databases."""

from __future__ import annotations

import asyncio
import json

from tests.conftest import clear_caches, create_database
from tests.runtime.test_cli import tangram
from tests.templates.conftest import publish_sample


async def test_export_check_import_and_upgrade(client, admin, settings, backend, tmp_path):
    desk = await publish_sample(client, admin)
    target = tmp_path / "desk.zip"
    exported = tangram(
        ["template", "export", "desk", "-o", str(target), "--with-data"],
        settings.database_url,
        tmp_path,
    )
    assert exported.returncode == 0, exported.stderr
    assert target.is_file()
    folder = tmp_path / "desk_template"
    as_dir = tangram(
        ["template", "export", str(desk.app_id), "-o", str(folder), "--with-data"],
        settings.database_url,
        tmp_path,
    )
    assert as_dir.returncode == 0, as_dir.stderr
    assert (folder / "manifest.json").is_file() and (folder / "flows" / "triage.bpmn").is_file()
    checked = tangram(["template", "check", str(folder)], settings.database_url, tmp_path)
    assert checked.returncode == 0 and "desk 1.0.0: no problems" in checked.stdout

    # A fresh database: install the .zip with its demo data, the directory without.
    fresh_url, drop = await asyncio.to_thread(create_database, backend, tmp_path)
    try:
        init = tangram(["init"], fresh_url, tmp_path)
        assert init.returncode == 0, init.stderr
        installed = tangram(["template", "import", str(target)], fresh_url, tmp_path)
        assert installed.returncode == 0, installed.stderr
        assert "installed desk 1.0.0 as app desk" in installed.stdout
        assert "5 records" in installed.stdout
        assert "[100%]" not in installed.stderr and "Publishing the app" in installed.stderr
        assert "Loading demo data: 5 of 5 records" in installed.stderr
        bare = tangram(
            ["template", "import", str(folder), "--no-demo", "--key", "desk_bare"],
            fresh_url,
            tmp_path,
        )
        assert bare.returncode == 0, bare.stderr
        assert "as app desk_bare" in bare.stdout and "0 records" in bare.stdout

        # A broken copy: every problem listed, exit 1, nothing written.
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(
            json.dumps({**manifest, "version": "1.1", "locales": ["zh-CN", "en"]})
        )
        (folder / "roles.json").write_text('[{"key": "Bad Key"}]')
        broken = tangram(["template", "import", str(folder)], fresh_url, tmp_path)
        assert broken.returncode == 1
        assert "manifest.json#version" in broken.stderr
        assert "roles.json#[0].key" in broken.stderr

        # Version 1.1.0 changes the flow's name, and so did the installed app: a conflict.
        (folder / "manifest.json").write_text(json.dumps({**manifest, "version": "1.1.0"}))
        (folder / "roles.json").write_text(json.dumps([{"key": "agent"}, {"key": "lead"}]))
        bpmn = folder / "flows" / "triage.bpmn"
        bpmn.write_text(bpmn.read_text().replace('name="Triage" isExec', 'name="Vendor" isExec'))
        clashing = await _rename_flow(fresh_url)
        assert clashing
        stopped = tangram(["template", "import", str(folder)], fresh_url, tmp_path)
        assert stopped.returncode == 3, stopped.stderr
        assert "flows triage (name)" in stopped.stderr
        resolved = tangram(["template", "resolve", "desk", "0", "theirs"], fresh_url, tmp_path)
        assert resolved.returncode == 0 and "0 conflict(s) left" in resolved.stdout
        upgraded = tangram(["template", "upgrade", "desk"], fresh_url, tmp_path)
        assert upgraded.returncode == 0, upgraded.stderr
        assert "upgraded desk to 1.1.0" in upgraded.stdout
    finally:
        clear_caches()
        await asyncio.to_thread(drop)


async def _rename_flow(db_url: str) -> bool:
    """Rename the installed app's flow locally (through the database, as the designer would)."""
    from sqlalchemy import select

    from builder.apps.models import App, AppVersion
    from runtime.db import create_engine, session_factory

    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as db:
            app_id = (await db.execute(select(App.id).where(App.key == "desk"))).scalar_one()
            draft = (
                await db.execute(
                    select(AppVersion).where(AppVersion.app_id == app_id, AppVersion.number == 0)
                )
            ).scalar_one()
            definition = dict(draft.definition)
            definition["flows"] = [{**definition["flows"][0], "name": {"en": "Ours"}}]
            draft.definition = definition
            await db.commit()
            return True
    finally:
        await engine.dispose()
