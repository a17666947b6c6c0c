"""The browser fixtures themselves: the page's language reaches the live server, and users
made with ``live.create_user`` sign in from the browser."""

from __future__ import annotations

import pytest


def fetch_json(page, path: str, body: dict | None = None) -> dict:
    """``fetch`` from the page (its cookies, its Accept-Language); status and JSON body."""
    return page.evaluate(
        """async ([path, body]) => {
            const init = body === null ? {} : {
                method: 'POST',
                headers: {'Content-Type': 'application/json'},
                body: JSON.stringify(body),
            };
            const response = await fetch(path, init);
            return {status: response.status, body: await response.json()};
        }""",
        [path, body],
    )


@pytest.mark.parametrize(
    ("locale", "title"), [("en-US", "Sign in first."), ("zh-CN", "请先登录。")]
)
def test_the_page_language_reaches_the_server(page, live, locale, title):
    page.goto(f"{live.url}/api/health")
    assert page.evaluate("navigator.language") == locale
    answer = fetch_json(page, "/api/v1/auth/me")
    assert answer["status"] == 401 and answer["body"]["title"] == title


def test_a_created_user_signs_in_from_the_browser(page, live):
    alice = live.create_user("alice", display_name="Alice")
    admin = live.create_admin()
    assert alice.id != admin.id
    page.goto(f"{live.url}/api/health")
    login = fetch_json(page, "/api/v1/auth/login", {"username": "alice", "password": "wrong-pass"})
    assert login["status"] == 401
    login = fetch_json(
        page, "/api/v1/auth/login", {"username": alice.username, "password": alice.password}
    )
    assert login["status"] == 200
    me = fetch_json(page, "/api/v1/auth/me")
    assert me["status"] == 200
    assert me["body"]["id"] == alice.id and me["body"]["display_name"] == "Alice"
    assert me["body"]["is_admin"] is False
    # A wrong password is logged by Chromium as a failed resource load (401): that one only.
    assert len(page.errors) == 1 and "401" in page.errors[0]
