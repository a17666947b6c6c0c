"""The blocking IMAP side of a poll (run in a thread): new UIDs, their sizes and bytes, IDLE.

``imaplib`` of Python 3.11 has no IDLE; :meth:`Mailbox.idle` speaks it (RFC 2177) on the
client's socket, bounded by a timeout, so a poll always returns.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import select
import ssl
import time
from dataclasses import dataclass

from runtime.channels.email.settings import MailboxSettings

TIMEOUT = 30.0


class MailboxError(Exception):
    """The server could not be reached, refused the login or the folder."""


def tls_context(settings: MailboxSettings) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.tls_ca_pem:
        context.load_verify_locations(cadata=settings.tls_ca_pem)
    return context


@dataclass
class Fetched:
    uid: int
    size: int
    raw: bytes
    #: Only the header was fetched (the message is bigger than allowed).
    truncated: bool = False


class Mailbox:
    def __init__(self, settings: MailboxSettings, password: str) -> None:
        self.settings = settings
        try:
            if settings.imap_security == "ssl":
                self.client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    settings.imap_host,
                    settings.imap_port,
                    ssl_context=tls_context(settings),
                    timeout=TIMEOUT,
                )
            else:
                self.client = imaplib.IMAP4(settings.imap_host, settings.imap_port, timeout=TIMEOUT)
                if settings.imap_security == "starttls":
                    self.client.starttls(tls_context(settings))
            self.client.login(settings.imap_user, password)
            typ, data = self.client.select(_quote(settings.folder))
            if typ != "OK":
                raise MailboxError(f"folder {settings.folder}: {data!r}")
            validity = self.client.response("UIDVALIDITY")[1]
            self.uidvalidity = int(validity[0]) if validity and validity[0] else 0
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            raise MailboxError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.logout()

    def new_uids(self, after: int) -> list[int]:
        typ, data = self.client.uid("SEARCH", f"UID {after + 1}:*")
        if typ != "OK":
            raise MailboxError(f"UID SEARCH: {data!r}")
        found = sorted(int(n) for n in b" ".join(d for d in data if d).split())
        return [uid for uid in found if uid > after]  # "n:*" also names the last when < n

    def fetch(self, uid: int) -> Fetched:
        size = self._size(uid)
        if size > self.settings.max_message_bytes:
            return Fetched(uid, size, self._part(uid, "BODY.PEEK[HEADER]"), truncated=True)
        return Fetched(uid, size, self._part(uid, "BODY.PEEK[]"))

    def _size(self, uid: int) -> int:
        _typ, data = self.client.uid("FETCH", str(uid), "(RFC822.SIZE)")
        for item in data:
            text = item if isinstance(item, bytes) else b""
            match = re.search(rb"RFC822\.SIZE (\d+)", text)
            if match:
                return int(match.group(1))
        raise MailboxError(f"no size for UID {uid}: {data!r}")

    def _part(self, uid: int, what: str) -> bytes:
        typ, data = self.client.uid("FETCH", str(uid), f"({what})")
        if typ != "OK":
            raise MailboxError(f"UID FETCH {uid}: {data!r}")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2:
                return bytes(item[1])
        raise MailboxError(f"UID FETCH {uid} returned no message")

    @property
    def can_idle(self) -> bool:
        return "IDLE" in self.client.capabilities

    def idle(self, seconds: float) -> bool:
        """Wait in IDLE until the server tells of new mail or ``seconds`` pass; whether mail
        came. The connection is usable afterwards."""
        client = self.client
        tag = client._new_tag().decode()
        client.send(f"{tag} IDLE\r\n".encode())
        line = client.readline()
        if not line.startswith(b"+"):
            raise MailboxError(f"IDLE refused: {line!r}")
        sock = client.sock
        deadline = time.monotonic() + seconds
        arrived = False
        try:
            while not arrived:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
                if not pending and not select.select([sock], [], [], left)[0]:
                    break
                line = client.readline()
                if not line:
                    raise MailboxError("the server closed the connection in IDLE")
                arrived = bool(re.match(rb"\* \d+ (EXISTS|RECENT)", line))
        finally:
            client.send(b"DONE\r\n")
            while True:
                line = client.readline()
                if not line:
                    raise MailboxError("the server closed the connection after IDLE")
                if line.startswith(tag.encode()):
                    break
        return arrived


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'
