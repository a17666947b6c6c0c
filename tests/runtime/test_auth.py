"""Sign-in, sessions, CSRF, throttling, passwords and API tokens — on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from runtime.auth.models import ApiToken, User, UserSession
from runtime.db import utcnow
from tests.conftest import USER_PASSWORD, make_account


async def login(client, username="alice", password=USER_PASSWORD, **kw):
    return await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}, **kw
    )


async def test_login_sets_secure_cookies_and_me_works(client, user):
    response = await login(client)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["username"] == "alice"
    assert "password_hash" not in body["user"]
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("tangram_session="))
    csrf_cookie = next(c for c in cookies if c.startswith("tangram_csrf="))
    assert "HttpOnly" in session_cookie and "samesite=lax" in session_cookie.lower()
    assert "Secure" not in session_cookie  # plain http
    assert "HttpOnly" not in csrf_cookie
    me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["username"] == "alice"


async def test_cookie_is_secure_behind_https_proxy(client, user):
    response = await login(client, headers={"X-Forwarded-Proto": "https"})
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("tangram_session=")
    )
    assert "Secure" in session_cookie


async def test_username_is_case_insensitive(client, user):
    assert (await login(client, username="ALICE")).status_code == 200


async def test_wrong_password_and_unknown_user_look_the_same(client, user):
    wrong = await login(client, password="nope-nope-nope")
    unknown = await login(client, username="nobody")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"
    assert "set-cookie" not in wrong.headers


async def test_csrf_required_for_cookie_writes_not_for_tokens(client, user):
    csrf = (await login(client)).json()["csrf_token"]
    denied = await client.post("/api/v1/auth/tokens", json={"name": "x"})
    assert denied.status_code == 403 and denied.json()["code"] == "csrf_failed"
    wrong = await client.post(
        "/api/v1/auth/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "forged"}
    )
    assert wrong.status_code == 403
    ok = await client.post(
        "/api/v1/auth/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 201
    client.cookies.clear()
    by_token = await client.post(
        "/api/v1/auth/tokens",
        json={"name": "y"},
        headers={"Authorization": f"Bearer {ok.json()['token']}"},
    )
    assert by_token.status_code == 201


async def test_logout_ends_the_session(client, user, sessions):
    csrf = (await login(client)).json()["csrf_token"]
    session_token = client.cookies.get("tangram_session")
    out = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    async with sessions() as db:
        assert (await db.execute(select(UserSession))).first() is None
    client.cookies.set("tangram_session", session_token)
    again = await client.get("/api/v1/auth/me")
    assert again.status_code == 401 and again.json()["code"] == "session_expired"


async def test_expired_session_is_rejected(client, user, sessions):
    await login(client)
    async with sessions() as db:
        await db.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        await db.commit()
    response = await client.get("/api/v1/auth/me")
    assert response.status_code == 401 and response.json()["code"] == "session_expired"


async def test_unauthenticated_gets_401(client):
    response = await client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


async def test_account_throttling_blocks_even_the_right_password(client, user, sessions):
    for _ in range(5):
        assert (await login(client, password="wrong-password")).status_code == 401
    blocked = await login(client)
    assert blocked.status_code == 429
    body = blocked.json()
    assert body["code"] == "too_many_attempts" and body["scope"] == "account"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 901
    # Another account from the same address is not locked by alice's failures.
    await make_account(client, sessions, "bob", "Bob-pass-2026")
    assert (await login(client, username="bob", password="Bob-pass-2026")).status_code == 200


async def test_success_clears_account_failures(client, user):
    for _ in range(4):
        await login(client, password="wrong-password")
    assert (await login(client)).status_code == 200
    for _ in range(4):
        assert (await login(client, password="wrong-password")).status_code == 401
    assert (await login(client)).status_code == 200


async def test_ip_throttling(app, client, user):
    app.state.settings.login_max_failures_per_ip = 3
    for name in ("x1", "x2", "x3"):
        await login(client, username=name, password="whatever-1")
    blocked = await login(client)
    assert blocked.status_code == 429 and blocked.json()["scope"] == "ip"


async def test_throttle_honours_forwarded_address_only_from_trusted_proxy(app, client, user):
    app.state.settings.login_max_failures_per_ip = 2
    for _ in range(2):
        await login(
            client, username="zz", password="whatever-1", headers={"X-Forwarded-For": "203.0.113.9"}
        )
    # Same proxy, different original client: not blocked.
    ok = await login(client, headers={"X-Forwarded-For": "198.51.100.7"})
    assert ok.status_code == 200


async def test_passwords_are_argon2_hashes(sessions, user):
    async with sessions() as db:
        stored = (
            await db.execute(select(User.password_hash).where(User.username == "alice"))
        ).scalar_one()
    assert stored.startswith("$argon2id$") and USER_PASSWORD not in stored


async def test_password_change(client, user, sessions):
    other = await login(client)  # a second session that must end
    other_cookie = client.cookies.get("tangram_session")
    client.cookies.clear()
    csrf = (await login(client)).json()["csrf_token"]
    headers = {"X-CSRF-Token": csrf}
    wrong = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "nope-nope", "new_password": "New-pass-2026"},
        headers=headers,
    )
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["field"] == "current_password"
    weak = await client.post(
        "/api/v1/auth/password",
        json={"current_password": USER_PASSWORD, "new_password": "short"},
        headers=headers,
    )
    assert weak.status_code == 422
    assert weak.json()["errors"][0] == {
        "field": "new_password",
        "code": "weak_password",
        "message": "Use at least 8 characters.",
    }
    ok = await client.post(
        "/api/v1/auth/password",
        json={"current_password": USER_PASSWORD, "new_password": "New-pass-2026"},
        headers=headers,
    )
    assert ok.status_code == 204
    assert (await client.get("/api/v1/auth/me")).status_code == 200  # this session stays
    client.cookies.clear()
    client.cookies.set("tangram_session", other_cookie)
    assert (await client.get("/api/v1/auth/me")).status_code == 401  # the other one ended
    client.cookies.clear()
    assert other.status_code == 200
    assert (await login(client, password=USER_PASSWORD)).status_code == 401
    assert (await login(client, password="New-pass-2026")).status_code == 200


async def test_admin_password_reset(client, admin, user):
    denied = await client.post(f"/api/v1/users/{admin.id}/password", json={}, headers=user.headers)
    assert denied.status_code == 403 and denied.json()["code"] == "admin_required"
    await login(client)
    reset = await client.post(f"/api/v1/users/{user.id}/password", json={}, headers=admin.headers)
    assert reset.status_code == 200
    temporary = reset.json()["password"]
    assert len(temporary) >= 12 and reset.json()["user"]["must_change_password"] is True
    assert (await client.get("/api/v1/auth/me")).status_code == 401  # signed out everywhere
    client.cookies.clear()
    assert (await login(client, password=temporary)).status_code == 200
    chosen = await client.post(
        f"/api/v1/users/{user.id}/password",
        json={"password": "Chosen-pass-1", "must_change": False},
        headers=admin.headers,
    )
    assert chosen.json()["password"] is None
    assert chosen.json()["user"]["must_change_password"] is False


async def test_tokens_shown_once_stored_hashed_and_revocable(client, user, sessions):
    created = await client.post(
        "/api/v1/auth/tokens", json={"name": "ci", "expires_in_days": 30}, headers=user.headers
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("tgm_") and created.json()["prefix"] == secret[:12]
    listed = await client.get("/api/v1/auth/tokens", headers=user.headers)
    assert all("token" not in t for t in listed.json())
    async with sessions() as db:
        hashes = list((await db.execute(select(ApiToken.token_hash))).scalars())
    assert secret not in hashes and all(len(h) == 64 for h in hashes)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/v1/auth/me", headers=bearer)).status_code == 200
    token_id = created.json()["id"]
    assert (
        await client.delete(f"/api/v1/auth/tokens/{token_id}", headers=user.headers)
    ).status_code == 204
    revoked = await client.get("/api/v1/auth/me", headers=bearer)
    assert revoked.status_code == 401 and revoked.json()["code"] == "invalid_token"
    assert revoked.headers["www-authenticate"] == "Bearer"


async def test_expired_token_is_rejected(client, user, sessions):
    past = await client.post(
        "/api/v1/auth/tokens",
        json={"name": "old", "expires_at": "2001-01-01T00:00:00Z"},
        headers=user.headers,
    )
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "expires_at"
    created = await client.post("/api/v1/auth/tokens", json={"name": "soon"}, headers=user.headers)
    async with sessions() as db:
        await db.execute(
            update(ApiToken)
            .where(ApiToken.id == created.json()["id"])
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        await db.commit()
    response = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {created.json()['token']}"}
    )
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"


async def test_cannot_revoke_someone_elses_token(client, admin, user):
    mine = await client.post("/api/v1/auth/tokens", json={"name": "a"}, headers=admin.headers)
    response = await client.delete(f"/api/v1/auth/tokens/{mine.json()['id']}", headers=user.headers)
    assert response.status_code == 404


async def test_disabled_user_cannot_sign_in_or_use_tokens(client, admin, user):
    current = (await client.get(f"/api/v1/users/{user.id}", headers=admin.headers)).json()
    patched = await client.patch(
        f"/api/v1/users/{user.id}",
        json={"is_active": False, "row_version": current["row_version"]},
        headers=admin.headers,
    )
    assert patched.status_code == 200
    assert (await login(client)).json()["code"] == "account_disabled"
    assert (await client.get("/api/v1/auth/me", headers=user.headers)).status_code == 401
