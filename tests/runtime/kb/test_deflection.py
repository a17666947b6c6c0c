"""Deflection: public suggestions while a customer types, the self-service session recorded in
the deflection form (article read, answered, or a ticket submitted anyway), and the hourly
settling of sessions pending for a day."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from runtime.db import utcnow
from runtime.kb import deflection
from runtime.records.forms import resolve_app
from runtime.records.writer import commit_and_dispatch
from tests.runtime.kb.conftest import add_articles

BASE = "/api/v1/public/kb/customer_center"


async def test_public_suggestions_and_articles_show_only_public_published(center):
    made = await add_articles(
        center,
        [
            {"title": "打印机卡纸怎么办", "summary": "先关机再取纸。", "body": "<p>打开后盖</p>"},
            {"title": "打印机内部维修手册", "visibility": "internal", "body": "<p>拆机</p>"},
            {"title": "打印机新品草稿", "status": "draft", "body": "<p>草稿</p>"},
        ],
    )
    public_id, internal_id, draft_id = (row["id"] for row in made)
    client = center.client
    found = await client.get(f"{BASE}/suggest", params={"q": "打印机卡纸"})
    assert found.status_code == 200, found.text
    assert [h["id"] for h in found.json()["items"]] == [public_id]
    assert "<mark>" in found.json()["items"][0]["title_html"]

    article = await client.get(f"{BASE}/articles/{public_id}")
    assert article.status_code == 200
    assert article.json()["summary"] == "先关机再取纸。"
    assert "打开后盖" in article.json()["body_html"]
    for hidden in (internal_id, draft_id, 99999):
        refused = await client.get(f"{BASE}/articles/{hidden}")
        assert refused.status_code == 404
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert (
        await client.get("/api/v1/public/kb/nope/suggest", params={"q": "x"})
    ).status_code == 404
    bad = await client.get(
        f"{BASE}/suggest", params={"q": ""}, headers={"Accept-Language": "zh-CN"}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"


async def test_a_session_is_read_answered_or_submitted(center, sessions, settings):
    [article] = await add_articles(center, [{"title": "Reset your password", "body": "<p>x</p>"}])
    client = center.client
    started = await client.post(
        f"{BASE}/deflections", json={"query": "forgot password", "source": "portal"}
    )
    assert started.status_code == 201, started.text
    token = started.json()["token"]
    session_id = int(token.split(".")[0])
    read = await client.patch(f"{BASE}/deflections/{token}", json={"article": article["id"]})
    assert read.status_code == 200 and read.json()["open"] is True
    values = await center.values(session_id, "deflection")
    assert values["query"] == "forgot password" and values["article"] == article["id"]
    assert values["outcome"] == "pending" and values["source"] == "portal"

    solved = await client.patch(f"{BASE}/deflections/{token}", json={"outcome": "deflected"})
    assert solved.status_code == 200 and solved.json()["open"] is False
    assert (await center.values(session_id, "deflection"))["outcome"] == "deflected"
    again = await client.patch(f"{BASE}/deflections/{token}", json={"query": "later"})
    assert again.json()["open"] is False  # settled sessions do not change
    assert (await center.values(session_id, "deflection"))["query"] == "forgot password"

    forged = f"{session_id}.{'0' * 32}"
    assert (await client.patch(f"{BASE}/deflections/{forged}", json={})).status_code == 404
    internal = await add_articles(center, [{"title": "内部", "visibility": "internal"}])
    refused = await client.post(
        f"{BASE}/deflections",
        json={"query": "x", "source": "web_form", "article": internal[0]["id"]},
    )
    assert refused.status_code == 404
    unknown = await client.post(f"{BASE}/deflections", json={"query": "x", "source": "fax"})
    assert unknown.status_code == 422

    # A ticket submitted anyway settles the session as submitted, with the ticket.
    second = await client.post(f"{BASE}/deflections", json={"query": "发票", "source": "web_form"})
    token2 = second.json()["token"]
    ticket = await center.create("sam", "ticket", subject="发票", priority="normal")
    secret = settings.resolved_secret()
    async with sessions() as db:
        assert await deflection.submitted(db, "customer_center", secret, token2, ticket["id"])
        assert not await deflection.submitted(db, "customer_center", secret, "1.bad", 1)
        await commit_and_dispatch(db)
    values = await center.values(int(token2.split(".")[0]), "deflection")
    assert values["outcome"] == "submitted" and values["ticket"] == ticket["id"]


async def test_sessions_pending_a_day_with_an_article_read_count_as_deflected(center, sessions):
    [article] = await add_articles(center, [{"title": "Shipping times", "body": "<p>x</p>"}])
    client = center.client
    tokens = []
    for query in ("shipping", "delivery", "today"):
        made = await client.post(f"{BASE}/deflections", json={"query": query, "source": "portal"})
        tokens.append(made.json()["token"])
    for token in tokens[:2]:
        await client.patch(f"{BASE}/deflections/{token}", json={"article": article["id"]})
    ids = [int(t.split(".")[0]) for t in tokens]
    async with sessions() as db:
        app = await resolve_app(db, "customer_center")
        table = app.handles["deflection"].table
        old = utcnow() - timedelta(hours=25)
        await db.execute(update(table).where(table.c.id.in_(ids[::2])).values(created_at=old))
        await db.commit()
        assert await deflection.settle(db, "customer_center") == 1
        await commit_and_dispatch(db)
    outcomes = [(await center.values(i, "deflection"))["outcome"] for i in ids]
    # read and a day old → deflected; read but recent → pending; never read → pending.
    assert outcomes == ["deflected", "pending", "pending"]
