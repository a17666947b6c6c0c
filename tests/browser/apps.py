"""Arranging data for browser tests through the live server's JSON API (as an administrator
would), so the pages under test see exactly what the API made."""

from __future__ import annotations

from typing import Any

import httpx

from tests.runtime.records.conftest import EVERYONE


class Api:
    """A signed-in API client of the live server (session cookie + CSRF header)."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        login = self.http.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        login.raise_for_status()
        self.http.headers["X-CSRF-Token"] = login.json()["csrf_token"]

    def call(self, method: str, url: str, body: Any = None, expect: int | None = None) -> Any:
        answer = self.http.request(method, url, json=body)
        if expect is not None:
            assert answer.status_code == expect, answer.text
        elif answer.is_error:
            raise AssertionError(f"{method} {url}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else None

    def publish_app(
        self,
        key: str,
        name: dict[str, str],
        forms: list[dict[str, Any]],
        *,
        permissions: list[dict[str, Any]] | None = None,
        **parts: Any,
    ) -> dict[str, int]:
        """Create app ``key`` with ``forms`` (their ids are assigned here) and ``parts``
        (flows, dashboards, roles …) and publish it; returns the form ids by key."""
        app = self.call("POST", "/api/v1/apps", {"key": key, "name": name}, expect=201)
        base = f"/api/v1/apps/{app['id']}"
        draft = self.call("GET", f"{base}/draft")
        for form in forms:
            draft = self.call(
                "POST",
                f"{base}/forms",
                {"key": form["key"], "label": form["label"], "row_version": draft["row_version"]},
            )
        ids = {f["key"]: f["id"] for f in draft["definition"]["forms"]}
        definition = {
            **draft["definition"],
            "forms": [{**form, "id": ids[form["key"]]} for form in forms],
            "permissions": EVERYONE if permissions is None else permissions,
            **parts,
        }
        saved = self.call(
            "PUT", f"{base}/draft", {"row_version": draft["row_version"], "definition": definition}
        )
        self.call("POST", f"{base}/publish", {"row_version": saved["row_version"]})
        return ids

    def close(self) -> None:
        self.http.close()
