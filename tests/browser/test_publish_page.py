"""The publish page in Chromium: the plan of a changed draft in words, publishing with
progress, the new version live in the history, and a rollback to the first version."""

from __future__ import annotations

import copy

import pytest

from tests.browser.apps import Api
from tests.runtime.records.conftest import TICKET


@pytest.mark.worker
def test_publish_a_changed_draft_and_roll_back(page, live, sign_in_as):
    admin = live.create_admin()
    api = Api(live.url, admin.username, admin.password)
    try:
        api.publish_app("desk", {"en": "Desk"}, [TICKET])
        app_id = next(a["id"] for a in api.call("GET", "/api/v1/apps") if a["key"] == "desk")
        draft = api.call("GET", f"/api/v1/apps/{app_id}/draft")
        definition = copy.deepcopy(draft["definition"])
        form = definition["forms"][0]
        form["fields"].append(
            {
                "id": form["next_field_id"],
                "key": "reason",
                "type": "text",
                "label": {"en": "Reason"},
            }
        )
        form["next_field_id"] += 1
        api.call(
            "PUT",
            f"/api/v1/apps/{app_id}/draft",
            {"row_version": draft["row_version"], "definition": definition},
        )

        sign_in_as(page, admin.username, admin.password, next_url="/build/apps/desk/publish")
        assert page.locator(".badge--changed").first.is_visible()
        page.wait_for_selector("[data-publish-checks] .alert--success")
        plan = page.locator("[data-publish-plan]")
        plan.locator(".publish-list li").first.wait_for()
        assert "adds field Reason" in plan.inner_text()
        page.locator("tr[data-version='1'] [data-diff]").click()
        page.wait_for_selector("[data-diff-result] li")
        assert "Reason" in page.locator("[data-diff-result]").inner_text()
        page.get_by_label("Note for the version history").fill("adds a reason")
        page.get_by_role("button", name="Publish", exact=True).click()
        page.wait_for_selector("[data-publish-result] .alert--success")
        page.wait_for_selector("tr[data-version='2'] .badge--published")
        assert "adds a reason" in page.locator("tr[data-version='2']").inner_text()
        assert page.locator(".badge--published").first.is_visible()

        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("tr[data-version='1'] [data-rollback]").click()
        page.wait_for_selector("tr[data-version='3'] .badge--published")
        versions = api.call("GET", f"/api/v1/apps/{app_id}/versions")
        assert versions[0]["number"] == 3 and "rollback" in versions[0]["note"]
        published = api.call("GET", f"/api/v1/apps/{app_id}/draft")["definition"]["forms"][0]
        assert "reason" not in [f["key"] for f in published["fields"]]
        assert page.errors == []
    finally:
        api.close()
