"""Importing a template on the builder home in Chromium: a broken .zip lists every problem by
file, a good one installs with a progress bar and links to the new app; the app's settings
page exports it as a template."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from builder.apps.definition import load
from templates.layout import Template, to_files
from templates.manifest import Manifest
from templates.source import write_zip
from tests.browser.apps import Api
from tests.browser.conftest import screenshot_path
from tests.browser.test_accessibility import violations
from tests.templates import sample


def _template(version: str = "1.0.0", flow_name: dict | None = None) -> dict[str, bytes]:
    document = sample.definition({"customer": 1, "ticket": 2})
    if flow_name is not None:
        document["flows"] = [{**document["flows"][0], "name": flow_name}]
    definition = load(document)
    manifest = Manifest(
        key="desk",
        name={"en": "Help desk", "zh-CN": "服务台"},
        version=version,
        min_platform="0.0.0",
        locales=["zh-CN", "en"],
        parts=[
            "forms",
            "flows",
            "rules",
            "sla",
            "calendars",
            "dashboards",
            "roles",
            "permissions",
            "seed",
        ],
    )
    seed = {
        "customer": [{"_id": i, "name": f"客户 {i}", "level": "gold"} for i in range(1, 41)],
        "ticket": [
            {
                "_id": i,
                "subject": f"工单 {i}",
                "priority": "normal",
                "status": "new",
                "customer": 1 + i % 40,
            }
            for i in range(1, 301)
        ],
    }
    return to_files(Template(manifest, definition, seed))


@pytest.mark.both_databases
@pytest.mark.worker
def test_import_a_template_with_progress(page, live, sign_in_as, tmp_path):
    admin = live.create_admin()
    api = Api(live.url, admin.username, admin.password)
    files = _template()
    broken = dict(files)
    broken["dashboards/ops.json"] = b"{oops"
    broken["manifest.json"] = json.dumps(
        {**json.loads(files["manifest.json"]), "min_platform": "99.0.0"}
    ).encode()
    (tmp_path / "broken.zip").write_bytes(write_zip(broken))
    (tmp_path / "desk.zip").write_bytes(write_zip(files))
    try:
        sign_in_as(page, admin.username, admin.password, next_url="/build")
        section = page.locator("[data-template-import]")
        section.locator("[data-template-file]").set_input_files(str(tmp_path / "broken.zip"))
        section.get_by_role("button", name="Import template").click()
        problems = section.locator("[data-template-problems] li")
        problems.first.wait_for()
        shown = section.locator("[data-template-problems]").inner_text()
        assert "manifest.json#min_platform" in shown and "dashboards/ops.json" in shown
        assert problems.count() == 2
        page.screenshot(path=str(screenshot_path("template_import_problems")), full_page=True)
        assert violations(page) == []
        assert api.call("GET", "/api/v1/apps") == []

        section.locator("[data-template-file]").set_input_files(str(tmp_path / "desk.zip"))
        section.get_by_role("button", name="Import template").click()
        page.wait_for_selector("[data-template-progress]:not([hidden])")
        link = section.locator("[data-template-result] a")
        link.wait_for()
        assert page.locator("[data-template-bar]").evaluate("bar => bar.value") == 100
        assert "Installed desk 1.0.0" in section.locator("[data-template-stage]").inner_text()
        assert section.locator("[data-template-problems] li").count() == 0
        page.screenshot(path=str(screenshot_path("template_import_installed")), full_page=True)
        [app] = api.call("GET", "/api/v1/apps")
        assert app["key"] == "desk" and app["published_version_id"] is not None
        tickets = api.call("GET", "/api/v1/records/desk/ticket?limit=1")
        assert tickets["items"]
        link.click()
        page.wait_for_url(f"{live.url}/build/apps/desk")

        page.goto(f"{live.url}/build/apps/desk/settings")
        export = page.locator("[data-template-export]")
        export.get_by_label("Template version").fill("1.1.0")
        export.get_by_label("Include the records as demo data").check()
        with page.expect_download() as download:
            export.get_by_role("button", name="Export as template").click()
        assert download.value.suggested_filename == "desk-1.1.0.zip"
        with zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read())) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            assert manifest["version"] == "1.1.0"
            assert len(archive.read("seed/ticket.jsonl").splitlines()) == 300
        # The one failed request is the broken template's 422, which the page showed.
        assert [e for e in page.errors if "/api/v1/templates/imports" not in e] == []
    finally:
        api.close()


@pytest.mark.worker
def test_upgrade_a_template_deciding_its_conflict(page, live, sign_in_as, tmp_path):
    admin = live.create_admin()
    api = Api(live.url, admin.username, admin.password)
    try:
        started = api.http.post(
            "/api/v1/templates/imports",
            files={"file": ("desk.zip", write_zip(_template()), "application/zip")},
            data={"demo": "false"},
        )
        assert started.status_code == 202, started.text
        job_url = started.json()["url"]
        for _ in range(300):
            job = api.call("GET", job_url)
            if job["status"] == "done":
                break
            page.wait_for_timeout(100)
        assert job["result"]["ok"] is True, job
        app_id = job["result"]["app"]["id"]
        draft = api.call("GET", f"/api/v1/apps/{app_id}/draft")
        definition = draft["definition"]
        definition["flows"][0]["name"] = {"en": "Our triage"}
        api.call(
            "PUT",
            f"/api/v1/apps/{app_id}/draft",
            {"row_version": draft["row_version"], "definition": definition},
        )
        newer = tmp_path / "desk-1.1.0.zip"
        newer.write_bytes(write_zip(_template("1.1.0", {"en": "Their triage"})))

        sign_in_as(page, admin.username, admin.password, next_url="/build")
        section = page.locator("[data-template-import]")
        section.locator("[data-template-file]").set_input_files(str(newer))
        section.get_by_role("button", name="Import template").click()
        conflict = section.locator("[data-conflict='0']")
        conflict.wait_for()
        assert "flows · triage" in conflict.inner_text()
        assert section.locator("[data-template-apply]").is_disabled()
        conflict.get_by_role("button", name="Take theirs").click()
        section.locator("[data-conflict='0'] .badge").wait_for()
        section.locator("[data-template-apply]").click()
        section.get_by_text("Upgraded to version 1.1.0.").wait_for()
        page.screenshot(path=str(screenshot_path("template_upgrade_done")), full_page=True)
        flows = api.call("GET", f"/api/v1/apps/{app_id}/draft")["definition"]["flows"]
        assert flows[0]["name"] == {"en": "Their triage"}
        assert api.call("GET", f"/api/v1/templates/apps/{app_id}")["version"] == "1.1.0"
        assert page.errors == []
    finally:
        api.close()
