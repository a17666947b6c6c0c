"""Calls to the WeChat API: the access token (cached), media download and upload, customer
service messages (客服消息).

The access token is cached in the process and in ``channel.state`` (``access_token``,
``expires_at``: its expiry minus a margin), so every worker uses the same token until it is
about to expire; one fetch at a time (a lock per channel in the process, the channel row locked
on PostgreSQL while fetching). A call answered with an invalid or expired token (errcode
40001, 42001, 40014) fetches a new one and is tried once more. Every call goes through the
installation's egress policy (``runtime.net.egress``).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.channels.models import Channel
from runtime.config import get_settings
from runtime.db import utcnow
from runtime.net.egress import EgressPolicy, EgressRefused

#: Seconds before its announced expiry that a token counts as expired.
TOKEN_MARGIN_SECONDS = 300
#: Errcodes that mean the access token is invalid or expired.
TOKEN_ERRORS = frozenset({40001, 42001, 40014})
#: Errcodes worth trying again later (system busy, rate limits).
TRANSIENT_ERRORS = frozenset({-1, 45009, 45011})
TIMEOUT_SECONDS = 10.0
#: Downloads made while WeChat waits for the callback's answer (it gives up after 5 s).
DOWNLOAD_TIMEOUT_SECONDS = 3.5
#: The largest media file downloaded (WeChat's own limit for videos is 10 MB).
MAX_MEDIA_BYTES = 10 * 1024 * 1024

_tokens: dict[int, tuple[str, datetime]] = {}
_locks: dict[tuple[int, int], asyncio.Lock] = {}


class WeChatError(Exception):
    """The API answered with an errcode (or could not be reached: ``errcode`` None)."""

    def __init__(self, errcode: int | None, message: str) -> None:
        super().__init__(f"errcode {errcode}: {message}" if errcode is not None else message)
        self.errcode = errcode
        self.errmsg = message

    @property
    def transient(self) -> bool:
        return self.errcode is None or self.errcode in TRANSIENT_ERRORS


@dataclass(frozen=True)
class Media:
    filename: str
    content_type: str
    data: bytes


def forget_tokens() -> None:
    """Drop the process's token cache (tests, a changed app secret)."""
    _tokens.clear()
    _locks.clear()


class Client:
    """The API of one channel, within the caller's transaction (``state_writer`` gets the
    statement that stores a new token: a job keeps it even when its attempt fails)."""

    def __init__(
        self,
        db: AsyncSession,
        channel: Channel,
        *,
        app_id: str,
        app_secret: str,
        api_base: str,
        state_writer: Any = None,
    ) -> None:
        self.db = db
        self.channel = channel
        self.app_id = app_id
        self.app_secret = app_secret
        self.base = api_base.rstrip("/")
        self.state_writer = state_writer
        self.policy = EgressPolicy.from_settings(get_settings())

    # --- the access token ---------------------------------------------------------------------

    @staticmethod
    def _from_state(state: dict[str, Any] | None) -> tuple[str, datetime] | None:
        state = state or {}
        token, expires = state.get("access_token"), state.get("expires_at")
        if not isinstance(token, str) or not isinstance(expires, str):
            return None
        try:
            at = datetime.fromisoformat(expires)
        except ValueError:
            return None
        now = utcnow()
        if at.tzinfo is None and now.tzinfo is not None:
            at = at.replace(tzinfo=now.tzinfo)
        return (token, at) if at > now else None

    async def token(self, *, stale: str | None = None) -> str:
        """A valid access token; ``stale``: the one the API just refused (fetch another)."""
        lock = _locks.setdefault((id(asyncio.get_running_loop()), self.channel.id), asyncio.Lock())
        async with lock:
            memory = _tokens.get(self.channel.id)
            if memory is not None and memory[0] != stale and memory[1] > utcnow():
                return memory[0]
            state = self.channel.state or {}
            if self.db.bind.dialect.name == "postgresql":  # one fetch across processes
                state = (
                    await self.db.execute(
                        select(Channel.state).where(Channel.id == self.channel.id).with_for_update()
                    )
                ).scalar_one() or {}
            stored = self._from_state(state)
            if stored is not None and stored[0] != stale:
                _tokens[self.channel.id] = stored
                return stored[0]
            _tokens.pop(self.channel.id, None)
            answer = await self._call(
                "GET",
                "/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.app_id,
                    "secret": self.app_secret,
                },
            )
            token = answer.get("access_token")
            if not isinstance(token, str) or not token:
                raise WeChatError(None, "the token endpoint gave no access_token")
            seconds = int(answer.get("expires_in") or 7200)
            expires = utcnow() + timedelta(seconds=max(60, seconds - TOKEN_MARGIN_SECONDS))
            _tokens[self.channel.id] = (token, expires)
            new_state = {**state, "access_token": token, "expires_at": expires.isoformat()}
            statement = update(Channel).where(Channel.id == self.channel.id).values(state=new_state)
            await self.db.execute(statement)
            if self.state_writer is not None:
                self.state_writer(statement)
            return token

    # --- calls --------------------------------------------------------------------------------

    async def _send(
        self, method: str, path: str, *, seconds: float = TIMEOUT_SECONDS, **kw: Any
    ) -> httpx.Response:
        url = self.base + path
        try:
            await self.policy.resolve(url)
        except EgressRefused as exc:
            raise WeChatError(None, f"egress refused: {exc}") from None
        except OSError as exc:
            raise WeChatError(None, f"cannot resolve {url}: {exc}") from None
        try:
            async with httpx.AsyncClient(timeout=seconds, follow_redirects=False) as http:
                return await http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise WeChatError(None, f"{type(exc).__name__}: {exc}") from None

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            raise WeChatError(None, f"HTTP {response.status_code}")
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise WeChatError(None, "the answer is not JSON") from None
        if not isinstance(body, dict):
            raise WeChatError(None, "the answer is not a JSON object")
        errcode = body.get("errcode")
        if isinstance(errcode, int) and errcode != 0:
            raise WeChatError(errcode, str(body.get("errmsg") or ""))
        return body

    async def _call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        return self._json(await self._send(method, path, **kw))

    async def _with_token(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A call with the access token, tried again once with a fresh token."""
        token = await self.token()
        params = dict(kw.pop("params", {}) or {})
        for attempt in (1, 2):
            response = await self._send(
                method, path, params={**params, "access_token": token}, **kw
            )
            errcode = _errcode(response)
            if errcode in TOKEN_ERRORS and attempt == 1:
                token = await self.token(stale=token)
                continue
            return response
        raise AssertionError("unreachable")

    async def send_text(self, openid: str, text: str) -> dict[str, Any]:
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        return self._json(
            await self._with_token(
                "POST", "/cgi-bin/message/custom/send", content=_dumps(body), headers=_JSON
            )
        )

    async def send_image(self, openid: str, media_id: str) -> dict[str, Any]:
        body = {"touser": openid, "msgtype": "image", "image": {"media_id": media_id}}
        return self._json(
            await self._with_token(
                "POST", "/cgi-bin/message/custom/send", content=_dumps(body), headers=_JSON
            )
        )

    async def upload_image(self, filename: str, content_type: str, data: bytes) -> str:
        """A temporary media id for an image (3 days)."""
        answer = self._json(
            await self._with_token(
                "POST",
                "/cgi-bin/media/upload",
                params={"type": "image"},
                files={"media": (filename, data, content_type)},
            )
        )
        media_id = answer.get("media_id")
        if not isinstance(media_id, str) or not media_id:
            raise WeChatError(None, "media/upload gave no media_id")
        return media_id

    async def download(self, media_id: str) -> Media:
        """A temporary media file (an image or a voice message the user sent)."""
        response = await self._with_token(
            "GET",
            "/cgi-bin/media/get",
            params={"media_id": media_id},
            seconds=DOWNLOAD_TIMEOUT_SECONDS,
        )
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code >= 400 or kind in ("application/json", "text/plain"):
            self._json(response)  # raises with the errcode
            raise WeChatError(None, "media/get gave no file")
        if len(response.content) > MAX_MEDIA_BYTES:
            raise WeChatError(None, f"the media file is larger than {MAX_MEDIA_BYTES} bytes")
        filename = _filename(response.headers.get("content-disposition", "")) or media_id
        return Media(filename, kind or "application/octet-stream", response.content)


_JSON = {"Content-Type": "application/json; charset=utf-8"}


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()  # WeChat wants UTF-8, not \u escapes


def _errcode(response: httpx.Response) -> int | None:
    if "json" not in response.headers.get("content-type", "") and not response.content.startswith(
        b"{"
    ):
        return None
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    code = body.get("errcode") if isinstance(body, dict) else None
    return code if isinstance(code, int) else None


def _filename(disposition: str) -> str | None:
    for part in disposition.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "filename" and value:
            return value.strip().strip('"').replace("/", "_")[:200] or None
    return None
