"""The form designer in Chromium: an admin adds a form to a new app, drags field types (one a
sub-table with a column) onto the canvas, names them, adds a linkage rule (show B only when
select A is x) with the condition builder, saves and publishes; an end user then sees the
linkage hide and show the field and saves a record."""

from __future__ import annotations

import pytest

from tests.browser.apps import Api
from tests.browser.conftest import screenshot_path
from tests.runtime.records.conftest import EVERYONE

TIMEOUT_MS = 10_000


def drag(page, type_name: str) -> None:
    """Drag the palette's ``type_name`` onto the end of the canvas's first section."""
    before = page.locator(".fd__field").count()
    source = page.locator(f'.fd__type[data-type="{type_name}"]')
    target = page.locator('[data-section="0"]')
    source.drag_to(
        target, target_position={"x": 40, "y": max(10, target.bounding_box()["height"] - 8)}
    )
    page.wait_for_function(
        f"document.querySelectorAll('.fd__field').length > {before}", timeout=TIMEOUT_MS
    )


def name_selected(page, key: str, label: str) -> None:
    props = page.locator("[data-props]")
    props.locator('[data-prop="key"]').fill(key)
    props.locator('[data-prop="key"]').press("Tab")
    page.wait_for_selector(f'[data-field-key="{key}"]', timeout=TIMEOUT_MS)
    props.locator('[data-prop="label-en"]').fill(label)
    props.locator('[data-prop="label-en"]').press("Tab")
    page.wait_for_selector(f'[data-field-key="{key}"] >> text="{label}"', timeout=TIMEOUT_MS)


@pytest.mark.both_databases
def test_design_a_form_publish_it_and_fill_it(page, live, sign_in_as):
    admin = live.create_admin()
    user = live.create_user("ursula")
    api = Api(live.url, admin.username, admin.password)
    try:
        app = api.call("POST", "/api/v1/apps", {"key": "crm", "name": {"en": "CRM"}}, expect=201)
        sign_in_as(page, admin.username, admin.password, next_url="/build/apps/crm/forms")
        page.get_by_label("Form key").fill("lead")
        page.get_by_label("Name (English)").fill("Lead")
        page.get_by_role("button", name="Add form").click()
        page.wait_for_url("**/build/apps/crm/forms/lead", timeout=TIMEOUT_MS)
        page.wait_for_selector("[data-draft-status][data-state=saved]")

        drag(page, "select")
        name_selected(page, "kind", "Kind")
        props = page.locator("[data-props]")
        props.locator('[data-option-value="0"]').fill("x")
        props.locator('[data-option-value="0"]').press("Tab")
        props.locator('[data-option-value="1"]').fill("y")
        props.locator('[data-option-value="1"]').press("Tab")
        for index, text in enumerate(["Excellent", "Yawn"]):
            props.locator(f'[data-option-label="{index}"]').fill(text)
            props.locator(f'[data-option-label="{index}"]').press("Tab")

        drag(page, "text")
        name_selected(page, "detail", "Detail")
        # Linkage: Detail is visible only when Kind is x.
        visible = props.locator('[data-linkage-kind="visible"]')
        visible.get_by_role("button", name="Add condition").click()
        visible.get_by_label("Field", exact=True).select_option("kind")
        visible.get_by_label("Value", exact=True).select_option("x")
        drag(page, "integer")
        name_selected(page, "qty", "Quantity")
        drag(page, "date")
        name_selected(page, "due", "Due date")
        drag(page, "subtable")
        name_selected(page, "items", "Items")
        props.locator('[data-column-key="0"]').fill("product")
        props.locator('[data-column-key="0"]').press("Tab")
        props.locator('[data-column-label="0"]').fill("Product")
        props.locator('[data-column-label="0"]').press("Tab")
        # The keyboard alternative: a palette type's Add button, then move it up.
        page.get_by_role("button", name="Add: Email").click()
        name_selected(page, "email", "Email")
        page.get_by_role("button", name="Move up: email").click()
        keys = page.locator("[data-field-key]").evaluate_all(
            "nodes => nodes.map(n => n.getAttribute('data-field-key'))"
        )
        assert keys == ["kind", "detail", "qty", "due", "email", "items"]

        # The preview uses the end users' linkage code.
        page.get_by_role("button", name="Refresh preview").click()
        preview = page.locator("[data-preview]")
        preview.locator("#f-detail").wait_for(state="attached", timeout=TIMEOUT_MS)
        preview.get_by_label("Excellent", exact=True).check()
        preview.locator("#f-detail").wait_for(state="visible", timeout=TIMEOUT_MS)
        preview.get_by_label("Yawn", exact=True).check()
        preview.locator("#f-detail").wait_for(state="hidden", timeout=TIMEOUT_MS)

        # A 422 from the server is shown next to the offending field.
        page.locator('[data-select-field="qty"]').click()
        props.locator('[data-prop="key"]').fill("owner")
        props.locator('[data-prop="key"]').press("Tab")
        page.get_by_role("button", name="Save draft").click()
        page.locator('[data-field-key="owner"] .fd__errors').wait_for(timeout=TIMEOUT_MS)
        assert "fields[2].key" in page.locator('[data-field-key="owner"] .fd__errors').inner_text()
        name_selected(page, "qty", "Quantity")

        page.get_by_role("button", name="Undo").click()
        page.get_by_role("button", name="Redo").click()
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_selector("[data-draft-status][data-state=saved]", timeout=TIMEOUT_MS)

        base = f"/api/v1/apps/{app['id']}"
        draft = api.call("GET", f"{base}/draft")
        lead = draft["definition"]["forms"][0]
        by_key = {f["key"]: f for f in lead["fields"]}
        assert [f["type"] for f in lead["fields"]] == [
            "select",
            "text",
            "integer",
            "date",
            "subtable",
            "email",
        ]
        assert by_key["detail"]["linkage"]["visible"] == {"==": [{"var": "kind"}, "x"]}
        assert [c["key"] for c in by_key["items"]["options"]["fields"]] == ["product"]
        ids = [f["id"] for f in lead["fields"]] + [by_key["items"]["options"]["fields"][0]["id"]]
        assert len(set(ids)) == len(ids) and lead["next_field_id"] > max(ids)
        definition = {**draft["definition"], "permissions": EVERYONE}
        saved = api.call(
            "PUT", f"{base}/draft", {"row_version": draft["row_version"], "definition": definition}
        )
        api.call("POST", f"{base}/publish", {"row_version": saved["row_version"]})
        page.screenshot(path=str(screenshot_path("test_form_designer_canvas")), full_page=True)

        page.goto("about:blank")  # leave the designer (its checks) before signing out
        page.context.clear_cookies()
        sign_in_as(page, user.username, user.password, next_url="/apps/crm/forms/lead/new")
        detail = page.locator("#f-detail")
        page.get_by_label("Yawn", exact=True).check()
        detail.wait_for(state="hidden", timeout=TIMEOUT_MS)
        page.get_by_label("Excellent", exact=True).check()
        detail.wait_for(state="visible", timeout=TIMEOUT_MS)
        detail.fill("Wants a quote")
        page.fill("#f-qty", "3")
        page.click("button.button--primary")
        page.wait_for_url("**/apps/crm/forms/lead/records/*", timeout=TIMEOUT_MS)
        # Chromium logs the refused save (422) above; nothing else.
        assert [e for e in page.errors if "status of 422" not in e] == []
        records = api.call("GET", "/api/v1/records/crm/lead")
        values = records["items"][0]["values"]
        assert values["kind"] == "x" and values["detail"] == "Wants a quote" and values["qty"] == 3
    finally:
        api.close()


def test_check_preview_relations_column_labels_and_linkage_values(page, live, sign_in_as):
    """Problems show at the field before saving; the preview's relation picker searches the
    published target form; a sub-table column gets a Chinese label a zh-CN user then sees; a
    linkage sets a typed value."""
    admin = live.create_admin()
    user = live.create_user("zhou", locale="zh-CN")
    api = Api(live.url, admin.username, admin.password)
    try:
        customer = {
            "key": "customer",
            "label": {"en": "Customer"},
            "title_field": "name",
            "fields": [{"id": 1, "key": "name", "type": "text", "label": {"en": "Name"}}],
            "next_field_id": 2,
        }
        ids = api.publish_app("shop", {"en": "Shop"}, [customer])
        api.call("POST", "/api/v1/records/shop/customer", {"values": {"name": "ACME"}})
        api.call("POST", "/api/v1/records/shop/customer", {"values": {"name": "Globex"}})
        app = next(a for a in api.call("GET", "/api/v1/apps") if a["key"] == "shop")
        base = f"/api/v1/apps/{app['id']}"
        draft = api.call("GET", f"{base}/draft")
        api.call(
            "POST",
            f"{base}/forms",
            {"key": "order", "label": {"en": "Order"}, "row_version": draft["row_version"]},
        )
        sign_in_as(page, admin.username, admin.password, next_url="/build/apps/shop/forms/order")
        page.wait_for_selector("[data-draft-status][data-state=saved]")
        props = page.locator("[data-props]")

        # A reserved key is shown at the field while editing, before any save.
        page.get_by_role("button", name="Add: Single line text").click()
        name_selected(page, "owner", "Owner")
        problem = page.locator('[data-field-key="owner"] .fd__errors')
        problem.wait_for(timeout=TIMEOUT_MS)
        assert "reserved for a system column" in problem.inner_text()
        assert "reserved for a system column" in props.locator(".fd__errors").inner_text()
        assert page.locator("[data-draft-status]").get_attribute("data-state") == "dirty"
        name_selected(page, "title", "Title")
        problem.wait_for(state="detached", timeout=TIMEOUT_MS)
        page.locator('[data-field-key="title"] .fd__errors').wait_for(
            state="detached", timeout=TIMEOUT_MS
        )

        # A relation to the published customer form: its picker searches in the preview.
        page.get_by_role("button", name="Add: Relation (one record)").click()
        name_selected(page, "buyer", "Buyer")
        props.locator('[data-prop="form_id"]').select_option(str(ids["customer"]))

        # A sub-table column with a Chinese label and the field panel's settings.
        page.get_by_role("button", name="Add: Sub-table").click()
        name_selected(page, "lines", "Lines")
        column = props.locator('[data-column="0"]')
        column.locator('[data-column-key="0"]').fill("product")
        column.locator('[data-column-key="0"]').press("Tab")
        column = props.locator('[data-column="0"]')
        column.locator('[data-column-prop="label-en"]').fill("Product")
        column.locator('[data-column-prop="label-en"]').press("Tab")
        column.locator('[data-column-prop="label-zh-CN"]').fill("产品")
        column.locator('[data-column-prop="label-zh-CN"]').press("Tab")
        column.locator('[data-column-prop="required"]').check()

        # Linkage: qty is set to 5 when the title is "rush".
        page.get_by_role("button", name="Add: Integer").click()
        name_selected(page, "qty", "Quantity")
        value = props.locator('[data-linkage-kind="value"]')
        value.locator("[data-linkage-value]").fill("5")
        value.locator("[data-linkage-value]").press("Tab")
        when = props.locator('[data-linkage-kind="value-when"]')
        when.get_by_role("button", name="Add condition").click()
        when.get_by_label("Field", exact=True).select_option("title")
        when.get_by_label("Value", exact=True).fill("rush")
        when.get_by_label("Value", exact=True).press("Tab")

        with page.expect_response("**/forms/order/preview"):
            page.get_by_role("button", name="Refresh preview").click()
        preview = page.locator("[data-preview]")
        picker = preview.locator("#f-buyer")
        picker.wait_for(timeout=TIMEOUT_MS)
        picker.fill("acme")
        # The search (q=acme) leaves out the other customer.
        preview.locator(".combobox__option", has_text="Globex").wait_for(
            state="detached", timeout=TIMEOUT_MS
        )
        option = preview.get_by_role("option", name="ACME")
        option.wait_for(timeout=TIMEOUT_MS)
        option.click()
        assert picker.input_value() == "ACME"
        preview.locator("#f-title").fill("rush")
        page.wait_for_function(
            "document.querySelector('[data-preview] #f-qty').value === '5'", timeout=TIMEOUT_MS
        )
        page.screenshot(path=str(screenshot_path("test_form_designer_preview")), full_page=True)

        page.get_by_role("button", name="Save draft").click()
        page.wait_for_selector("[data-draft-status][data-state=saved]", timeout=TIMEOUT_MS)
        draft = api.call("GET", f"{base}/draft")
        order = next(f for f in draft["definition"]["forms"] if f["key"] == "order")
        by_key = {f["key"]: f for f in order["fields"]}
        assert by_key["qty"]["linkage"]["value"] == {
            "if": [{"==": [{"var": "title"}, "rush"]}, 5, None]
        }
        product = by_key["lines"]["options"]["fields"][0]
        assert product["label"] == {"en": "Product", "zh-CN": "产品"} and product["required"]
        assert by_key["buyer"]["options"]["form_id"] == ids["customer"]
        saved = api.call(
            "PUT",
            f"{base}/draft",
            {
                "row_version": draft["row_version"],
                "definition": {**draft["definition"], "permissions": EVERYONE},
            },
        )
        api.call("POST", f"{base}/publish", {"row_version": saved["row_version"]})

        page.goto("about:blank")  # leave the designer (its checks) before signing out
        page.context.clear_cookies()
        sign_in_as(page, user.username, user.password, next_url="/apps/shop/forms/order/new")
        header = page.locator('[data-field="lines"] th').first
        assert header.inner_text().strip().startswith("产品")
        # Chromium logs the preview refused (422) while the key was reserved; nothing else.
        assert [e for e in page.errors if "status of 422" not in e] == []
    finally:
        api.close()


def test_configure_a_forms_overview(page, live, sign_in_as):
    """The overview panel: a timeline source and a key figure over a form whose relation
    points at this one, a problem shown at the figure while editing, saved to the draft."""
    admin = live.create_admin()
    api = Api(live.url, admin.username, admin.password)
    try:
        customer = {
            "key": "customer",
            "label": {"en": "Customer"},
            "title_field": "name",
            "fields": [{"id": 1, "key": "name", "type": "text", "label": {"en": "Name"}}],
        }
        ids = api.publish_app("shop", {"en": "Shop"}, [customer])
        app = next(a for a in api.call("GET", "/api/v1/apps") if a["key"] == "shop")
        base = f"/api/v1/apps/{app['id']}"
        draft = api.call("GET", f"{base}/draft")
        draft = api.call(
            "POST",
            f"{base}/forms",
            {"key": "order", "label": {"en": "Order"}, "row_version": draft["row_version"]},
        )
        order = {
            "id": next(f["id"] for f in draft["definition"]["forms"] if f["key"] == "order"),
            "key": "order",
            "label": {"en": "Order"},
            "title_field": "subject",
            "fields": [
                {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
                {
                    "id": 2,
                    "key": "customer",
                    "type": "relation",
                    "label": {"en": "Customer"},
                    "options": {"form_id": ids["customer"]},
                },
                {"id": 3, "key": "amount", "type": "currency", "label": {"en": "Amount"}},
            ],
        }
        forms = [f for f in draft["definition"]["forms"] if f["key"] != "order"] + [order]
        api.call(
            "PUT",
            f"{base}/draft",
            {
                "row_version": draft["row_version"],
                "definition": {**draft["definition"], "forms": forms},
            },
        )
        sign_in_as(page, admin.username, admin.password, next_url="/build/apps/shop/forms/customer")
        page.wait_for_selector("[data-draft-status][data-state=saved]")
        panel = page.locator("[data-overview]")
        panel.get_by_role("button", name="Add a timeline source").click()
        source = panel.locator('[data-overview-source="0"]')
        assert source.get_by_label("Form", exact=True).input_value() == "order"
        assert source.get_by_label("Through its relation").input_value() == "customer"
        source.get_by_label("Subject").check()
        source.get_by_label("Amount").check()
        panel.get_by_role("button", name="Add a key figure").click()
        figure = panel.locator('[data-overview-figure="0"]')
        figure.get_by_label("Aggregation").select_option("sum")
        figure = panel.locator('[data-overview-figure="0"]')
        figure.get_by_label("Of field").select_option("amount")
        # A bad key is shown at the figure while editing.
        figure.get_by_label("Figure key").fill("Bad Key")
        figure.get_by_label("Figure key").press("Tab")
        problem = panel.locator('[data-overview-figure="0"] .fd__errors')
        problem.wait_for(timeout=TIMEOUT_MS)
        figure.get_by_label("Figure key").fill("spent")
        figure.get_by_label("Figure key").press("Tab")
        problem.wait_for(state="detached", timeout=TIMEOUT_MS)
        figure.get_by_label("Label (English)").fill("Spent")
        figure.get_by_label("Label (English)").press("Tab")
        page.get_by_role("button", name="Save draft").click()
        page.wait_for_selector("[data-draft-status][data-state=saved]", timeout=TIMEOUT_MS)
        saved = api.call("GET", f"{base}/draft")["definition"]
        overview = next(f for f in saved["forms"] if f["key"] == "customer")["overview"]
        assert overview["sources"] == [
            {
                "form": "order",
                "via": "customer",
                "label": {},
                "title": None,
                "fields": ["subject", "amount"],
                "time": "created_at",
            }
        ]
        [spent] = overview["figures"]
        assert {k: spent[k] for k in ("key", "label", "form", "via", "agg", "field")} == {
            "key": "spent",
            "label": {"en": "Spent"},
            "form": "order",
            "via": "customer",
            "agg": "sum",
            "field": "amount",
        }
        assert spent.get("filter") is None
        page.screenshot(path=str(screenshot_path("test_form_designer_overview")), full_page=True)
        assert [e for e in page.errors if "status of 422" not in e] == []
    finally:
        api.close()
