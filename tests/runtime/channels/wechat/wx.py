"""An independent implementation of WeChat's callback side, per WeChat's documentation: what
the WeChat servers send to an Official Account's URL (signed, and in safe mode encrypted)."""

from __future__ import annotations

import base64
import hashlib
import os
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

APP_ID = "wx1234567890abcdef"
APP_SECRET = "s3cret"
TOKEN = "tangramToken2026"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_0123456789ab"
OPENID = "oLVPpjqs9BhvzwPj5A-vTYAX3GLc"


def sha1_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def wx_encrypt(xml: bytes, app_id: str = APP_ID, key43: str = AES_KEY) -> str:
    key = base64.b64decode(key43 + "=")
    plain = os.urandom(16) + len(xml).to_bytes(4, "big") + xml + app_id.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def wx_decrypt(text: str, key43: str = AES_KEY) -> tuple[bytes, str]:
    key = base64.b64decode(key43 + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(base64.b64decode(text)) + decryptor.finalize()
    plain = plain[: -plain[-1]]
    length = int.from_bytes(plain[16:20], "big")
    return plain[20 : 20 + length], plain[20 + length :].decode()


def message(msg_type: str, *, openid: str = OPENID, created: int | None = None, **fields) -> bytes:
    created = created or int(time.time())
    parts = [
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>",
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
        f"<CreateTime>{created}</CreateTime>",
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
    ]
    for name, value in fields.items():
        parts.append(
            f"<{name}><![CDATA[{value}]]></{name}>"
            if isinstance(value, str)
            else f"<{name}>{value}</{name}>"
        )
    return ("<xml>" + "".join(parts) + "</xml>").encode()


def text(content: str, msg_id: int, **extra) -> bytes:
    return message("text", Content=content, MsgId=msg_id, **extra)


@dataclass
class Signed:
    query: str
    body: bytes


def plain_post(body: bytes, *, token: str = TOKEN, timestamp: int | None = None) -> Signed:
    stamp, nonce = str(timestamp or int(time.time())), os.urandom(4).hex()
    query = urlencode(
        {
            "signature": sha1_signature(token, stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            "openid": OPENID,
        }
    )
    return Signed(query, body)


def safe_post(
    body: bytes, *, token: str = TOKEN, timestamp: int | None = None, encrypt: str | None = None
) -> Signed:
    stamp, nonce = str(timestamp or int(time.time())), os.urandom(4).hex()
    encrypted = encrypt if encrypt is not None else wx_encrypt(body)
    query = urlencode(
        {
            "signature": sha1_signature(token, stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            "openid": OPENID,
            "encrypt_type": "aes",
            "msg_signature": sha1_signature(token, stamp, nonce, encrypted),
        }
    )
    outer = (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    return Signed(query, outer.encode())
