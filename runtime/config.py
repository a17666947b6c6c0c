"""Settings, read from the environment (prefix ``TANGRAM_``) and an optional ``.env`` file."""

from __future__ import annotations

import json
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError

from engines.form.schema import KEY_PATTERN
from runtime.net.egress import normalise_rules
from runtime.ratelimit.rates import DEFAULT_IP_MULTIPLIER, DEFAULT_RATE_LIMITS, parse_rate_table

VAR_DIR = Path("var")


def normalise_database_url(url: str) -> str:
    """Map plain driver names to the async drivers Tangram uses."""
    for plain, async_ in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return async_ + url[len(plain) :]
    return url


class Settings(BaseSettings):
    """Every setting has a working default for the embedded SQLite set-up."""

    model_config = SettingsConfigDict(env_prefix="TANGRAM_", env_file=".env", extra="ignore")

    database_url: str = Field(default=f"sqlite+aiosqlite:///{VAR_DIR}/tangram.db")
    host: str = "127.0.0.1"
    port: int = 8000
    # Secret for signing (CSRF, survey links). Generated once and kept in var/ when unset.
    secret_key: str = ""
    var_dir: Path = VAR_DIR
    files_dir: Path | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    max_upload_bytes: int = 100 * 1024 * 1024
    log_json: bool = False
    log_level: str = "INFO"
    admin_username: str = "admin"
    admin_password: str | None = None
    # Sessions and tokens
    session_cookie: str = "tangram_session"
    csrf_cookie: str = "tangram_csrf"
    session_ttl_hours: int = 24 * 14
    cookie_secure: bool | None = None  # None: Secure when the request came over HTTPS
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"])
    # Failed-login throttling
    login_window_seconds: int = 900
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 30
    # Request rate limiting (runtime/ratelimit): {route class: "N/second|minute|hour"}
    rate_limit_enabled: bool = True
    rate_limits: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    #: Per client address; a class missing here gets its ``rate_limits`` rate × the multiplier.
    rate_limits_per_ip: dict[str, str] = Field(default_factory=dict)
    rate_limit_ip_multiplier: float = Field(default=DEFAULT_IP_MULTIPLIER, gt=0)
    #: Buckets kept by the in-process backend (least recently used dropped beyond).
    rate_limit_max_keys: int = Field(default=100_000, ge=1)
    #: Shares rate-limit counts between processes (``redis://host:6379/0``).
    redis_url: str | None = None
    rate_limit_key_prefix: str = "tangram:rl:"
    # Jobs
    run_worker: bool = True  # `tangram run` starts one in-process worker (SQLite default)
    worker_concurrency: int = 4
    job_poll_seconds: float = 0.5
    job_lease_seconds: float = 60.0
    job_backoff_seconds: float = 2.0
    job_max_attempts: int = 5
    # Extra modules imported at start-up (they may register job handlers, field types ...)
    plugins: list[str] = Field(default_factory=list)
    #: The organisation's time zone: date buckets, auto-number dates, "today" in rules.
    time_zone: str = "UTC"
    #: The currency money fields are shown in when a field names none (ISO 4217).
    currency: str = "CNY"
    #: Server-sent events (the web UI's live notifications): how often each open stream looks
    #: for new notifications, and how often it sends a keep-alive comment.
    events_poll_seconds: float = Field(default=2.0, gt=0, le=60)
    events_heartbeat_seconds: float = Field(default=20.0, gt=0, le=300)
    # Reports (runtime/reports): cached widget results per process (0 entries: no cache)
    report_cache_entries: int = Field(default=1000, ge=0)
    report_cache_seconds: float = Field(default=300.0, ge=0)
    #: Widgets of one dashboard run at the same time (PostgreSQL; SQLite runs them in turn).
    report_concurrency: int = Field(default=4, ge=1, le=32)
    # Outgoing mail (flow service tasks, notifications); without a host, sending fails clearly.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    mail_from: str = "tangram@localhost"
    #: Outgoing webhooks (flow service tasks): seconds before a call counts as failed.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    #: Automation rules: how many rule firings may lead to one another (a rule's write firing
    #: the next rule is one level); the next one is logged as too deep and skipped.
    rule_max_depth: int = Field(default=5, ge=1, le=50)
    #: How often workers scan for time-triggered rules that are due.
    rule_scan_seconds: int = Field(default=60, ge=1, le=3600)
    #: Egress policy (runtime/net/egress.py). Link-local and metadata addresses, multicast and
    #: reserved ranges are always denied; loopback and private ranges are allowed, because a
    #: self-hosted installation calls its intranet. ``webhook_deny`` adds ranges to deny (a
    #: hosted installation: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 127.0.0.0/8, fc00::/7,
    #: ::1); ``webhook_allow`` lists ranges, addresses or host names (``*.corp.example`` for a
    #: domain) allowed even when denied. Both take a JSON list or comma-separated text.
    webhook_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_deny: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Signing secret of webhooks whose action names none; unset: derived from the secret key
    #: (HKDF-SHA256; ``tangram webhook-secret`` prints it).
    webhook_secret: str | None = None
    #: Named signing secrets an action may choose (``"secret": "crm"``), as a JSON object.
    webhook_secrets: dict[str, str] = Field(default_factory=dict)
    #: Days the webhook delivery log keeps its rows.
    webhook_log_days: int = Field(default=30, ge=1)
    db_pool_size: int = 10
    db_echo: bool = False

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("rate_limits")
    @classmethod
    def _rate_limits(cls, value: dict[str, str]) -> dict[str, str]:
        return parse_rate_table(value, DEFAULT_RATE_LIMITS)

    @field_validator("rate_limits_per_ip")
    @classmethod
    def _rate_limits_per_ip(cls, value: dict[str, str]) -> dict[str, str]:
        return parse_rate_table(value)

    @field_validator("webhook_allow", "webhook_deny", mode="before")
    @classmethod
    def _split_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part for part in text.replace("\n", ",").split(",") if part.strip()]
        return value

    @field_validator("webhook_allow")
    @classmethod
    def _webhook_allow(cls, value: list[str]) -> list[str]:
        return normalise_rules(value, hosts=True)

    @field_validator("webhook_deny")
    @classmethod
    def _webhook_deny(cls, value: list[str]) -> list[str]:
        return normalise_rules(value, hosts=False)

    @field_validator("webhook_secrets")
    @classmethod
    def _webhook_secrets(cls, value: dict[str, str]) -> dict[str, str]:
        for name, secret in value.items():
            if not re.match(KEY_PATTERN, name):
                raise ValueError(f"{name!r} is not a valid secret name (a-z, 0-9, _)")
            if len(secret) < 16:
                raise ValueError(f"the secret {name!r} is shorter than 16 characters")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str | None) -> str | None:
        if value and len(value) < 16:
            raise ValueError("the secret is shorter than 16 characters")
        return value or None

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("write redis://host:6379/0 (or rediss://…, unix://…)")
        return value or None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def storage_dir(self) -> Path:
        return self.files_dir or self.var_dir / "files"

    def resolved_secret(self) -> str:
        """The configured secret, or one generated once and stored under var/."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(48)
        path.write_text(secret)
        path.chmod(0o600)
        return secret


def describe_settings_error(exc: ValidationError | SettingsError) -> str:
    """One line per bad setting, named by its environment variable."""
    if isinstance(exc, SettingsError):  # e.g. a dict or list setting that is not JSON
        return f"{exc}: {exc.__cause__}" if exc.__cause__ else str(exc)
    lines = []
    for error in exc.errors():
        name = "TANGRAM_" + "_".join(str(part) for part in error["loc"]).upper()
        lines.append(f"{name}: {error['msg'].removeprefix('Value error, ')}")
    return "\n".join(lines)


@lru_cache
def get_settings() -> Settings:
    return Settings()
