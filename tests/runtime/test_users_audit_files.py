"""User administration, the audit log and file storage — on both databases."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from runtime.files.models import StoredFile
from tests.conftest import make_account


async def test_create_user_with_generated_password(client, admin):
    created = await client.post(
        "/api/v1/users",
        json={"username": "Carol", "email": "Carol@Example.com", "locale": "zh-CN"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["user"]["username"] == "carol" and body["user"]["email"] == "carol@example.com"
    assert body["user"]["must_change_password"] is True and len(body["password"]) >= 12
    login = await client.post(
        "/api/v1/auth/login", json={"username": "carol", "password": body["password"]}
    )
    assert login.status_code == 200


async def test_create_user_validation_is_per_field(client, admin):
    await client.post("/api/v1/users", json={"username": "dave"}, headers=admin.headers)
    response = await client.post(
        "/api/v1/users",
        json={"username": "dave", "email": "dave@example.com", "password": "Strong-pass-1"},
        headers=admin.headers,
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["username"]
    bad = await client.post(
        "/api/v1/users",
        json={"username": "has space", "email": "not-mail", "is_admin": "maybe", "shoe": 1},
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert bad.status_code == 422
    fields = {e["field"]: e for e in bad.json()["errors"]}
    assert set(fields) == {"username", "email", "is_admin", "shoe"}
    assert fields["shoe"]["code"] == "extra_forbidden"
    assert fields["shoe"]["message"] == "不允许此字段。"
    assert bad.json()["title"] == "请求内容无效。"
    zone = await client.post(
        "/api/v1/users",
        json={"username": "erin", "time_zone": "Mars/Olympus"},
        headers=admin.headers,
    )
    assert zone.status_code == 422 and zone.json()["errors"][0]["field"] == "time_zone"


async def test_users_list_search_and_paging(client, admin):
    for name in ("u1", "u2", "u3"):
        await client.post("/api/v1/users", json={"username": name}, headers=admin.headers)
    page = await client.get("/api/v1/users?limit=2&offset=0", headers=admin.headers)
    assert page.json()["total"] == 4 and len(page.json()["items"]) == 2
    found = await client.get("/api/v1/users?q=U2", headers=admin.headers)
    assert [u["username"] for u in found.json()["items"]] == ["u2"]


async def test_non_admin_cannot_administer(client, user):
    for method, url in (
        ("get", "/api/v1/users"),
        ("post", "/api/v1/users"),
        ("get", "/api/v1/audit"),
    ):
        response = await client.request(method, url, json={"username": "x"}, headers=user.headers)
        assert response.status_code == 403 and response.json()["code"] == "admin_required"


async def test_stale_row_version_gets_409(client, admin, user):
    current = (await client.get(f"/api/v1/users/{user.id}", headers=admin.headers)).json()
    first = await client.patch(
        f"/api/v1/users/{user.id}",
        json={"display_name": "Alice A.", "row_version": current["row_version"]},
        headers=admin.headers,
    )
    assert first.status_code == 200 and first.json()["row_version"] == current["row_version"] + 1
    second = await client.patch(
        f"/api/v1/users/{user.id}",
        json={"display_name": "Lost update", "row_version": current["row_version"]},
        headers=admin.headers,
    )
    assert second.status_code == 409
    assert second.json()["code"] == "conflict"
    assert second.json()["current_row_version"] == current["row_version"] + 1
    final = (await client.get(f"/api/v1/users/{user.id}", headers=admin.headers)).json()
    assert final["display_name"] == "Alice A."


async def test_concurrent_edits_one_wins_one_409(client, admin, user):
    version = (await client.get(f"/api/v1/users/{user.id}", headers=admin.headers)).json()[
        "row_version"
    ]
    responses = await asyncio.gather(
        *[
            client.patch(
                f"/api/v1/users/{user.id}",
                json={"display_name": f"n{i}", "row_version": version},
                headers=admin.headers,
            )
            for i in range(4)
        ]
    )
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == 1 and codes.count(409) == 3


async def test_admin_cannot_lock_themselves_out(client, admin):
    me = (await client.get(f"/api/v1/users/{admin.id}", headers=admin.headers)).json()
    response = await client.patch(
        f"/api/v1/users/{admin.id}",
        json={"is_admin": False, "row_version": me["row_version"]},
        headers=admin.headers,
    )
    assert response.status_code == 403


async def test_audit_log_records_who_what_when_where(client, admin, user):
    await client.post("/api/v1/users", json={"username": "frank"}, headers=admin.headers)
    current = (await client.get(f"/api/v1/users/{user.id}", headers=admin.headers)).json()
    await client.patch(
        f"/api/v1/users/{user.id}",
        json={"display_name": "Alice B.", "row_version": current["row_version"]},
        headers={**admin.headers, "X-Request-ID": "req-audit-1"},
    )
    log = await client.get("/api/v1/audit?entity_type=user", headers=admin.headers)
    assert log.status_code == 200
    entries = log.json()["items"]
    update = next(e for e in entries if e["action"] == "user.update")
    assert update["actor_name"] == "admin" and update["ip"] == "127.0.0.1"
    assert update["request_id"] == "req-audit-1"
    assert update["changes"] == {"display_name": ["alice", "Alice B."]}
    assert update["token_id"] is not None
    create = next(
        e for e in entries if e["action"] == "user.create" and e["changes"]["username"] == "frank"
    )
    assert "password" not in create["changes"]
    filtered = await client.get("/api/v1/audit?action=user.update", headers=admin.headers)
    assert {e["action"] for e in filtered.json()["items"]} == {"user.update"}
    logins = await client.get("/api/v1/audit?action=auth.login", headers=admin.headers)
    assert len(logins.json()["items"]) >= 2


async def test_audit_paging(client, admin):
    for i in range(5):
        await client.post("/api/v1/users", json={"username": f"p{i}"}, headers=admin.headers)
    first = (await client.get("/api/v1/audit?limit=3", headers=admin.headers)).json()
    assert len(first["items"]) == 3 and first["next_before_id"]
    second = (
        await client.get(
            f"/api/v1/audit?limit=3&before_id={first['next_before_id']}", headers=admin.headers
        )
    ).json()
    assert not {e["id"] for e in first["items"]} & {e["id"] for e in second["items"]}


async def test_file_upload_download_and_access(client, admin, user, sessions, settings):
    data = "你好, Tangram\n".encode() * 1000
    uploaded = await client.post(
        "/api/v1/files", files={"file": ("notes.txt", data, "text/plain")}, headers=user.headers
    )
    assert uploaded.status_code == 201, uploaded.text
    meta = uploaded.json()
    assert meta["size"] == len(data) and meta["filename"] == "notes.txt"
    download = await client.get(f"/api/v1/files/{meta['id']}/content", headers=user.headers)
    assert download.status_code == 200 and download.content == data
    assert "notes.txt" in download.headers["content-disposition"]
    assert (
        await client.get(f"/api/v1/files/{meta['id']}", headers=admin.headers)
    ).status_code == 200
    other = await make_account(client, sessions, "mallory2", "Mallory-pass-1")
    hidden = await client.get(f"/api/v1/files/{meta['id']}/content", headers=other.headers)
    assert hidden.status_code == 404


async def test_upload_over_limit_leaves_nothing(app, client, user, sessions, settings):
    settings.max_upload_bytes = 1000
    response = await client.post(
        "/api/v1/files",
        files={"file": ("big.bin", b"x" * 5000, "application/octet-stream")},
        headers=user.headers,
    )
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    async with sessions() as db:
        assert (await db.execute(select(StoredFile))).first() is None
    leftovers = [p for p in settings.storage_dir.rglob("*") if p.is_file()]
    assert leftovers == []


async def test_clearing_a_required_user_field_is_a_422_not_a_500(client, admin, user):
    current = (await client.get(f"/api/v1/users/{user.id}", headers=admin.headers)).json()
    cleared = await client.patch(
        f"/api/v1/users/{user.id}",
        json={"row_version": current["row_version"], "display_name": None, "is_active": None},
        headers={**admin.headers, "Accept-Language": "zh-CN"},
    )
    assert cleared.status_code == 422, cleared.text
    errors = {e["field"]: e for e in cleared.json()["errors"]}
    assert set(errors) == {"display_name", "is_active"}
    assert errors["display_name"]["code"] == "null_not_allowed"
    assert errors["display_name"]["message"] == "此字段不能为空。"
    after = (await client.get(f"/api/v1/users/{user.id}", headers=admin.headers)).json()
    assert after["row_version"] == current["row_version"]
