"""Knowledge-base search: Chinese and English words, title boost, typos, prefixes, highlights,
visibility, review state, the agent's read scope, and the index following edits."""

from __future__ import annotations

from tests.runtime.kb.conftest import add_articles, admin_create, find, titles

ARTICLES = [
    {
        "title": "如何申请增值税专用发票",
        "keywords": "专票,开票",
        "body": "<p>订单签收后 90 天内可以申请专用发票。</p>",
    },
    {
        "title": "电子发票的查收与下载",
        "keywords": "电子发票,下载",
        "body": "<p>发票开具后发送到收票邮箱，也可以在后台下载。</p>",
    },
    {
        "title": "Reset your password",
        "keywords": "password, sign in",
        "body": "<p>Open the sign-in page and choose <b>Forgot password</b>.</p>",
    },
    {
        "title": "Printer paper jam on the YP-200",
        "keywords": "printer, jam",
        "body": "<p>Open the rear cover and pull the paper out slowly.</p>",
    },
    {
        "title": "Shipping times",
        "body": "<p>If your printer arrives damaged, contact us within 7 days.</p>",
    },
    {
        "title": "退款审批（内部）",
        "visibility": "internal",
        "body": "<p>超过 1000 元的退款需要财务与仓库会签。</p>",
    },
    {"title": "新版后台草稿", "status": "draft", "body": "<p>后台 发票 新功能</p>"},
]


async def test_search_ranks_highlights_and_respects_visibility(center):
    made = await add_articles(center, ARTICLES)
    ids = {row["values"]["title"]: row["id"] for row in made}

    found = await find(center, "sam", "专票怎么开")
    assert titles(found)[0] == "如何申请增值税专用发票"
    found = await find(center, "sam", "发票")
    assert set(titles(found)) == {"如何申请增值税专用发票", "电子发票的查收与下载"}
    assert "<mark>发票</mark>" in found["items"][0]["title_html"]

    # The title outweighs the body: "printer" is in both articles' text.
    found = await find(center, "sam", "printer")
    assert titles(found)[:2] == ["Printer paper jam on the YP-200", "Shipping times"]
    assert found["items"][0]["title_html"].startswith("<mark>Printer</mark>")

    # Typos and a word still being typed.
    found = await find(center, "sam", "pasword reset")
    assert titles(found)[0] == "Reset your password"
    assert found["corrected"] == "password reset"
    found = await find(center, "sam", "printr jam")
    assert titles(found)[0] == "Printer paper jam on the YP-200"
    found = await find(center, "sam", "passw")
    assert titles(found) == ["Reset your password"] and found["corrected"] is None

    # Internal articles are for agents; drafts for nobody.
    assert "退款审批（内部）" in titles(await find(center, "sam", "退款 会签"))
    public = await find(center, "sam", "退款 会签", audience="public")
    assert "退款审批（内部）" not in titles(public)
    assert "新版后台草稿" not in titles(await find(center, "sam", "后台 新功能"))

    # Edits are indexed in the same transaction; deleted articles go.
    record = await center.get(ids["Shipping times"], "article")
    patched = await center.client.patch(
        f"{center.url('article')}/{ids['Shipping times']}",
        json={"row_version": record["row_version"], "values": {"title": "Delivery and parcels"}},
        headers=center.admin.headers,
    )
    assert patched.status_code == 200, patched.text
    assert titles(await find(center, "sam", "parcels")) == ["Delivery and parcels"]
    gone = await center.client.delete(
        f"{center.url('article')}/{ids['Shipping times']}", headers=center.admin.headers
    )
    assert gone.status_code == 200, gone.text
    assert titles(await find(center, "sam", "parcels")) == []


async def test_agents_search_within_their_read_scope_and_categories(center, sessions):
    from tests.conftest import USER_PASSWORD, make_account

    parent = await admin_create(center, "kb_category", name="设备")
    child = await admin_create(center, "kb_category", name="打印机", parent=parent["id"])
    other = await admin_create(center, "kb_category", name="发票")
    await add_articles(
        center,
        [
            {"title": "打印机卡纸处理", "section": child["id"], "body": "<p>打开后盖</p>"},
            {"title": "打印发票", "section": other["id"], "body": "<p>打印机 发票</p>"},
        ],
    )
    found = await find(center, "sam", "打印机", category=parent["id"])
    assert titles(found) == ["打印机卡纸处理"]
    assert found["items"][0]["category"] == child["id"]
    assert set(titles(await find(center, "sam", "打印机"))) == {"打印机卡纸处理", "打印发票"}

    # Someone with no role in the app reads no articles: agent search finds nothing, the
    # public view still shows what customers see.
    stranger = await make_account(center.client, sessions, "zed", USER_PASSWORD)
    got = await center.client.get(
        f"/api/v1/apps/{center.app['id']}/kb/search",
        params={"q": "打印机"},
        headers=stranger.headers,
    )
    assert got.status_code == 200 and got.json()["items"] == []
    got = await center.client.get(
        f"/api/v1/apps/{center.app['id']}/kb/search",
        params={"q": "打印机", "audience": "public"},
        headers=stranger.headers,
    )
    assert len(got.json()["items"]) == 2

    bad = await center.client.get(
        f"/api/v1/apps/{center.app['id']}/kb/search",
        params={"q": ""},
        headers={**center.admin.headers, "Accept-Language": "zh-CN"},
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    missing = await center.client.get(
        "/api/v1/apps/999/kb/search", params={"q": "x"}, headers=center.admin.headers
    )
    assert missing.status_code == 404


async def test_reindex_from_the_command_line(center, db_url, tmp_path, sessions):
    from sqlalchemy import delete

    from runtime.kb.models import KbEntry
    from tests.runtime.test_cli import tangram

    await add_articles(center, [{"title": "Two-factor sign-in", "body": "<p>Use an app.</p>"}])
    async with sessions() as db:
        await db.execute(delete(KbEntry))
        await db.commit()
    assert titles(await find(center, "sam", "two-factor")) == []
    done = tangram(["kb-reindex", "customer_center"], db_url, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 article(s) indexed" in done.stdout
    assert titles(await find(center, "sam", "two-fac")) == ["Two-factor sign-in"]
    missing = tangram(["kb-reindex", "nope"], db_url, tmp_path)
    assert missing.returncode == 1 and "no published app" in missing.stderr
