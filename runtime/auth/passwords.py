"""Argon2id password hashing and the password policy."""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from runtime.errors import FieldError, ProblemError
from runtime.i18n import pick

_hasher = PasswordHasher()
# Verified against when the account does not exist, so timing does not reveal usernames.
_DUMMY_HASH = _hasher.hash("tangram-dummy-password")

MIN_LENGTH = 8
MAX_LENGTH = 256
_COMMON = {
    "password",
    "12345678",
    "123456789",
    "1234567890",
    "qwertyui",
    "11111111",
    "iloveyou",
    "admin123",
    "password1",
    "abc12345",
    "88888888",
    "00000000",
}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_password(length: int = 16) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate


def check_policy(password: str, *, username: str = "", field: str = "password") -> None:
    """Raise ``weak_password`` with a field error explaining what is wrong."""
    problem: tuple[str, str] | None = None
    if len(password) < MIN_LENGTH:
        problem = (f"Use at least {MIN_LENGTH} characters.", f"密码至少需要 {MIN_LENGTH} 个字符。")
    elif len(password) > MAX_LENGTH:
        problem = (f"Use at most {MAX_LENGTH} characters.", f"密码最多 {MAX_LENGTH} 个字符。")
    elif password.lower() in _COMMON or len(set(password)) < 3:
        problem = ("This password is too easy to guess.", "该密码太容易被猜到。")
    elif username and password.lower() == username.lower():
        problem = ("The password must differ from the username.", "密码不能与用户名相同。")
    if problem:
        message = pick({"en": problem[0], "zh-CN": problem[1]})
        raise ProblemError("weak_password", errors=[FieldError(field, "weak_password", message)])
