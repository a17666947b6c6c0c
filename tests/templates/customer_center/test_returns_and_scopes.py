"""Return requests through the approval flow (the amount branch and the countersign of
warehouse and finance, service tasks run by a worker), and the department manager's view:
their department's rows only, in lists, search and dashboards (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from tests.runtime.flows.conftest import working
from tests.support.jobs import eventually
from tests.templates.customer_center.conftest import Center

LINES = [
    {"sku": "KT-1700", "product": "电热水壶", "quantity": 2, "unit_price": "199.00"},
    {"sku": "CP-0042", "product": "陶瓷杯", "quantity": 4, "unit_price": "25.00"},
]


async def offered(center: Center, who: str, box: str, record_id: int) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]] | None:
        found = [t for t in await center.tasks(who, box) if t["record_id"] == record_id]
        return found or None

    return list(await eventually(probe, message=f"a task for {who}"))


async def complete(center: Center, who: str, task_id: int, action: str = "approve") -> None:
    done = await center.client.post(
        f"/api/v1/tasks/{task_id}/complete",
        json={"action": action},
        headers=center.people[who].headers,
    )
    assert done.status_code == 200, done.text


async def claim(center: Center, who: str, task_id: int) -> None:
    claimed = await center.client.post(
        f"/api/v1/tasks/{task_id}/claim", headers=center.people[who].headers
    )
    assert claimed.status_code == 200, claimed.text


async def instance(center: Center, instance_id: int) -> dict[str, Any]:
    got = await center.client.get(
        f"/api/v1/flow-instances/{instance_id}", headers=center.admin.headers
    )
    assert got.status_code == 200, got.text
    return dict(got.json())


async def big_return(center: Center, order: str, amount: str) -> dict[str, Any]:
    return await center.create(
        "sam",
        "return_request",
        order_number=order,
        reason="整批货物破损",
        amount=amount,
        lines=LINES,
    )


async def test_small_returns_need_the_warehouse_only(center: Center, sessions, settings):
    small = await center.create(
        "sam",
        "return_request",
        order_number="SO-2026-11-0815",
        reason="壶身漏水",
        amount="498.00",
        lines=LINES,
    )
    [task] = await offered(center, "wes", "group", small["id"])
    assert task["flow"] == "return_approval" and task["node"] == "warehouse_check"
    assert [t for t in await center.tasks("fay", "group") if t["record_id"] == small["id"]] == []
    async with working(sessions, settings):
        await complete(center, "wes", task["id"])
        await center.until(small["id"], lambda v: v["status"] == "approved", "return_request")


async def test_big_returns_are_countersigned_by_warehouse_and_finance(
    center: Center, sessions, settings
):
    big = await big_return(center, "SO-2026-11-0901", "12800.00")
    # 会签: one signer from each group — the warehouse's task and finance's task, each
    # claimed by a member of that group.
    [wes_task] = await offered(center, "wes", "group", big["id"])
    [fay_task] = await offered(center, "fay", "group", big["id"])
    assert {wes_task["node"], fay_task["node"]} == {"countersign"}
    assert wes_task["id"] != fay_task["id"]
    assert [t["id"] for t in await center.tasks("sam", "group")] == []
    await claim(center, "wes", wes_task["id"])
    await claim(center, "fay", fay_task["id"])
    async with working(sessions, settings):
        await complete(center, "wes", wes_task["id"])
        # One signature is not enough: the request waits for finance.
        assert (await center.values(big["id"], "return_request"))["status"] == "submitted"
        await complete(center, "fay", fay_task["id"])
        await center.until(big["id"], lambda v: v["status"] == "approved", "return_request")
    assert (await instance(center, fay_task["instance_id"]))["status"] == "completed"


async def test_a_rejected_return_ends_as_rejected(center: Center, sessions, settings):
    big = await big_return(center, "SO-2026-11-0902", "1000.01")
    [fay_task] = await offered(center, "fay", "group", big["id"])
    [wes_task] = await offered(center, "wes", "group", big["id"])
    await claim(center, "fay", fay_task["id"])
    async with working(sessions, settings):
        await complete(center, "fay", fay_task["id"], "reject")
        # One rejection decides: the request is rejected, the warehouse's task withdrawn.
        await center.until(big["id"], lambda v: v["status"] == "rejected", "return_request")
    detail = await instance(center, fay_task["instance_id"])
    assert detail["status"] == "completed" and detail["variables"]["outcome"] == "rejected"
    assert [t for t in await center.tasks("wes", "group") if t["id"] == wes_task["id"]] == []

    small = await center.create(
        "sam",
        "return_request",
        order_number="SO-2026-11-0903",
        reason="不想要了",
        amount="99.00",
        lines=LINES,
    )
    [task] = await offered(center, "wes", "group", small["id"])
    async with working(sessions, settings):
        await complete(center, "wes", task["id"], "reject")
        await center.until(small["id"], lambda v: v["status"] == "rejected", "return_request")


async def test_the_department_manager_sees_their_department_only(center: Center):
    support = [
        await center.create("sam", "ticket", subject="打印机 卡纸", category="repair"),
        await center.create("sue", "ticket", subject="打印机 缺墨", category="repair"),
    ]
    sales = await center.create("cara", "ticket", subject="打印机 报价", category="consult")
    every = {t["id"] for t in [*support, sales]}
    mine = {t["id"] for t in support}

    assert {r["id"] for r in await center.listed("dan")} == mine
    assert {r["id"] for r in await center.listed("dan", q="打印机")} == mine
    assert {r["id"] for r in await center.listed("eve", q="打印机")} == every
    denied = await center.client.get(
        f"{center.url('ticket')}/{sales['id']}", headers=center.people["dan"].headers
    )
    assert denied.status_code == 404

    volume = await center.widget("dan", "department", "volume")
    assert volume["value"]["n"] == 2
    everyone = await center.widget("eve", "executive", "by_department")
    counts = {row["department"]: row["n"] for row in everyone["rows"]}
    assert counts == {center.departments["SUPPORT"]: 2, center.departments["SALES"]: 1}
    own = await center.widget("dan", "executive", "by_department")
    assert {row["department"]: row["n"] for row in own["rows"]} == {
        center.departments["SUPPORT"]: 2
    }
