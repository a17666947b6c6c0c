"""WeChat's callback signatures and message encryption (the documented ``WXBizMsgCrypt``
scheme, shared by Official Accounts and WeCom).

- ``signature``: SHA-1 of the sorted strings (token, timestamp, nonce[, Encrypt]) joined;
- the AES key is ``base64(EncodingAESKey + "=")`` (32 bytes, AES-256-CBC), the IV its first 16
  bytes; the plaintext is ``random(16) + len(msg) as 4 bytes big-endian + msg + appid``,
  padded PKCS#7 to a multiple of 32, and the ciphertext base64-encoded.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
AES_KEY_CHARS = 43


class CryptoError(ValueError):
    """The ciphertext does not decrypt to a message for this account."""


def signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 (the protocol)


def signature_ok(expected: str | None, *parts: str) -> bool:
    return bool(expected) and hmac.compare_digest(signature(*parts), str(expected).lower())


def aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("the EncodingAESKey is not base64") from exc
    if len(encoding_aes_key) != AES_KEY_CHARS or len(key) != 32:
        raise CryptoError("the EncodingAESKey must be 43 characters (32 bytes)")
    return key


def encrypt(
    encoding_aes_key: str, app_id: str, message: bytes, *, random16: bytes | None = None
) -> str:
    key = aes_key(encoding_aes_key)
    body = (
        (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message + app_id.encode()
    )
    pad = BLOCK - len(body) % BLOCK
    body += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()


def decrypt(encoding_aes_key: str, app_id: str, ciphertext: str) -> bytes:
    """The message inside ``ciphertext``; :class:`CryptoError` unless it is well formed and
    addressed to ``app_id``."""
    key = aes_key(encoding_aes_key)
    try:
        data = base64.b64decode(ciphertext.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("the Encrypt element is not base64") from exc
    if not data or len(data) % 16:
        raise CryptoError("the ciphertext is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise CryptoError("bad padding (wrong EncodingAESKey?)")
    plain = plain[:-pad]
    if len(plain) < 20:
        raise CryptoError("the plaintext is too short")
    (length,) = struct.unpack(">I", plain[16:20])
    if 20 + length > len(plain):
        raise CryptoError("the message length is out of range")
    message, owner = plain[20 : 20 + length], plain[20 + length :]
    if not hmac.compare_digest(owner, app_id.encode()):
        raise CryptoError("the message is for another AppID")
    return message
