"""The ``webhook`` channel kind: its settings (target form, field mapping, secret, idempotency
header) and the mapping of a JSON body onto the form's fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from runtime.auth.schemas import StrictModel
from runtime.channels.registry import ChannelKind
from runtime.errors import FieldError, ProblemError
from runtime.i18n import current_locale

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from runtime.channels.models import Channel

#: The largest body a hook takes by default (its ``max_body_bytes`` may lower or raise it).
DEFAULT_MAX_BODY = 256 * 1024
HARD_MAX_BODY = 5 * 1024 * 1024
_MISSING = object()


class FieldMap(StrictModel):
    """Where a form field's value comes from: a JSON pointer (RFC 6901) into the body, and a
    constant used when the pointer is absent or finds nothing."""

    pointer: str | None = Field(
        default=None,
        max_length=500,
        title="JSON pointer",
        description="Where in the body the value is (RFC 6901), e.g. /customer/email.",
        json_schema_extra={
            "title_zh": "JSON 指针",
            "description_zh": "值在请求体中的位置（RFC 6901），例如 /customer/email。",
        },
    )
    default: Any = Field(
        None,
        title="Default value",
        description="Used when the pointer is absent or finds nothing.",
        json_schema_extra={
            "title_zh": "默认值",
            "description_zh": "未设置指针或指针未取到值时使用。",
        },
    )

    @field_validator("pointer")
    @classmethod
    def _pointer(cls, value: str | None) -> str | None:
        if value is not None and value != "" and not value.startswith("/"):
            raise ValueError("a JSON pointer is empty or starts with '/'")
        return value


class WebhookSettings(StrictModel):
    form: str = Field(
        min_length=1,
        max_length=63,
        pattern=r"^[a-z][a-z0-9_]*$",
        title="Target form",
        description="The key of the form the records are created in.",
        json_schema_extra={
            "title_zh": "目标表单",
            "description_zh": "用于创建记录的表单的标识（key）。",
        },
    )
    fields: dict[str, FieldMap] = Field(
        min_length=1,
        max_length=200,
        title="Field mapping",
        description='Form field key → where its value comes from: {"pointer": a JSON pointer into '
        'the body, "default": a constant used when the pointer finds nothing}.',
        json_schema_extra={
            "title_zh": "字段映射",
            "description_zh": '表单字段标识 → 取值来源：{"pointer": 指向请求体的 JSON 指针, '
            '"default": 指针未取到值时使用的常量}。',
        },
    )
    secret: str = Field(
        min_length=16,
        max_length=200,
        title="Signing secret",
        description="The HMAC-SHA256 secret shared with the sender (stored encrypted, "
        "never shown).",
        json_schema_extra={
            "title_zh": "签名密钥",
            "description_zh": "与发送方共享的 HMAC-SHA256 签名密钥（加密存储，不会显示）。",
        },
    )
    idempotency_header: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9-]+$",
        title="Idempotency header",
        description="A request header carrying the sender's delivery ID: a repeat gets the first "
        "result and writes nothing. Empty: every delivery is new.",
        json_schema_extra={
            "title_zh": "幂等请求头",
            "description_zh": "携带发送方投递 ID 的请求头：重复投递将返回首次的结果且不再写入。"
            "留空则每次投递都视为新的投递。",
        },
    )
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY,
        ge=1,
        le=HARD_MAX_BODY,
        title="Largest body (bytes)",
        description="Bigger requests are refused.",
        json_schema_extra={
            "title_zh": "请求体大小上限（字节）",
            "description_zh": "超过该大小的请求将被拒绝。",
        },
    )


def _message(en: str, zh: str) -> str:
    return zh if current_locale.get() == "zh-CN" else en


class WebhookKind(ChannelKind):
    type = "webhook"
    label = ("Inbound webhook", "入站 Webhook")
    settings_model = WebhookSettings
    secret_fields = ("secret",)

    async def reprocess(self, db: AsyncSession, channel: Channel, logged: Any) -> Any:
        from runtime.channels.webhook import intake

        return await intake.reprocess(db, channel, logged)

    async def saved(self, db: AsyncSession, channel: Channel) -> None:
        """The target form and the mapped fields exist in the app's published version."""
        from sqlalchemy import select

        from builder.apps.models import App
        from runtime.records.forms import resolve_app

        app_key = (await db.execute(select(App.key).where(App.id == channel.app_id))).scalar()
        try:
            app = await resolve_app(db, str(app_key))
        except ProblemError:
            return  # not published yet: checked again on every delivery
        handle = app.handles.get(channel.settings.get("form", ""))
        if handle is None:
            raise ProblemError(
                "validation_failed",
                errors=[
                    FieldError(
                        "settings.form",
                        "unknown_form",
                        _message("The app has no such form.", "此应用没有该表单。"),
                    )
                ],
            )
        known = {f.key for f in handle.form.fields}
        errors = [
            FieldError(
                f"settings.fields.{key}",
                "unknown_field",
                _message("The form has no such field.", "表单没有该字段。"),
            )
            for key in channel.settings.get("fields", {})
            if key not in known
        ]
        if errors:
            raise ProblemError("validation_failed", errors=errors)


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The value ``pointer`` (RFC 6901) finds in ``document``, or ``_MISSING``."""
    if pointer == "":
        return document
    current = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, dict):
            if token not in current:
                return _MISSING
            current = current[token]
        elif isinstance(current, list):
            if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
                return _MISSING
            index = int(token)
            if index >= len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def map_values(settings: WebhookSettings, body: Any) -> tuple[dict[str, Any], list[FieldError]]:
    """The form values the body gives (pointer, else the constant); a field whose pointer
    finds nothing and that has no constant is an error."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, spec in settings.fields.items():
        found = _MISSING if spec.pointer is None else resolve_pointer(body, spec.pointer)
        if found is _MISSING or found is None:
            if spec.default is not None:
                values[key] = spec.default
            elif spec.pointer is not None:
                errors.append(
                    FieldError(
                        key,
                        "pointer_not_found",
                        _message(
                            f"The body has nothing at {spec.pointer}.",
                            f"请求体在 {spec.pointer} 处没有值。",
                        ),
                    )
                )
            continue
        values[key] = found
    return values, errors
