"""Real servers on localhost that record what they receive: an SMTP server (aiosmtpd) and an
HTTP server that answers from a script (e.g. 500 first, then 200)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- SMTP ---------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server accepted; ``refuse`` is how many DATA commands to answer 451 first."""

    port: int = 0
    refuse: int = 0
    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    #: Message-IDs of every DATA received, refused ones included.
    attempts: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content)
        with self._lock:
            self.attempts.append(str(message["Message-ID"]))
            if self.refuse > 0:
                self.refuse -= 1
                return "451 4.3.0 try again later"
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@contextmanager
def smtp_server(refuse: int = 0) -> Iterator[Mailbox]:
    mailbox = Mailbox(refuse=refuse)
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    mailbox.port = controller.port
    try:
        yield mailbox
    finally:
        controller.stop()


# --- HTTP ---------------------------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    #: The body's bytes as they arrived (what a webhook signature signs).
    raw: bytes = b""


@dataclass
class Hook:
    """What the HTTP server received, and the answers it gives in order (the last one repeats)."""

    answers: list[tuple[int, Any]] = field(default_factory=lambda: [(200, {"ok": True})])
    requests: list[Received] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def answer(self, received: Received) -> tuple[int, Any]:
        with self._lock:
            index = len(self.requests)
            self.requests.append(received)
            return self.answers[min(index, len(self.answers) - 1)]


@contextmanager
def http_server(*answers: tuple[int, Any]) -> Iterator[Hook]:
    hook = Hook(answers=list(answers)) if answers else Hook()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, reply = hook.answer(
                Received(self.command, self.path, dict(self.headers.items()), body, raw)
            )
            payload = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
