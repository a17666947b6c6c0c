"""The publish plan in plain words (zh-CN and English), kept-value counts, the parts that
change against the published version, and version diffs — on both databases."""

from __future__ import annotations

from tests.builder.test_apps import insert_row
from tests.runtime.records.conftest import publish_app

ZH = {"Accept-Language": "zh-CN"}


def _returns(ids: dict[str, int]) -> list[dict]:
    return [
        {
            "id": ids["returns"],
            "key": "returns",
            "label": {"en": "Return request", "zh-CN": "退货申请"},
            "fields": [
                {"id": 1, "key": "subject", "type": "text", "label": {"en": "Subject"}},
                {
                    "id": 2,
                    "key": "amount",
                    "type": "currency",
                    "label": {"en": "Amount", "zh-CN": "金额"},
                },
                {
                    "id": 3,
                    "key": "old_code",
                    "type": "text",
                    "label": {"en": "Old code", "zh-CN": "旧编号"},
                },
            ],
        }
    ]


async def _app_with_rows(client, admin, sessions):
    app = await publish_app(client, admin, "shop", ["returns"], _returns)
    form = (await app.draft())["definition"]["forms"][0]
    for amount, code in (("12.00", "A-1"), ("3.00", "A-2"), ("7.25", None)):
        await insert_row(sessions, form, {"f_1": "x", "f_2": amount, "f_3": code})
    return app, form


async def _change(client, admin, app, form):
    """The draft: add 退货原因, drop 旧编号, make 金额 whole numbers; add a role and a
    dashboard; change the permissions."""
    draft = await app.draft()
    fields = [
        form["fields"][0],
        {**form["fields"][1], "type": "decimal", "options": {"scale": 0}},
        {"id": 4, "key": "reason", "type": "text", "label": {"en": "Reason", "zh-CN": "退货原因"}},
    ]
    definition = {
        **draft["definition"],
        "forms": [{**form, "fields": fields}],
        "roles": [{"key": "clerk", "name": {"en": "Clerk", "zh-CN": "文员"}}],
        "dashboards": [
            {
                "key": "ops",
                "title": {"en": "Operations", "zh-CN": "运营"},
                "widgets": [
                    {
                        "key": "n",
                        "chart": "kpi",
                        "form": "returns",
                        "measures": [{"key": "n", "agg": "count"}],
                    }
                ],
            }
        ],
    }
    saved = await client.put(
        f"{app.base}/draft",
        json={"row_version": draft["row_version"], "definition": definition},
        headers=admin.headers,
    )
    assert saved.status_code == 200, saved.text


async def test_the_plan_speaks_plain_words(client, admin, sessions):
    app, form = await _app_with_rows(client, admin, sessions)
    await _change(client, admin, app, form)

    plan = await client.get(f"{app.base}/draft/plan", headers={**admin.headers, **ZH})
    assert plan.status_code == 200, plan.text
    body = plan.json()
    summaries = [op["summary"] for op in body["operations"]]
    assert "在 退货申请 中新增字段 退货原因" in summaries
    assert "归档 退货申请 的字段 旧编号（保留 2 个值）" in summaries
    assert "将 退货申请 中的 金额 由金额改为小数" in summaries
    archive = next(op for op in body["operations"] if op["op"] == "archive_field")
    assert archive["values"] == 2
    [blocker] = body["blockers"]
    assert blocker["summary"] == "无法将 金额 改为小数：1 行含有小数"
    assert body["published_version"] == 1
    assert "新增角色 文员" in body["summary"]
    assert "新增仪表盘 运营" in body["summary"]
    assert [r["key"] for r in body["parts"]["roles"]["added"]] == ["clerk"]
    [changed] = body["parts"]["forms"]["changed"]
    assert [f["key"] for f in changed["fields"]["added"]] == ["reason"]
    assert [f["key"] for f in changed["fields"]["removed"]] == ["old_code"]
    assert changed["fields"]["changed"][0]["changes"] == ["type", "options"]

    english = (await client.get(f"{app.base}/draft/plan", headers=admin.headers)).json()
    words = [op["summary"] for op in english["operations"]]
    assert "adds field Reason to Return request" in words
    assert "archives field Old code of Return request (2 values kept)" in words
    assert english["blockers"][0]["summary"] == (
        "refuses to change Amount to decimal: 1 row has decimals"
    )
    assert "adds role Clerk" in english["summary"]


async def test_purge_counts_what_is_lost(client, admin, sessions):
    app, form = await _app_with_rows(client, admin, sessions)
    draft = await app.draft()
    saved = await app.save(draft, [{**form, "fields": form["fields"][:2]}])
    assert saved.status_code == 200, saved.text
    assert (await app.publish()).status_code == 200
    plan = await client.get(f"{app.base}/draft/plan", headers=admin.headers)
    assert plan.json()["operations"] == []
    assert plan.json()["summary"] == []
    purging = await client.get(
        f"{app.base}/draft/plan",
        params={"purge": f"{form['id']}:3"},
        headers={**admin.headers, **ZH},
    )
    assert purging.status_code == 200, purging.text
    [op] = purging.json()["operations"]
    assert op["op"] == "purge_column" and op["values"] == 2
    assert op["summary"] == "永久删除 退货申请 的字段 旧编号 及其 2 个值"
    bad = await client.get(f"{app.base}/draft/plan", params={"purge": "x:3"}, headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.purge[0]"
    purged = await app.publish(purge=[{"form_id": form["id"], "field_id": 3}])
    assert purged.status_code == 200, purged.text


async def test_version_definitions_and_diffs(client, admin, sessions):
    app, form = await _app_with_rows(client, admin, sessions)
    draft = await app.draft()
    renamed = {**form, "label": {"en": "Returns", "zh-CN": "退货"}}
    renamed["fields"] = [
        {**form["fields"][0], "required": True},
        form["fields"][1],
        {"id": 4, "key": "reason", "type": "text", "label": {"en": "Reason", "zh-CN": "退货原因"}},
    ]
    assert (await app.save(draft, [renamed])).status_code == 200
    assert (await app.publish()).status_code == 200

    one = await client.get(f"{app.base}/versions/1", headers=admin.headers)
    assert one.status_code == 200, one.text
    assert one.json()["number"] == 1 and one.json()["status"] == "archived"
    assert [f["key"] for f in one.json()["definition"]["forms"][0]["fields"]] == [
        "subject",
        "amount",
        "old_code",
    ]
    missing = await client.get(f"{app.base}/versions/9", headers=admin.headers)
    assert missing.status_code == 404

    diff = await client.get(f"{app.base}/versions/1/diff/2", headers={**admin.headers, **ZH})
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert body["base"]["number"] == 1 and body["target"]["number"] == 2
    assert body["identical"] is False
    [form_change] = body["parts"]["forms"]["changed"]
    assert form_change["changes"] == ["fields", "label"]
    assert form_change["summary"] == "修改表单 退货（字段、名称）"
    fields = form_change["fields"]
    assert [f["summary"] for f in fields["added"]] == ["在 退货 中新增字段 退货原因"]
    assert [f["summary"] for f in fields["removed"]] == [
        "从 退货 中移除字段 旧编号（归档，保留其值）"
    ]
    assert [f["summary"] for f in fields["changed"]] == ["修改 退货 的字段 Subject（必填）"]
    assert body["summary"][0] == "修改表单 退货（字段、名称）"

    same = (await client.get(f"{app.base}/versions/2/diff/draft", headers=admin.headers)).json()
    assert same["identical"] is True and same["target"]["number"] == 0
    back = (await client.get(f"{app.base}/versions/2/diff/1", headers=admin.headers)).json()
    assert [f["key"] for f in back["parts"]["forms"]["changed"][0]["fields"]["added"]] == [
        "old_code"
    ]
    assert back["parts"]["forms"]["changed"][0]["fields"]["added"][0]["summary"] == (
        "restores field Old code of Return request"
    )
    bad = await client.get(f"{app.base}/versions/x/diff/1", headers=admin.headers)
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"
