"""Sign-in, sign-out, password change and language on the pages — on both databases."""

from __future__ import annotations

from sqlalchemy import select

from runtime.auth.models import User, UserSession
from tests.conftest import USER_PASSWORD
from tests.runtime.records.conftest import TICKET, publish_form
from tests.runtime.web.pages import csrf_token, field_errors, hidden, sign_in


async def test_pages_need_a_user_and_send_them_back_after_sign_in(client, user):
    answer = await client.get("/apps/helpdesk?tab=1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=/apps/helpdesk%3Ftab%3D1"
    page = await client.get(answer.headers["location"])
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'for="f-username"' in page.text
    assert hidden(page.text, "next") == "/apps/helpdesk?tab=1"
    policy = page.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src-attr")[0]
    )
    assert page.headers["x-frame-options"] == "DENY"
    assert "tangram_login=" in page.headers["set-cookie"]


async def test_wrong_password_is_shown_inline_and_keeps_the_username(client, user):
    form = await client.get("/sign-in")
    answer = await client.post(
        "/sign-in",
        data={
            "username": "alice",
            "password": "nope",
            "csrf_token": hidden(form.text, "csrf_token"),
        },
    )
    assert answer.status_code == 401
    assert "Wrong username or password." in answer.text
    assert 'value="alice"' in answer.text
    assert "tangram_session" not in client.cookies


async def test_missing_fields_get_per_field_errors(client, user):
    form = await client.get("/sign-in", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "登录 Tangram" in form.text and '<html lang="zh-CN">' in form.text
    answer = await client.post(
        "/sign-in",
        data={"username": "", "password": "", "csrf_token": hidden(form.text, "csrf_token")},
        headers={"Accept-Language": "zh-CN"},
    )
    assert answer.status_code == 422
    assert field_errors(answer.text, "username") == ["请输入用户名。"]
    assert field_errors(answer.text, "password") == ["请输入密码。"]
    assert 'aria-invalid="true" aria-describedby="username-errors"' in answer.text


async def test_sign_in_without_the_form_token_is_refused(client, user):
    answer = await client.post("/sign-in", data={"username": "alice", "password": USER_PASSWORD})
    assert answer.status_code == 403
    assert "The sign-in form expired" in answer.text
    await client.get("/sign-in")  # the cookie alone, with a made-up token
    forged = await client.post(
        "/sign-in", data={"username": "alice", "password": USER_PASSWORD, "csrf_token": "x" * 64}
    )
    assert forged.status_code == 403


async def test_next_never_leaves_the_site(client, user):
    form = await client.get("/sign-in", params={"next": "//evil.example/x"})
    assert hidden(form.text, "next") == "/"
    answer = await client.post(
        "/sign-in",
        data={
            "username": "alice",
            "password": USER_PASSWORD,
            "next": "https://evil.example/",
            "csrf_token": hidden(form.text, "csrf_token"),
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/"


async def test_home_lists_usable_apps_and_the_app_home_its_forms(client, admin, user):
    await publish_form(client, admin, "helpdesk", TICKET)
    await publish_form(client, admin, "closed", {**TICKET, "key": "secret"}, permissions=[])
    await sign_in(client, "alice", USER_PASSWORD)
    home = await client.get("/")
    assert "Welcome, alice" in home.text
    assert 'href="/apps/helpdesk"' in home.text and 'href="/apps/closed"' not in home.text
    app_home = await client.get("/apps/helpdesk")
    assert app_home.status_code == 200
    assert 'href="/apps/helpdesk/forms/ticket/new"' in app_home.text
    assert 'aria-current="page"' in app_home.text
    hidden_app = await client.get("/apps/closed")
    assert hidden_app.status_code == 404
    assert "text/html" in hidden_app.headers["content-type"]
    assert "Nothing exists at this address." in hidden_app.text


async def test_app_names_are_escaped(client, admin, user, sessions):
    await publish_form(client, admin, "helpdesk", TICKET)
    from builder.apps.models import App

    async with sessions() as db:
        app = await db.scalar(select(App).where(App.key == "helpdesk"))
        app.name = {"en": "<script>alert(1)</script>"}
        await db.commit()
    await sign_in(client, "alice", USER_PASSWORD)
    home = await client.get("/")
    assert "<script>alert(1)</script>" not in home.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home.text


async def test_sign_out_needs_the_csrf_token(client, user, sessions):
    token = await sign_in(client, "alice", USER_PASSWORD)
    refused = await client.post("/sign-out")
    assert refused.status_code == 403 and "CSRF" in refused.text
    done = await client.post("/sign-out", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/sign-in"
    async with sessions() as db:
        assert (await db.scalars(select(UserSession))).all() == []
    assert (await client.get("/")).status_code == 303


async def test_password_change_shows_errors_inline_then_succeeds(client, user):
    token = await sign_in(client, "alice", USER_PASSWORD)
    mismatch = await client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": USER_PASSWORD,
            "new_password": "Another-pass-2026",
            "confirm_password": "different",
        },
    )
    assert mismatch.status_code == 422
    assert field_errors(mismatch.text, "confirm_password") == ["The two new passwords differ."]
    wrong = await client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "wrong",
            "new_password": "Another-pass-2026",
            "confirm_password": "Another-pass-2026",
        },
    )
    assert field_errors(wrong.text, "current_password") == ["The current password is wrong."]
    done = await client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": USER_PASSWORD,
            "new_password": "Another-pass-2026",
            "confirm_password": "Another-pass-2026",
        },
    )
    assert done.status_code == 200 and "Your password was changed" in done.text
    client.cookies.clear()
    await sign_in(client, "alice", "Another-pass-2026")


async def test_language_is_stored_on_the_user(client, user, sessions):
    token = await sign_in(client, "alice", USER_PASSWORD)
    switched = await client.post(
        "/language", data={"csrf_token": token, "locale": "zh-CN", "back": "/"}
    )
    assert switched.status_code == 303
    home = await client.get("/", headers={"Accept-Language": "en"})
    assert "欢迎，alice" in home.text and '<html lang="zh-CN">' in home.text
    async with sessions() as db:
        stored = await db.scalar(select(User.locale).where(User.username == "alice"))
    assert stored == "zh-CN"
    forged = await client.post("/language", data={"locale": "en"})
    assert forged.status_code == 403


async def test_anonymous_language_choice_is_a_cookie(client):
    answer = await client.post("/language", data={"locale": "zh-CN", "back": "/sign-in"})
    assert answer.status_code == 303
    page = await client.get("/sign-in")
    assert "登录 Tangram" in page.text


async def test_htmx_errors_come_as_a_flash_fragment(client, user):
    token = await sign_in(client, "alice", USER_PASSWORD)
    answer = await client.get(
        "/apps/missing", headers={"HX-Request": "true", "X-CSRF-Token": token}
    )
    assert answer.status_code == 404
    assert answer.headers["hx-retarget"] == "#flash"
    assert answer.text.lstrip().startswith('<div class="alert alert--error"')
    assert csrf_token  # the helper module is shared with the other page tests
