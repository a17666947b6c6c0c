"""The flow designer in Chromium: draw start → review → exclusive gateway (a condition from
the condition builder) → countersign (all of two signers approve) / the default branch → end,
with the properties set in our panel; save, publish, run one instance through the inbox as
the assignees; download the .bpmn and upload it again without loss."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.apps import Api
from tests.browser.conftest import screenshot_path
from tests.conftest import USER_PASSWORD
from tests.runtime.records.conftest import TICKET

DRAW = """() => {
  const m = window.tangram.flowModeler;
  const reg = m.get("elementRegistry"), modeling = m.get("modeling"), ef = m.get("elementFactory");
  const root = m.get("canvas").getRootElement();
  const shape = (type, x, y) => modeling.createShape(ef.createShape({ type }), { x, y }, root);
  const start = reg.get("start");
  const review = shape("bpmn:UserTask", 300, 178);
  const gateway = shape("bpmn:ExclusiveGateway", 450, 178);
  const sign = shape("bpmn:UserTask", 600, 100);
  const end = shape("bpmn:EndEvent", 760, 178);
  const e = (a, b) => modeling.connect(a, b).id;
  e(start, review); e(review, gateway);
  const big = e(gateway, sign), other = e(gateway, end);
  e(sign, end);
  return { review: review.id, gateway: gateway.id, sign: sign.id, end: end.id, big, other };
}"""


def select(page, element_id: str) -> None:
    page.evaluate(
        "(id) => { const m = window.tangram.flowModeler;"
        " m.get('selection').select(m.get('elementRegistry').get(id)); }",
        element_id,
    )
    page.wait_for_selector(f"[data-flow-props][data-element='{element_id}']")


def approve(page, sign_in_as, live, username: str, task: str) -> None:
    page.context.clear_cookies()
    sign_in_as(page, username, USER_PASSWORD, next_url="/inbox")
    page.get_by_role("link", name=task).first.click()
    page.get_by_role("button", name="Approve").click()
    page.get_by_text("You approved.").wait_for()


@pytest.mark.both_databases
def test_draw_save_run_and_round_trip_a_flow(page, live, sign_in_as, tmp_path: Path):
    admin = live.create_admin()
    for name in ("ann", "bob", "cat"):
        live.create_user(name, USER_PASSWORD)
    api = Api(live.url, admin.username, admin.password)
    try:
        api.publish_app("desk", {"en": "Desk"}, [TICKET])
        app_id = next(a["id"] for a in api.call("GET", "/api/v1/apps") if a["key"] == "desk")
        sign_in_as(page, admin.username, admin.password, next_url="/build/apps/desk/flows")
        page.get_by_label("Flow key").fill("approval")
        page.get_by_label("Form").select_option("ticket")
        page.get_by_role("button", name="New flow").click()
        page.wait_for_selector("body[data-flow-ready]", state="attached")
        ids = page.evaluate(DRAW)

        # Saved before the tasks have assignees: the engine's problems, named on the diagram.
        page.get_by_role("button", name="Save flow").click()
        problems = page.locator("[data-flow-problems]")
        problems.locator(f"li[data-problem-element='{ids['review']}']").first.wait_for()
        assert page.locator(f"[data-element-id='{ids['review']}'].flow-problem").count() == 1
        problems.get_by_role("button", name=f"Show {ids['review']}").click()
        page.wait_for_selector(f"[data-flow-props][data-element='{ids['review']}']")
        page.screenshot(path=str(screenshot_path("flow_designer_problems")), full_page=True)

        props = page.locator("[data-flow-props]")
        select(page, ids["review"])
        props.locator("[data-prop=name]").fill("Review")
        props.locator("[data-prop=name]").press("Tab")
        props.locator("[data-prop=assignee-kind]").select_option("user")
        props.locator("[data-prop=assignee-key]").select_option("ann")
        props.locator("[data-field=amount]").select_option("readonly")

        select(page, ids["big"])
        props.get_by_role("button", name="Add condition").click()
        props.locator(".cond__row select").first.select_option("record.amount")
        props.locator(".cond__row select").nth(1).select_option(">")
        props.locator(".cond__row input").fill("100")
        props.locator(".cond__row input").press("Tab")
        select(page, ids["other"])
        props.locator("[data-prop=default]").check()

        select(page, ids["sign"])
        props.locator("[data-prop=name]").fill("Sign")
        props.locator("[data-prop=name]").press("Tab")
        props.locator("[data-prop=assignee-kind]").select_option("rule")
        props.locator("[data-prop=assignee-rule]").fill('{"merge": ["bob", "cat"]}')
        props.locator("[data-prop=assignee-rule]").press("Tab")
        props.locator("[data-prop=countersign-mode]").select_option("all")

        page.get_by_role("button", name="Save flow").click()
        page.wait_for_selector("body[data-flow-saved='1']", state="attached")
        flow = api.call("GET", f"/api/v1/apps/{app_id}/draft")["definition"]["flows"][0]
        nodes = {n["id"]: n for n in flow["nodes"]}
        assert flow["key"] == "approval" and flow["form"] == "ticket"
        assert nodes[ids["review"]]["assignee"]["kind"] == "user"
        assert nodes[ids["review"]]["assignee"]["key"] == "ann"
        assert nodes[ids["review"]]["fields"] == {"amount": "readonly"}
        assert nodes[ids["sign"]]["countersign"]["mode"] == "all"
        assert nodes[ids["sign"]]["assignee"]["rule"] == {"merge": ["bob", "cat"]}
        assert nodes[ids["gateway"]]["default"] == ids["other"]
        edges = {e["id"]: e for e in flow["edges"]}
        assert edges[ids["big"]]["condition"] == {">": [{"var": "record.amount"}, 100]}
        assert problems.is_hidden()
        select(page, ids["sign"])
        page.evaluate("() => window.tangram.flowModeler.get('canvas').zoom('fit-viewport')")
        page.screenshot(path=str(screenshot_path("flow_designer_saved")), full_page=True)

        # Download the .bpmn and upload it again: the same flow.
        with page.expect_download() as download:
            page.get_by_role("button", name="Download .bpmn").click()
        file = tmp_path / "approval.bpmn"
        download.value.save_as(file)
        assert "tangram:properties" in file.read_text()
        page.set_input_files("[data-flow-upload]", str(file))
        page.get_by_text("File loaded; save to keep it.").wait_for()
        page.get_by_role("button", name="Save flow").click()
        page.wait_for_selector("body[data-flow-saved='2']", state="attached")
        again = api.call("GET", f"/api/v1/apps/{app_id}/draft")
        assert again["definition"]["flows"] == [flow]

        api.call("POST", f"/api/v1/apps/{app_id}/publish", {"row_version": again["row_version"]})
        record = api.call(
            "POST",
            "/api/v1/records/desk/ticket",
            {"values": {"subject": "New laptop", "category": "repair", "amount": 500}},
        )
        instance = api.call(
            "POST", "/api/v1/apps/desk/flows/approval/instances", {"record_id": record["id"]}
        )
        approve(page, sign_in_as, live, "ann", "Review")
        approve(page, sign_in_as, live, "bob", "Sign")
        approve(page, sign_in_as, live, "cat", "Sign")
        page.goto(f"{live.url}/inbox/instances/{instance['id']}")
        assert page.locator(".flow-card__head .badge").inner_text() == "Finished"
        # The only console error is the refused first save (422, shown on the diagram).
        assert [e for e in page.errors if "status of 422" not in e] == []
    finally:
        api.close()


CALENDAR = {
    "key": "cn_9x5",
    "name": {"en": "Office 9x5", "zh-CN": "办公室 9x5"},
    "timezone": "Asia/Shanghai",
    "weekly": {str(day): [["09:00", "17:00"]] for day in range(5)},
}
DRAW_TIMER = """() => {
  const m = window.tangram.flowModeler;
  const reg = m.get("elementRegistry"), modeling = m.get("modeling"), ef = m.get("elementFactory");
  const root = m.get("canvas").getRootElement();
  const shape = (attrs, x, y) => modeling.createShape(ef.createShape(attrs), { x, y }, root);
  const task = shape({ type: "bpmn:UserTask" }, 300, 178);
  const wait = shape({ type: "bpmn:IntermediateCatchEvent",
    eventDefinitionType: "bpmn:TimerEventDefinition" }, 450, 178);
  const end = shape({ type: "bpmn:EndEvent" }, 600, 178);
  modeling.connect(reg.get("start"), task); modeling.connect(task, wait);
  modeling.connect(wait, end);
  return { task: task.id, wait: wait.id };
}"""


def desk_with_calendar(api: Api) -> int:
    api.publish_app("desk", {"en": "Desk"}, [TICKET])
    app_id = next(a["id"] for a in api.call("GET", "/api/v1/apps") if a["key"] == "desk")
    draft = api.call("GET", f"/api/v1/apps/{app_id}/draft")
    api.call(
        "PUT",
        f"/api/v1/apps/{app_id}/draft",
        {
            "row_version": draft["row_version"],
            "definition": {**draft["definition"], "calendars": [CALENDAR]},
        },
    )
    return app_id


def bo_value(page, element_id: str, expression: str):
    return page.evaluate(
        "([id, expr]) => { const bo = window.tangram.flowModeler.get('elementRegistry')"
        ".get(id).businessObject; return new Function('bo', 'return ' + expr)(bo); }",
        [element_id, expression],
    )


def test_business_hours_timer_problems_before_saving_and_undo(page, live, sign_in_as):
    admin = live.create_admin()
    live.create_user("ann", USER_PASSWORD)
    api = Api(live.url, admin.username, admin.password)
    try:
        app_id = desk_with_calendar(api)
        sign_in_as(
            page, admin.username, admin.password, next_url="/build/apps/desk/flows/sla?form=ticket"
        )
        page.wait_for_selector("body[data-flow-ready]", state="attached")
        ids = page.evaluate(DRAW_TIMER)

        # Checked while editing, before any save: the task without an assignee is marked.
        problems = page.locator("[data-flow-problems]")
        problems.locator(f"li[data-problem-element='{ids['task']}']").first.wait_for()
        page.locator(f"[data-element-id='{ids['task']}'].flow-problem").wait_for()
        assert page.locator("body[data-flow-saved]").count() == 0
        page.screenshot(path=str(screenshot_path("flow_designer_checked")), full_page=True)

        # The timer: PT2H in business hours on the draft's calendar.
        props = page.locator("[data-flow-props]")
        select(page, ids["wait"])
        props.locator("[data-prop=timer-duration]").fill("PT2H")
        props.locator("[data-prop=timer-duration]").press("Tab")
        calendar = props.locator("[data-prop=timer-calendar]")
        assert calendar.is_hidden()
        props.get_by_label("Count business hours only").check()
        calendar.select_option("cn_9x5")
        assert calendar.locator("option").all_inner_texts()[:2] == [
            "The app's default calendar",
            "Office 9x5 (cn_9x5)",
        ]
        extension = "JSON.parse(bo.extensionElements.values[0].body)"
        assert bo_value(page, ids["wait"], extension) == {
            "business_hours": True,
            "calendar": "cn_9x5",
        }

        # Panel edits are bpmn-js commands: the undo button takes them back one by one, and
        # the panel shows what is left; redo brings them back.
        page.get_by_role("button", name="Undo").click()
        page.wait_for_function(
            "() => document.querySelector('[data-prop=timer-calendar]').value === ''"
        )
        assert bo_value(page, ids["wait"], extension) == {"business_hours": True}
        page.get_by_role("button", name="Undo").click()
        page.wait_for_selector("[data-prop=timer-calendar]", state="hidden")
        assert not props.get_by_label("Count business hours only").is_checked()
        page.get_by_role("button", name="Redo").click()
        page.get_by_role("button", name="Redo").click()
        page.wait_for_function(
            "() => document.querySelector('[data-prop=timer-calendar]').value === 'cn_9x5'"
        )

        # Ctrl+Z in the panel (outside a text field) undoes a panel edit too.
        select(page, ids["task"])
        props.locator("[data-prop=assignee-kind]").select_option("user")
        props.locator("[data-prop=assignee-key]").select_option("ann")
        assert bo_value(page, ids["task"], extension)["assignee"] == {"kind": "user", "key": "ann"}
        props.locator("[data-prop=assignee-key]").press("Control+z")
        page.wait_for_function(
            "() => document.querySelector('[data-prop=assignee-key]').value === ''"
        )
        assert "key" not in bo_value(page, ids["task"], extension)["assignee"]
        props.locator("[data-prop=assignee-key]").select_option("ann")

        # With the assignee set the check finds nothing: the list and the markers go away.
        page.wait_for_selector("[data-flow-problems]", state="hidden")
        assert page.locator(".flow-problem").count() == 0
        page.get_by_role("button", name="Save flow").click()
        page.wait_for_selector("body[data-flow-saved='1']", state="attached")
        flow = api.call("GET", f"/api/v1/apps/{app_id}/draft")["definition"]["flows"][0]
        wait = next(n for n in flow["nodes"] if n["id"] == ids["wait"])
        assert {k: v for k, v in wait["timer"].items() if v is not None} == {
            "duration": "PT2H",
            "business_hours": True,
            "calendar": "cn_9x5",
        }
        select(page, ids["wait"])
        page.screenshot(path=str(screenshot_path("flow_designer_business_hours")), full_page=True)
        assert page.errors == []
    finally:
        api.close()


@pytest.mark.parametrize("locale", ["zh-CN"])
def test_problems_are_shown_in_the_users_language(page, live, sign_in_as):
    admin = live.create_admin()
    api = Api(live.url, admin.username, admin.password)
    try:
        desk_with_calendar(api)
        sign_in_as(
            page, admin.username, admin.password, next_url="/build/apps/desk/flows/zh?form=ticket"
        )
        page.wait_for_selector("body[data-flow-ready]", state="attached")
        problems = page.locator("[data-flow-problems]")
        problems.get_by_text("流程需要一个结束事件").wait_for()
        ids = page.evaluate(DRAW_TIMER)
        select(page, ids["wait"])
        page.get_by_label("仅计算工作时间").check()
        page.locator("[data-prop=timer-calendar]").select_option("cn_9x5")
        task = problems.locator(f"li[data-problem-element='{ids['task']}']").first
        task.get_by_text("人工任务需要处理人（由谁办理），请在设计器中设置").wait_for()
        assert problems.get_by_text("流程需要一个结束事件").count() == 0
        page.get_by_role("button", name="保存流程").click()
        page.get_by_text("请先修正上面列出的问题，然后再保存。").wait_for()
        page.screenshot(path=str(screenshot_path("flow_designer_problems_zh")), full_page=True)
        assert page.errors == []
    finally:
        api.close()
