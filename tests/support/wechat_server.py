"""A fake WeChat API on localhost (a real HTTP server on a free port) that records its calls.

Implements what the ``wechat_mp`` channel calls, as documented by WeChat:

- ``GET /cgi-bin/token?grant_type=client_credential&appid=&secret=`` →
  ``{"access_token", "expires_in"}`` (errcode 40013 / 40125 for a wrong AppID / secret);
- ``POST /cgi-bin/message/custom/send?access_token=`` with a JSON body (text, image);
- ``GET /cgi-bin/media/get?access_token=&media_id=`` → the file, or errcode 40007 as JSON;
- ``POST /cgi-bin/media/upload?access_token=&type=image`` (multipart, field ``media``) →
  ``{"type", "media_id", "created_at"}``.

An unknown token answers errcode 40001, an expired one (:meth:`WeChatApi.expire`) 42001.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, str]
    body: Any


@dataclass
class WeChatApi:
    app_id: str
    app_secret: str
    port: int = 0
    expires_in: int = 7200
    calls: list[Call] = field(default_factory=list)
    #: Files media/get serves: media_id → (filename, content type, bytes).
    media: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    #: Files media/upload received, by the media id it gave.
    uploads: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)
    #: Errcodes the next custom/send calls answer (then ok).
    send_errors: list[int] = field(default_factory=list)
    valid: set[str] = field(default_factory=set)
    expired: set[str] = field(default_factory=set)
    _count: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    @property
    def sent(self) -> list[dict[str, Any]]:
        return [c.body for c in self.paths("/cgi-bin/message/custom/send") if c.body]

    def expire(self) -> None:
        """Every token issued so far expires (as WeChat does after 7200 s)."""
        with self._lock:
            self.expired |= self.valid
            self.valid = set()

    # --- the endpoints ------------------------------------------------------------------------

    def _token_error(self, params: dict[str, str]) -> tuple[int, Any] | None:
        token = params.get("access_token", "")
        if token in self.valid:
            return None
        if token in self.expired:
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        return 200, {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}

    def handle(self, method: str, path: str, params: dict[str, str], headers: Any, raw: bytes):
        with self._lock:
            body: Any = None
            if raw and "json" in (headers.get("Content-Type") or ""):
                body = json.loads(raw)
            self.calls.append(Call(method, path, params, body))
            if path == "/cgi-bin/token" and method == "GET":
                if params.get("appid") != self.app_id:
                    return 200, {"errcode": 40013, "errmsg": "invalid appid"}
                if params.get("secret") != self.app_secret:
                    return 200, {"errcode": 40125, "errmsg": "invalid appsecret"}
                self._count += 1
                token = f"ACCESS_TOKEN_{self._count}_{int(time.time())}"
                self.valid.add(token)
                return 200, {"access_token": token, "expires_in": self.expires_in}
            refused = self._token_error(params)
            if refused is not None:
                return refused
            if path == "/cgi-bin/message/custom/send" and method == "POST":
                if not isinstance(body, dict) or "touser" not in body:
                    return 200, {"errcode": 44002, "errmsg": "empty post data"}
                msgtype = body.get("msgtype")
                if msgtype == "image" and body["image"]["media_id"] not in self.uploads:
                    return 200, {"errcode": 40007, "errmsg": "invalid media_id"}
                if self.send_errors:
                    code = self.send_errors.pop(0)
                    return 200, {"errcode": code, "errmsg": f"error {code}"}
                return 200, {"errcode": 0, "errmsg": "ok"}
            if path == "/cgi-bin/media/get" and method == "GET":
                found = self.media.get(params.get("media_id", ""))
                if found is None:
                    return 200, {"errcode": 40007, "errmsg": "invalid media_id"}
                return 200, found
            if path == "/cgi-bin/media/upload" and method == "POST":
                if params.get("type") != "image":
                    return 200, {"errcode": 40004, "errmsg": "invalid media type"}
                part = _multipart_file(headers.get("Content-Type") or "", raw, "media")
                if part is None:
                    return 200, {"errcode": 41005, "errmsg": "media data missing"}
                media_id = f"MEDIA_{len(self.uploads) + 1}"
                self.uploads[media_id] = part
                self.calls[-1].body = {"filename": part[0], "content_type": part[1]}
                return 200, {"type": "image", "media_id": media_id, "created_at": int(time.time())}
            return 404, {"errcode": 404, "errmsg": "not found"}


def _multipart_file(content_type: str, raw: bytes, name: str) -> tuple[str, str, bytes] | None:
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + raw
    )
    if not message.is_multipart():
        return None
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            data = part.get_payload(decode=True) or b""
            return part.get_filename() or "", part.get_content_type(), data
    return None


@contextmanager
def wechat_api(
    app_id: str = "wx1234567890abcdef", app_secret: str = "s3cret"
) -> Iterator[WeChatApi]:
    api = WeChatApi(app_id, app_secret)

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, reply = api.handle(self.command, url.path, params, self.headers, raw)
            if isinstance(reply, tuple):
                filename, content_type, payload = reply
                headers = {
                    "Content-Type": content_type,
                    "Content-disposition": f'attachment; filename="{filename}"',
                }
            else:  # WeChat answers its JSON as text/plain
                payload = json.dumps(reply).encode()
                headers = {"Content-Type": "text/plain"}
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
