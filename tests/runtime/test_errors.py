"""RFC 9457 problem+json for every kind of bad request, in the caller's language (DESIGN §9)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from runtime.app import create_app
from runtime.auth.models import ApiToken
from runtime.db import utcnow
from runtime.errors import ERRORS, PROBLEM_JSON
from runtime.i18n import negotiate
from tests.conftest import _empty_tables, make_settings

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
SMALL_LIMIT = 64


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is problem+json with ``code`` and carries its request id twice."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code.replace("_", "-"))
    assert body["title"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def zh_title(code: str, **params: Any) -> str:
    return ERRORS[code].title("zh-CN", **params)


def en_title(code: str, **params: Any) -> str:
    return ERRORS[code].title("en", **params)


# --- locale negotiation (unit) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN,zh;q=0.9", "zh-CN"),
        ("zh", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en-US", "en"),
        ("en-US,en;q=0.9", "en"),
        ("en;q=0.5, zh-CN;q=0.8", "zh-CN"),
        ("zh-CN;q=0.1, en", "en"),
        ("fr-FR", "en"),
        ("fr-FR, de;q=0.9", "en"),
        ("fr-FR, zh;q=0.5", "zh-CN"),
        ("zh;q=0, en;q=0.1", "en"),
        ("zh;q=0", "en"),
        ("*", "en"),
        ("zh;q=abc, en;q=0.2", "en"),
        ("zh;Q=0.9, en;q=0.5", "zh-CN"),
        ("en;level=1;q=0.2, zh;q=0.8", "zh-CN"),
        ("zh;q=nan, en;q=0.3", "en"),
        ("zh;q=inf, en;q=0.3", "en"),
        (" ,;, zh-cn ", "zh-CN"),
    ],
)
def test_negotiate_accept_language(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_negotiate_prefers_user_setting() -> None:
    assert negotiate("en-US", preferred="zh-CN") == "zh-CN"
    assert negotiate("zh-CN", preferred="en") == "en"
    assert negotiate("zh-CN", preferred="fr") == "zh-CN"  # unknown setting: use the header


# --- languages -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "locale"),
    [
        ({}, "en"),
        (ZH, "zh-CN"),
        ({"Accept-Language": "en-US"}, "en"),
        ({"Accept-Language": "en-US,en;q=0.9,zh-CN;q=0.8"}, "en"),
        ({"Accept-Language": "en;q=0.4,zh;q=0.6"}, "zh-CN"),
        ({"Accept-Language": "de-DE"}, "en"),
    ],
)
async def test_title_follows_accept_language(
    client: httpx.AsyncClient, headers: dict[str, str], locale: str
) -> None:
    response = await client.get("/api/v1/nowhere", headers=headers)
    body = assert_problem(response, 404, "not_found")
    assert body["title"] == ERRORS["not_found"].title(locale)
    assert body["instance"] == "/api/v1/nowhere"


# --- validation ----------------------------------------------------------------------------


def _by_field(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    errors = body["errors"]
    assert all(set(e) == {"field", "code", "message"} for e in errors)
    return {e["field"]: e for e in errors}


@pytest.mark.parametrize(
    ("payload", "field", "code", "en", "zh"),
    [
        ({"username": "a"}, "password", "missing", "This field is required.", "此字段为必填项。"),
        (
            {"username": 5, "password": "x"},
            "username",
            "string_type",
            "Enter text.",
            "请输入文本。",
        ),
        (
            {"username": "a", "password": "x", "remember": True},
            "remember",
            "extra_forbidden",
            "This field is not allowed.",
            "不允许此字段。",
        ),
        (
            {"username": "a" * 65, "password": "x"},
            "username",
            "string_too_long",
            "Enter at most 64 characters.",
            "最多输入 64 个字符。",
        ),
        (
            {"username": "", "password": "x"},
            "username",
            "string_too_short",
            "Enter at least 1 characters.",
            "至少输入 1 个字符。",
        ),
    ],
)
async def test_validation_errors_per_field(
    client: httpx.AsyncClient, payload: dict[str, Any], field: str, code: str, en: str, zh: str
) -> None:
    response = await client.post("/api/v1/auth/login", json=payload)
    body = assert_problem(response, 422, "validation_failed")
    assert body["title"] == en_title("validation_failed")
    error = _by_field(body)[field]
    assert error["code"] == code
    assert error["message"] == en

    response = await client.post("/api/v1/auth/login", json=payload, headers=ZH)
    body = assert_problem(response, 422, "validation_failed")
    assert body["title"] == zh_title("validation_failed")
    error = _by_field(body)[field]
    assert error["code"] == code
    assert error["message"] == zh


async def test_validation_reports_every_field(client: httpx.AsyncClient, admin: Any) -> None:
    response = await client.post(
        "/api/v1/users",
        json={"username": 7, "display_name": "d" * 201, "is_admin": "maybe", "colour": "red"},
        headers=admin.headers,
    )
    body = assert_problem(response, 422, "validation_failed")
    errors = _by_field(body)
    assert errors["username"]["code"] == "string_type"
    assert errors["display_name"]["code"] == "string_too_long"
    assert errors["is_admin"]["code"] == "bool_parsing"
    assert errors["colour"]["code"] == "extra_forbidden"


async def test_query_and_path_validation(client: httpx.AsyncClient, admin: Any) -> None:
    response = await client.get("/api/v1/users?limit=0", headers=admin.headers)
    errors = _by_field(assert_problem(response, 422, "validation_failed"))
    assert errors["query.limit"]["code"] == "greater_than_equal"
    assert errors["query.limit"]["message"] == "Enter a value of at least 1."

    response = await client.get("/api/v1/users/abc", headers={**admin.headers, **ZH})
    errors = _by_field(assert_problem(response, 422, "validation_failed"))
    assert errors["path.user_id"] == {
        "field": "path.user_id",
        "code": "int_parsing",
        "message": "请输入整数。",
    }


async def test_body_of_wrong_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/login", json=["not", "an", "object"])
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["code"] == "model_attributes_type"


# --- malformed and oversize bodies -----------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{bad", b'{"username": "a",}', b"\xff\xfe", b"{" * 5])
async def test_malformed_json(client: httpx.AsyncClient, raw: bytes) -> None:
    response = await client.post(
        "/api/v1/auth/login", content=raw, headers={"Content-Type": "application/json", **ZH}
    )
    body = assert_problem(response, 400, "malformed_json")
    assert body["title"] == zh_title("malformed_json")


@pytest.fixture
async def small_client(db_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app that accepts bodies of at most SMALL_LIMIT bytes."""
    settings = make_settings(db_url, tmp_path, max_body_bytes=SMALL_LIMIT)
    application = create_app(settings)
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c
    finally:
        await _empty_tables(db_url)


async def test_oversize_body_with_content_length(small_client: httpx.AsyncClient) -> None:
    payload = {"username": "a", "password": "p" * 200}
    response = await small_client.post("/api/v1/auth/login", json=payload)
    assert int(response.request.headers["content-length"]) > SMALL_LIMIT
    body = assert_problem(response, 413, "payload_too_large")
    assert body["title"] == en_title("payload_too_large", limit=SMALL_LIMIT)

    response = await small_client.post("/api/v1/auth/login", json=payload, headers=ZH)
    body = assert_problem(response, 413, "payload_too_large")
    assert body["title"] == zh_title("payload_too_large", limit=SMALL_LIMIT)


async def test_oversize_streamed_body_without_content_length(
    small_client: httpx.AsyncClient,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "a", "password": "'
        for _ in range(10):
            yield b"p" * 20
        yield b'"}'

    response = await small_client.post(
        "/api/v1/auth/login",
        content=chunks(),
        headers={"Content-Type": "application/json", **ZH},
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    body = assert_problem(response, 413, "payload_too_large")
    assert body["title"] == zh_title("payload_too_large", limit=SMALL_LIMIT)


async def test_small_streamed_body_passes(small_client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"username": "nobody",'
        yield b' "password": "x"}'

    response = await small_client.post(
        "/api/v1/auth/login", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 401, "invalid_credentials")


# --- routing -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api", "/api/v1/users/1/nothing"])
async def test_unknown_route(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers=ZH)
    body = assert_problem(response, 404, "not_found")
    assert body["title"] == zh_title("not_found")


async def test_unknown_page_is_an_html_page_in_the_callers_language(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/no/such/page", headers=ZH)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert zh_title("not_found") in response.text


async def test_wrong_method(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/auth/login", json={})
    body = assert_problem(response, 405, "method_not_allowed")
    assert body["title"] == en_title("method_not_allowed")
    assert "POST" in response.headers["allow"]

    response = await client.delete("/api/v1/users", headers=ZH)
    body = assert_problem(response, 405, "method_not_allowed")
    assert body["title"] == zh_title("method_not_allowed")


async def test_missing_resource(client: httpx.AsyncClient, admin: Any) -> None:
    response = await client.get("/api/v1/users/999999", headers={**admin.headers, **ZH})
    body = assert_problem(response, 404, "not_found")
    assert body["title"] == zh_title("not_found")


# --- authentication ------------------------------------------------------------------------


def assert_invalid_token(response: httpx.Response) -> dict[str, Any]:
    body = assert_problem(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")
    return body


async def test_not_authenticated(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/auth/me")
    assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_unknown_token(client: httpx.AsyncClient, admin: Any) -> None:
    response = await client.get(
        "/api/v1/auth/me", headers={"Authorization": "Bearer tg_not-a-real-token", **ZH}
    )
    body = assert_invalid_token(response)
    assert body["title"] == zh_title("invalid_token")


@pytest.mark.parametrize(
    "authorization",
    ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer    ", "Token abc", "bearer-abc", "Digest x=y"],
)
async def test_malformed_authorization_header(
    client: httpx.AsyncClient, authorization: str
) -> None:
    response = await client.get("/api/v1/auth/me", headers={"Authorization": authorization})
    body = assert_invalid_token(response)
    assert body["title"] == en_title("invalid_token")


async def test_expired_token(client: httpx.AsyncClient, sessions: Any, user: Any) -> None:
    assert (await client.get("/api/v1/auth/me", headers=user.headers)).status_code == 200
    async with sessions() as db:
        await db.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        await db.commit()
    assert_invalid_token(await client.get("/api/v1/auth/me", headers=user.headers))


async def test_revoked_token(client: httpx.AsyncClient, user: Any) -> None:
    tokens = (await client.get("/api/v1/auth/tokens", headers=user.headers)).json()
    assert len(tokens) == 1
    revoked = await client.delete(f"/api/v1/auth/tokens/{tokens[0]['id']}", headers=user.headers)
    assert revoked.status_code == 204
    response = await client.get("/api/v1/auth/me", headers={**user.headers, **ZH})
    body = assert_invalid_token(response)
    assert body["title"] == zh_title("invalid_token")


async def test_admin_required(client: httpx.AsyncClient, user: Any) -> None:
    response = await client.get("/api/v1/users", headers={**user.headers, **ZH})
    body = assert_problem(response, 403, "admin_required")
    assert body["title"] == zh_title("admin_required")


# --- unhandled errors ----------------------------------------------------------------------


async def test_unhandled_error_is_a_problem_with_request_id(
    app: Any, client: httpx.AsyncClient
) -> None:
    async def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/api/v1/_test/explode", explode, methods=["GET"])
    response = await client.get(
        "/api/v1/_test/explode", headers={**ZH, "X-Request-ID": "trace-500"}
    )
    body = assert_problem(response, 500, "internal_error")
    assert body["title"] == zh_title("internal_error")
    assert body["request_id"] == "trace-500"
    assert "boom" not in response.text


# --- request ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "incoming", ["abc-123", "4f1c2b1e-8a1d-4c55-9d8e-2b0e6a7d9f10", "svc.api:req_42", "x" * 128]
)
async def test_safe_request_id_is_echoed(client: httpx.AsyncClient, incoming: str) -> None:
    response = await client.get("/api/v1/nowhere", headers={"X-Request-ID": incoming})
    body = assert_problem(response, 404, "not_found")
    assert response.headers["x-request-id"] == incoming
    assert body["request_id"] == incoming


@pytest.mark.parametrize(
    "incoming", ["has space", "<script>", "x" * 129, "a/b", "id\tx", "naïve", "a;b=c", ""]
)
async def test_unsafe_request_id_is_replaced(client: httpx.AsyncClient, incoming: str) -> None:
    response = await client.get(
        "/api/v1/nowhere", headers=[("X-Request-ID", incoming.encode("utf-8"))]
    )
    body = assert_problem(response, 404, "not_found")
    replaced = response.headers["x-request-id"]
    assert replaced != incoming
    assert re.fullmatch(r"[0-9a-f]{32}", replaced)
    assert body["request_id"] == replaced


async def test_request_ids_differ_per_request(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/nowhere")
    second = await client.get("/api/v1/nowhere")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert first.json()["request_id"] == first.headers["x-request-id"]


async def test_successful_responses_carry_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/health", headers={"X-Request-ID": "ok-1"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "ok-1"


# --- input PostgreSQL cannot store (found by the OpenAPI fuzzer) -----------------------------

MAX_ID = 2**63 - 1


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/api/v1/users/{MAX_ID + 1}", "path.user_id"),
        (f"/api/v1/users/{10**22}/password", "path.user_id"),
        (f"/api/v1/jobs/{MAX_ID + 1}", "path.job_id"),
        (f"/api/v1/files/{MAX_ID + 1}", "path.file_id"),
        (f"/api/v1/jobs?before_id={MAX_ID + 1}", "query.before_id"),
        (f"/api/v1/audit?actor_id={MAX_ID + 1}", "query.actor_id"),
        ("/api/v1/users/0", "path.user_id"),
    ],
)
async def test_ids_beyond_the_database_range(
    client: httpx.AsyncClient, admin: Any, path: str, field: str
) -> None:
    method = "POST" if path.endswith("/password") else "GET"
    response = await client.request(method, path, headers=admin.headers, json={})
    errors = _by_field(assert_problem(response, 422, "validation_failed"))
    assert field in errors


async def test_largest_id_is_just_not_found(client: httpx.AsyncClient, admin: Any) -> None:
    response = await client.get(f"/api/v1/users/{MAX_ID}", headers=admin.headers)
    assert_problem(response, 404, "not_found")


async def test_nul_character_in_text_is_rejected(client: httpx.AsyncClient, admin: Any) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"username": "a\x00b", "password": "x"}, headers=ZH
    )
    errors = _by_field(assert_problem(response, 422, "validation_failed"))
    assert errors["username"]["code"] == "nul_character"
    assert errors["username"]["message"] == "请删除空字符（U+0000）。"

    response = await client.post(
        "/api/v1/users",
        json={"username": "bob", "attributes": {"tags": ["ok", "n\x00"]}},
        headers=admin.headers,
    )
    errors = _by_field(assert_problem(response, 422, "validation_failed"))
    assert errors["attributes"]["code"] == "nul_character"
    assert errors["attributes"]["message"] == "Remove the NUL character (U+0000)."

    response = await client.post(
        "/api/v1/auth/tokens", json={"name": "\x00"}, headers=admin.headers
    )
    assert _by_field(assert_problem(response, 422, "validation_failed"))["name"]["code"] == (
        "nul_character"
    )

    for path, field in [
        ("/api/v1/users?q=a%00", "query.q"),
        ("/api/v1/jobs?name=%00", "query.name"),
        ("/api/v1/audit?action=x%00", "query.action"),
    ]:
        response = await client.get(path, headers=admin.headers)
        errors = _by_field(assert_problem(response, 422, "validation_failed"))
        assert errors[field]["code"] == "nul_character"


async def test_nul_character_in_uploaded_file_name(client: httpx.AsyncClient, admin: Any) -> None:
    # Built by hand: httpx would percent-encode the NUL in the file name.
    body = (
        b"--b0undary\r\n"
        b'Content-Disposition: form-data; name="file"; filename="re\x00port.txt"\r\n'
        b"Content-Type: text/pl\x00ain\r\n\r\n"
        b"hello\r\n"
        b"--b0undary--\r\n"
    )
    response = await client.post(
        "/api/v1/files",
        content=body,
        headers={**admin.headers, "Content-Type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 201, response.text
    assert "\x00" not in response.json()["filename"]
    assert "\x00" not in response.json()["content_type"]


async def test_invalid_unicode_is_a_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login",
        content=b'{"username": "a\\ud800", "password": "x"}',
        headers={"Content-Type": "application/json", **ZH},
    )
    errors = _by_field(assert_problem(response, 422, "validation_failed"))
    assert errors["username"] == {
        "field": "username",
        "code": "string_unicode",
        "message": "请输入有效的 Unicode 文本。",
    }
