"""A private IMAP server for tests: Debian's dovecot with its own config, base_dir, free ports,
a passwd-file user, maildir storage and TLS from a self-signed certificate.

``dovecot_server()`` yields an :class:`Imap` with the ports (plain/STARTTLS and implicit TLS)
and an ``append()`` that puts a raw message into the mailbox with IMAP APPEND. Without
``/usr/sbin/dovecot`` the test is skipped, unless ``TANGRAM_REQUIRE_IMAP=1`` (CI), where it
fails.
"""

from __future__ import annotations

import datetime
import imaplib
import ipaddress
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import free_port

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "support@example.cn", "imap-secret-1"


def self_signed(directory: Path, name: str = "imap.localhost") -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost named ``name`` (certificates to be
    trusted together need distinct names): (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def require_dovecot() -> None:
    if not os.path.exists(DOVECOT):
        if os.environ.get("TANGRAM_REQUIRE_IMAP") == "1":
            pytest.fail(
                "dovecot is required (TANGRAM_REQUIRE_IMAP=1) but /usr/sbin/dovecot is missing"
            )
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")


@dataclass
class Imap:
    port: int
    tls_port: int
    user: str
    password: str
    cert: Path
    folder: str = "INBOX"

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str | None = None) -> None:
        """Put a raw message into the mailbox (IMAP APPEND)."""
        client = self.connect()
        try:
            typ, data = client.append(folder or self.folder, None, None, raw)
            assert typ == "OK", data
        finally:
            with suppress(Exception):
                client.logout()

    def flags(self, folder: str | None = None) -> list[bytes]:
        client = self.connect()
        try:
            client.select(folder or self.folder, readonly=True)
            _typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
            return [d for d in data if d]
        finally:
            with suppress(Exception):
                client.logout()


def _config(root: Path, port: int, tls_port: int, cert: Path, key: Path) -> str:
    mail = pwd.getpwnam("dovecot")
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = {mail.pw_uid}
last_valid_uid = {mail.pw_uid}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail.pw_uid} gid={mail.pw_gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  inet_listener http {{
    port = 0
  }}
}}
imap_idle_notify_interval = 1 secs
"""


@contextmanager
def dovecot_server() -> Iterator[Imap]:
    require_dovecot()
    root = Path(tempfile.mkdtemp(prefix="tangram-dovecot-"))
    root.chmod(0o755)
    process: subprocess.Popen[bytes] | None = None
    try:
        mail = pwd.getpwnam("dovecot")
        (root / "run").mkdir()
        (root / "state").mkdir()
        (root / "home").mkdir()
        os.chown(root / "home", mail.pw_uid, mail.pw_gid)
        cert, key = self_signed(root)
        (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        port, tls_port = free_port(), free_port()
        config = root / "dovecot.conf"
        config.write_text(_config(root, port, tls_port, cert, key))
        process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stderr=subprocess.PIPE)
        imap = Imap(port, tls_port, USER, PASSWORD, cert)
        deadline = time.monotonic() + 15
        while True:
            try:
                imap.connect().logout()
                break
            except (OSError, imaplib.IMAP4.error) as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (
                        (root / "dovecot.log").read_text()
                        if (root / "dovecot.log").exists()
                        else ""
                    )
                    stderr = process.stderr.read().decode() if process.poll() is not None else ""
                    raise RuntimeError(f"dovecot did not start: {exc}\n{stderr}\n{log}") from exc
                time.sleep(0.1)
        yield imap
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(root, ignore_errors=True)


def tls_context(imap: Imap) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(imap.cert))
