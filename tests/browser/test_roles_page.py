"""The roles and permissions page in Chromium: add a role and a grant with a field right and
a condition scope through the page, save the draft, undo and redo, and publish it."""

from __future__ import annotations

from tests.browser.apps import Api
from tests.runtime.records.conftest import TICKET


def test_grant_a_role_form_field_and_row_rights(page, live, sign_in_as):
    admin = live.create_admin()
    alice = live.create_user("alice")
    api = Api(live.url, admin.username, admin.password)
    try:
        api.publish_app("desk", {"en": "Desk"}, [TICKET])
        app_id = next(a["id"] for a in api.call("GET", "/api/v1/apps") if a["key"] == "desk")
        sign_in_as(page, admin.username, admin.password, next_url="/build/apps/desk/roles")
        page.wait_for_selector("[data-draft-status][data-state=saved]")

        page.get_by_role("button", name="Add role").click()
        role = page.locator(".perm-role").last
        role.get_by_label("Role key").fill("agent")
        role.get_by_label("Role key").press("Tab")
        role.get_by_label("Name (English)").fill("Agent")
        role.get_by_label("Name (English)").press("Tab")

        page.get_by_role("button", name="Add grant").click()
        grant = page.locator(".perm-grant").last
        grant.locator("[data-grantee-kind]").select_option("role")
        grant = page.locator(".perm-grant").last
        grant.locator("[data-grantee-key]").select_option("agent")
        grant.locator("[data-grant-form]").select_option("ticket")
        grant = page.locator(".perm-grant").last
        grant.locator("[data-action=update]").check()
        grant.locator("[data-field-right=amount]").select_option("hidden")
        grant.locator("[data-grant-scope]").select_option("rule")
        grant = page.locator(".perm-grant").last
        rule = grant.locator("[data-grant-rule]")
        # The default scope (owner is the current user) is JsonLogic only: shown open as JSON.
        assert rule.locator("details").get_attribute("open") is not None
        rule.locator(".cond__json").fill('{"==": [{"var": "category"}, "repair"]}')
        rule.locator(".cond__json").press("Tab")
        # The visual builder shows the parsed condition.
        page.wait_for_selector("[data-grant-rule] .cond__row")
        assert rule.locator(".cond__row select").first.input_value() == "category"

        page.get_by_role("button", name="Undo").click()
        page.get_by_role("button", name="Redo").click()
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_selector("[data-draft-status][data-state=saved]")

        draft = api.call("GET", f"/api/v1/apps/{app_id}/draft")["definition"]
        assert draft["roles"][-1] == {"key": "agent", "name": {"en": "Agent"}}
        saved = draft["permissions"][-1]
        assert saved["grantee"] == {"kind": "role", "key": "agent", "include_children": False}
        assert saved["form"] == "ticket"
        assert saved["actions"] == ["read", "update"]
        assert saved["fields"] == {"amount": "hidden"}
        assert saved["scope"] == "rule"
        assert saved["rule"] == {"==": [{"var": "category"}, "repair"]}
        row_version = api.call("GET", f"/api/v1/apps/{app_id}/draft")["row_version"]
        api.call("POST", f"/api/v1/apps/{app_id}/publish", {"row_version": row_version})
        page.reload()
        page.wait_for_selector("[data-draft-status][data-state=saved]")
        assert page.locator(".badge--published").count() >= 1

        # View as user: a member of no role reads every ticket (the everyone grant) but
        # cannot design.
        page.get_by_label("User", exact=True).select_option(str(alice.id))
        row = page.locator("[data-preview-form=ticket]")
        row.wait_for()
        assert "✓" in row.inner_text()
        assert page.errors == []
    finally:
        api.close()
