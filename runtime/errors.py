"""RFC 9457 problem details: one table of error code → HTTP status → message (zh-CN / en).

Services raise :class:`ProblemError` with a stable code; the handlers installed by
:func:`install_error_handlers` turn it, validation errors and every framework error into
``application/problem+json`` in the caller's language.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException

from runtime.i18n import pick
from runtime.requestctx import request_id_var

log = logging.getLogger("tangram.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://tangram.dev/problems/"


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    en: str
    zh: str

    def title(self, locale: str | None = None, **params: Any) -> str:
        text = pick({"en": self.en, "zh-CN": self.zh}, locale)
        return text.format(**params) if params else text


#: The one table of problem codes. Codes are stable API: never rename one.
ERRORS: dict[str, ErrorSpec] = {
    "validation_failed": ErrorSpec(422, "The request is not valid.", "请求内容无效。"),
    "malformed_json": ErrorSpec(
        400, "The request body is not valid JSON.", "请求体不是有效的 JSON。"
    ),
    "payload_too_large": ErrorSpec(
        413, "The request body is larger than {limit} bytes.", "请求体超过 {limit} 字节的上限。"
    ),
    "not_found": ErrorSpec(404, "Nothing exists at this address.", "该地址不存在。"),
    "method_not_allowed": ErrorSpec(
        405, "This method is not allowed here.", "此地址不支持该请求方法。"
    ),
    "unsupported_media_type": ErrorSpec(
        415, "Send the body as application/json.", "请以 application/json 格式发送请求体。"
    ),
    "not_authenticated": ErrorSpec(401, "Sign in first.", "请先登录。"),
    "invalid_token": ErrorSpec(
        401, "The API token is invalid, expired or revoked.", "API 令牌无效、已过期或已吊销。"
    ),
    "session_expired": ErrorSpec(401, "Your session has expired.", "会话已过期，请重新登录。"),
    "invalid_credentials": ErrorSpec(401, "Wrong username or password.", "用户名或密码错误。"),
    "account_disabled": ErrorSpec(403, "This account is disabled.", "该账号已停用。"),
    "too_many_attempts": ErrorSpec(
        429,
        "Too many failed sign-ins. Try again in {retry_after} seconds.",
        "登录失败次数过多，请在 {retry_after} 秒后重试。",
    ),
    "rate_limited": ErrorSpec(
        429,
        "Too many requests. Try again in {retry_after} seconds.",
        "请求过于频繁，请在 {retry_after} 秒后重试。",
    ),
    "csrf_failed": ErrorSpec(403, "Missing or wrong CSRF token.", "缺少 CSRF 令牌或令牌不正确。"),
    "forbidden": ErrorSpec(403, "You are not allowed to do this.", "您没有执行此操作的权限。"),
    "token_scope": ErrorSpec(
        403,
        "This API token may not be used for this app or action.",
        "此 API 令牌不能用于该应用或操作。",
    ),
    "admin_required": ErrorSpec(
        403, "Only administrators can do this.", "只有管理员可以执行此操作。"
    ),
    "wrong_password": ErrorSpec(400, "The current password is wrong.", "当前密码不正确。"),
    "weak_password": ErrorSpec(422, "The password is too weak.", "密码强度不足。"),
    "conflict": ErrorSpec(
        409,
        "Someone else changed this in the meantime; reload and try again.",
        "该内容已被他人修改，请刷新后重试。",
    ),
    "already_exists": ErrorSpec(409, "{what} already exists.", "{what}已存在。"),
    "job_not_retryable": ErrorSpec(
        409, "Only dead or cancelled jobs can be retried.", "只有失败或已取消的任务可以重试。"
    ),
    "job_not_cancellable": ErrorSpec(
        409, "Only queued jobs can be cancelled.", "只有排队中的任务可以取消。"
    ),
    "definition_invalid": ErrorSpec(422, "The app definition has problems.", "应用定义存在问题。"),
    "publish_blocked": ErrorSpec(
        422,
        "Existing records would not fit the new schema.",
        "现有记录不符合新的结构，无法发布。",
    ),
    "plan_impossible": ErrorSpec(422, "This schema change cannot be made.", "无法进行此结构变更。"),
    "confirmation_required": ErrorSpec(
        422,
        "Type the app's key ({key}) to confirm.",
        "请输入应用标识（{key}）以确认。",
    ),
    "app_not_published": ErrorSpec(422, "The app is not published yet.", "该应用尚未发布。"),
    "form_not_published": ErrorSpec(
        422,
        "The form {form!r} is not published yet; publish it first.",
        "表单 {form!r} 尚未发布，请先发布。",
    ),
    "rule_invalid": ErrorSpec(
        422, "The rule cannot be tested as it is.", "该规则存在问题，无法测试。"
    ),
    "unsupported_file_type": ErrorSpec(
        422, "Only CSV and XLSX files can be imported.", "只能导入 CSV 或 XLSX 文件。"
    ),
    "unreadable_file": ErrorSpec(
        422,
        "The file cannot be read: it is damaged or not valid CSV/XLSX.",
        "无法读取文件：文件已损坏或不是有效的 CSV/XLSX。",
    ),
    "empty_file": ErrorSpec(422, "The file has no header row.", "文件没有标题行。"),
    "too_many_rows": ErrorSpec(
        422, "The file has more than {limit} rows.", "文件超过 {limit} 行的上限。"
    ),
    "import_no_columns": ErrorSpec(
        422,
        "No column header matches a field key or label of this form.",
        "没有任何列标题与此表单的字段标识或名称对应。",
    ),
    "import_invalid": ErrorSpec(
        422,
        "Some rows are not valid, so nothing was imported.",
        "部分行无效，因此未导入任何数据。",
    ),
    # templates
    "template_invalid": ErrorSpec(
        422,
        "The template has problems, so nothing was installed.",
        "模板存在问题，因此未安装任何内容。",
    ),
    "upgrade_unresolved": ErrorSpec(
        409,
        "Decide every conflict of the upgrade first.",
        "请先处理升级中的每一处冲突。",
    ),
    "no_upgrade": ErrorSpec(404, "This app has no upgrade waiting.", "该应用没有待处理的升级。"),
    # organisation
    "department_cycle": ErrorSpec(
        422,
        "A department cannot be placed under itself or one of its sub-departments.",
        "不能将部门放在其自身或其下级部门之下。",
    ),
    "department_not_empty": ErrorSpec(
        409,
        "The department still has sub-departments or members.",
        "该部门仍有下级部门或成员。",
    ),
    "org_import_no_columns": ErrorSpec(
        422,
        "The file needs a department code column or a username column.",
        "文件需要包含部门编码列或用户名列。",
    ),
    "task_not_open": ErrorSpec(409, "This task is already {status}.", "该任务已{status_zh}。"),
    "task_not_yours": ErrorSpec(403, "This task is not assigned to you.", "该任务未分配给您。"),
    "task_taken": ErrorSpec(409, "Someone has already claimed this task.", "该任务已被他人认领。"),
    "instance_finished": ErrorSpec(409, "This process has already ended.", "该流程已结束。"),
    "flow_action_invalid": ErrorSpec(
        422, "This task does not allow that: {reason}", "该任务不允许此操作：{reason}"
    ),
    "task_fields_invalid": ErrorSpec(
        422,
        "Some fields may not be changed, or are required, at this step.",
        "部分字段在此步骤不可修改或为必填。",
    ),
    "bpmn_invalid": ErrorSpec(
        422, "The BPMN file cannot be imported as it is.", "该 BPMN 文件无法按原样导入。"
    ),
    "overview_not_found": ErrorSpec(
        404, "The form {form!r} has no overview.", "表单 {form!r} 没有概览。"
    ),
    # reports
    "dashboard_not_found": ErrorSpec(
        404, "The app has no dashboard {dashboard!r}.", "该应用没有仪表盘 {dashboard!r}。"
    ),
    "widget_not_found": ErrorSpec(
        404,
        "The dashboard {dashboard!r} has no widget {widget!r}.",
        "仪表盘 {dashboard!r} 中没有组件 {widget!r}。",
    ),
    "widget_invalid": ErrorSpec(
        422, "The widget {widget!r} cannot be run as it is.", "组件 {widget!r} 无法按此运行。"
    ),
    "widget_field_hidden": ErrorSpec(
        403,
        "The widget {widget!r} uses a field you may not see.",
        "组件 {widget!r} 使用了您无权查看的字段。",
    ),
    "widget_failed": ErrorSpec(
        503,
        "The widget {widget!r} could not be computed right now.",
        "组件 {widget!r} 暂时无法计算。",
    ),
    "drill_cell_invalid": ErrorSpec(
        422,
        "The clicked cell does not belong to the widget {widget!r}.",
        "所点击的单元格不属于组件 {widget!r}。",
    ),
    "channel_not_found": ErrorSpec(
        404, "This app has no channel {key!r}.", "此应用没有渠道 {key!r}。"
    ),
    "channel_disabled": ErrorSpec(
        409, "The channel {key!r} is switched off.", "渠道 {key!r} 已停用。"
    ),
    "no_intake": ErrorSpec(
        422,
        "The app has no intake mapping {intake!r}: "
        "map its customer, ticket and message forms first.",
        "此应用没有渠道接入映射 {intake!r}：请先设置客户、工单和消息表单。",
    ),
    "not_reprocessable": ErrorSpec(
        409,
        "Only quarantined messages can be processed again.",
        "只有被隔离的消息可以重新处理。",
    ),
    # Merging records (customers, tickets).
    "merge_undone": ErrorSpec(409, "This merge was undone already.", "该合并已被撤销。"),
    "merge_not_found": ErrorSpec(404, "There is no such merge.", "没有这次合并。"),
    "internal_error": ErrorSpec(500, "Something went wrong on our side.", "服务器内部错误。"),
    "service_unavailable": ErrorSpec(
        503, "The service is not available right now.", "服务暂时不可用。"
    ),  # --- WeChat Official Account channel (runtime/channels/wechat) ---
    "wechat_bad_signature": ErrorSpec(
        403,
        "The WeChat signature does not match the channel's token.",
        "微信签名与渠道的令牌（Token）不符。",
    ),
    "wechat_malformed": ErrorSpec(
        400, "The WeChat message is not valid XML.", "微信消息不是有效的 XML。"
    ),
    "wechat_bad_encryption": ErrorSpec(
        400,
        "The WeChat message cannot be decrypted with the channel's EncodingAESKey and AppID.",
        "无法用渠道的 EncodingAESKey 和 AppID 解密此微信消息。",
    ),
    # --- generic webhooks (inbound hooks, outbound subscriptions) ---
    "webhook_unsigned": ErrorSpec(
        401,
        "Sign the request: X-Tangram-Timestamp and X-Tangram-Signature are required.",
        "请求须签名：缺少 X-Tangram-Timestamp 或 X-Tangram-Signature。",
    ),
    "webhook_bad_signature": ErrorSpec(
        401, "The request's signature does not match.", "请求签名不匹配。"
    ),
    "webhook_stale": ErrorSpec(
        401,
        "The request was signed more than 5 minutes ago (or ahead): sign it again.",
        "请求签名时间与当前相差超过 5 分钟，请重新签名。",
    ),
    "webhook_form_missing": ErrorSpec(
        422,
        "The hook's form {form!r} is not in the app's published version.",
        "此 Webhook 的目标表单 {form!r} 不在应用的已发布版本中。",
    ),
    "subscription_not_found": ErrorSpec(
        404, "This app has no such webhook subscription.", "此应用没有该 Webhook 订阅。"
    ),
    "delivery_not_found": ErrorSpec(
        404, "This app has no such webhook delivery.", "此应用没有该 Webhook 投递记录。"
    ),
    "delivery_not_replayable": ErrorSpec(
        409,
        "This delivery can no longer be sent again (its job was cleaned up or its secret "
        "is unreadable).",
        "此投递已无法重发（其任务已被清理或密钥无法读取）。",
    ),
    # --- public web forms (runtime/publicforms) ---
    "public_form_not_found": ErrorSpec(
        404, "There is no public form at this link.", "此链接没有公开表单。"
    ),
    "public_form_challenge": ErrorSpec(
        422,
        "The answer to the check question is wrong or the question expired.",
        "验证问题的答案不正确或问题已过期。",
    ),
    "public_form_challenge_used": ErrorSpec(
        422,
        "This check question was answered already; answer the new one.",
        "此验证问题已被使用，请回答新的问题。",
    ),
    "public_form_spam": ErrorSpec(
        422, "The submission looks automated and was refused.", "该提交疑似自动程序，已拒绝。"
    ),
    "public_form_rate_limited": ErrorSpec(
        429,
        "Too many submissions. Try again in {retry_after} seconds.",
        "提交过于频繁，请在 {retry_after} 秒后重试。",
    ),
    "public_form_slug_taken": ErrorSpec(
        409, "The link {slug!r} is taken.", "链接 {slug!r} 已被使用。"
    ),
    "public_form_unusable": ErrorSpec(
        422,
        "The form {form!r} cannot be published at a public link: {reason}",
        "表单 {form!r} 无法发布为公开链接：{reason}",
    ),
    "tracking_not_found": ErrorSpec(
        404,
        "This tracking link is unknown or was revoked.",
        "此跟踪链接不存在或已被撤销。",
    ),
    # --- telephony (CTI): runtime/channels/cti -------------------------------------------------
    "cti_bad_signature": ErrorSpec(
        401,
        "The call event is unsigned, or its signature is wrong or too old.",
        "通话事件未签名，或签名错误、已过期。",
    ),
    "cti_unknown_event": ErrorSpec(
        422,
        "Unknown call event {event!r}: use ringing, answered, ended or recording.",
        "未知的通话事件 {event!r}：请使用 ringing、answered、ended 或 recording。",
    ),
    "cti_no_call_url": ErrorSpec(
        409,
        "The channel {key!r} has no click-to-call address.",
        "渠道 {key!r} 未配置点击拨号地址。",
    ),
    "cti_no_extension": ErrorSpec(
        403,
        "You have no extension on the channel {key!r}.",
        "您在渠道 {key!r} 中没有分机。",
    ),
    "cti_call_failed": ErrorSpec(
        502,
        "The telephony system did not place the call.",
        "电话系统未能发起呼叫。",
    ),
}


@dataclass
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class ProblemError(Exception):
    """Raise from anywhere to answer with problem+json; ``params`` fill the message."""

    code: str
    detail: str | None = None
    errors: list[FieldError] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in ERRORS:
            raise ValueError(f"unknown problem code {self.code!r}")
        super().__init__(self.code)

    @property
    def status(self) -> int:
        return ERRORS[self.code].status


def problem_body(
    code: str,
    *,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    params: dict[str, Any] | None = None,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec = ERRORS[code]
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": spec.title(**(params or {})),
        "status": spec.status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    if extra:
        body.update(extra)
    return body


def problem_response(
    code: str, *, request: Request | None = None, headers: dict[str, str] | None = None, **kw: Any
) -> JSONResponse:
    instance = request.url.path if request is not None else None
    body = problem_body(code, instance=instance, **kw)
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


# --- validation messages ---------------------------------------------------------------------

_VALIDATION_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("This field is required.", "此字段为必填项。"),
    "extra_forbidden": ("This field is not allowed.", "不允许此字段。"),
    "string_type": ("Enter text.", "请输入文本。"),
    "string_unicode": ("Enter valid Unicode text.", "请输入有效的 Unicode 文本。"),
    "nul_character": (
        "Remove the NUL character (U+0000).",
        "请删除空字符（U+0000）。",
    ),
    "string_too_short": (
        "Enter at least {min_length} characters.",
        "至少输入 {min_length} 个字符。",
    ),
    "string_too_long": ("Enter at most {max_length} characters.", "最多输入 {max_length} 个字符。"),
    "string_pattern_mismatch": ("The format is not valid.", "格式不正确。"),
    "int_type": ("Enter a whole number.", "请输入整数。"),
    "int_parsing": ("Enter a whole number.", "请输入整数。"),
    "int_from_float": ("Enter a whole number.", "请输入整数。"),
    "float_type": ("Enter a number.", "请输入数字。"),
    "float_parsing": ("Enter a number.", "请输入数字。"),
    "bool_type": ("Enter true or false.", "请输入 true 或 false。"),
    "bool_parsing": ("Enter true or false.", "请输入 true 或 false。"),
    "greater_than": ("Enter a value greater than {gt}.", "请输入大于 {gt} 的值。"),
    "greater_than_equal": ("Enter a value of at least {ge}.", "请输入不小于 {ge} 的值。"),
    "less_than": ("Enter a value less than {lt}.", "请输入小于 {lt} 的值。"),
    "less_than_equal": ("Enter a value of at most {le}.", "请输入不大于 {le} 的值。"),
    "literal_error": ("Choose one of: {expected}.", "请选择以下之一：{expected}。"),
    "enum": ("Choose one of: {expected}.", "请选择以下之一：{expected}。"),
    "list_type": ("Enter a list.", "请输入列表。"),
    "dict_type": ("Enter an object.", "请输入对象。"),
    "model_attributes_type": ("Enter an object.", "请输入对象。"),
    "datetime_type": ("Enter a date and time.", "请输入日期时间。"),
    "datetime_parsing": ("Enter a date and time (ISO 8601).", "请输入 ISO 8601 格式的日期时间。"),
    "datetime_from_date_parsing": (
        "Enter a date and time (ISO 8601).",
        "请输入 ISO 8601 格式的日期时间。",
    ),
    "date_parsing": ("Enter a date (YYYY-MM-DD).", "请输入日期（YYYY-MM-DD）。"),
    "too_short": ("Enter at least {min_length} items.", "至少需要 {min_length} 项。"),
    "too_long": ("Enter at most {max_length} items.", "最多 {max_length} 项。"),
    "json_invalid": ("The body is not valid JSON.", "请求体不是有效的 JSON。"),
    "value_error": ("{error}", "{error}"),
}


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return any(_has_nul(v) for v in value)
    return False


def reject_nul(value: Any) -> Any:
    """Refuse U+0000 in text, also nested in lists and objects.

    PostgreSQL cannot store it in TEXT or JSONB, so it would fail as a 500 there (and work on
    SQLite); it is rejected on both as a validation error instead.
    """
    if _has_nul(value):
        raise PydanticCustomError("nul_character", "Text must not contain U+0000.")
    return value


#: A string parameter that may reach the database (query parameters; bodies use StrictModel).
Text = Annotated[str, AfterValidator(reject_nul)]


def validation_message(error_type: str, ctx: dict[str, Any] | None, fallback: str) -> str:
    pair = _VALIDATION_MESSAGES.get(error_type)
    if pair is None:
        return fallback
    template = pick({"en": pair[0], "zh-CN": pair[1]})
    try:
        return template.format(**{k: v for k, v in (ctx or {}).items()})
    except (KeyError, IndexError):
        return fallback


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        source = parts.pop(0)
        if not parts:
            return source
        if source != "body":
            parts.insert(0, source)
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += ("." if path else "") + str(part)
    return path


def field_errors_from_pydantic(errors: list[Any]) -> list[FieldError]:
    result = []
    for err in errors:
        ctx = err.get("ctx")
        message = validation_message(err.get("type", ""), ctx, err.get("msg", ""))
        result.append(FieldError(_field_path(tuple(err.get("loc", ()))), err["type"], message))
    return result


# --- handlers --------------------------------------------------------------------------------


async def _problem_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return problem_response(
        exc.code,
        request=request,
        detail=exc.detail,
        errors=exc.errors,
        params=exc.params,
        headers=exc.headers or None,
        extra=exc.extra or None,
    )


async def _validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(
            str(e.get("ctx", {}).get("error", "")) for e in errors if e["type"] == "json_invalid"
        )
        return problem_response("malformed_json", request=request, detail=detail or None)
    return problem_response(
        "validation_failed", request=request, errors=field_errors_from_pydantic(errors)
    )


_STATUS_CODES = {
    400: "malformed_json",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    503: "service_unavailable",
}


async def _http_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code)
    params = {}
    if exc.status_code == 413:
        limit = str(exc.detail)
        params["limit"] = limit if limit.isdigit() else request.app.state.settings.max_body_bytes
    if code is None:
        body = {
            "type": "about:blank",
            "title": str(exc.detail),
            "status": exc.status_code,
            "code": f"http_{exc.status_code}",
            "request_id": request_id_var.get(),
        }
        return JSONResponse(body, status_code=exc.status_code, media_type=PROBLEM_JSON)
    detail = exc.detail if isinstance(exc.detail, str) and exc.status_code == 400 else None
    return problem_response(
        code, request=request, detail=detail, params=params, headers=getattr(exc, "headers", None)
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response("internal_error", request=request)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _problem_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(Exception, _unhandled)
