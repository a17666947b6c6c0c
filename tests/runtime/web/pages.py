"""Helpers of the page tests: sign in through the sign-in page, read tokens and errors."""

from __future__ import annotations

import re
from html import unescape

import httpx

_HIDDEN = re.compile(r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)">')


def hidden(html: str, name: str) -> str:
    """The value of the first hidden input called ``name``."""
    for match in _HIDDEN.finditer(html):
        if match["name"] == name:
            return unescape(match["value"])
    raise AssertionError(f"no hidden input {name!r}")


def csrf_token(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]*)">', html)
    assert match, "no csrf-token meta"
    return match[1]


def field_errors(html: str, name: str) -> list[str]:
    """The inline error messages shown under the field ``name``."""
    match = re.search(
        rf'<ul class="field-errors" id="{re.escape(name)}-errors">(.*?)</ul>', html, re.S
    )
    if not match:
        return []
    return [unescape(m) for m in re.findall(r"<li>(.*?)</li>", match[1], re.S)]


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str, next_url: str = "/"
) -> str:
    """Sign in through the page like a browser; returns the CSRF token of the session."""
    form = await client.get("/sign-in", params={"next": next_url})
    assert form.status_code == 200, form.text
    answer = await client.post(
        "/sign-in",
        data={
            "username": username,
            "password": password,
            "next": next_url,
            "csrf_token": hidden(form.text, "csrf_token"),
        },
    )
    assert answer.status_code == 303, answer.text
    home = await client.get(answer.headers["location"])
    assert home.status_code == 200, home.text
    return csrf_token(home.text)
