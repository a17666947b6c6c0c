"""Value errors of the form engine: a stable code, parameters, and messages in zh-CN / en."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("This field is required.", "此字段为必填项。"),
    "unknown_field": ("This form has no such field.", "表单中没有此字段。"),
    "wrong_type": ("Expected {expected}.", "应为{expected_zh}。"),
    "too_long": ("Enter at most {max} characters.", "最多输入 {max} 个字符。"),
    "too_short": ("Enter at least {min} characters.", "至少输入 {min} 个字符。"),
    "pattern": ("The format is not valid.", "格式不正确。"),
    "too_small": ("Enter a value of at least {min}.", "请输入不小于 {min} 的值。"),
    "too_large": ("Enter a value of at most {max}.", "请输入不大于 {max} 的值。"),
    "too_many_decimals": ("Use at most {places} decimal places.", "最多保留 {places} 位小数。"),
    "too_many_digits": ("The number has too many digits.", "数字位数过多。"),
    "not_an_option": ("Choose one of the listed options.", "请从列表中选择。"),
    "too_few_rows": ("Add at least {min} rows.", "至少需要 {min} 行。"),
    "too_many_choices": ("Choose at most {max}.", "最多选择 {max} 项。"),
    "invalid_email": ("Enter a valid e-mail address.", "请输入有效的邮箱地址。"),
    "invalid_phone": (
        "Enter a mainland China mobile number or an international number (+…).",
        "请输入中国大陆手机号或国际号码（+…）。",
    ),
    "invalid_url": ("Enter a valid http(s) address.", "请输入有效的 http(s) 网址。"),
    "invalid_date": ("Enter a date (YYYY-MM-DD).", "请输入日期（YYYY-MM-DD）。"),
    "invalid_datetime": (
        "Enter a date and time with a time zone (ISO 8601).",
        "请输入带时区的日期时间（ISO 8601）。",
    ),
    "invalid_number": ("Enter a number.", "请输入数字。"),
    "invalid_integer": ("Enter a whole number.", "请输入整数。"),
    "invalid_boolean": ("Enter yes or no.", "请输入是或否。"),
    "not_unique": ("This value is already used by another record.", "该值已被其他记录使用。"),
    "unknown_reference": (
        "Nothing with id {id} exists to refer to.",
        "引用的对象（id {id}）不存在。",
    ),
    "duplicate_reference": ("Each item can be chosen only once.", "每一项只能选择一次。"),
    "too_many_links": ("Link at most {max} records.", "最多关联 {max} 条记录。"),
    "invalid_attachment": (
        "Give the ids of uploaded files (POST /api/v1/files).",
        "请填写已上传文件的 id（POST /api/v1/files）。",
    ),
    "too_many_files": ("Attach at most {max} files.", "最多上传 {max} 个附件。"),
    "file_too_large": (
        "{filename} is larger than {limit}.",
        "{filename} 超过了 {limit} 的大小上限。",
    ),
    "file_type_refused": (
        "{filename}: files of type {content_type} are not accepted here.",
        "{filename}：此处不接受 {content_type} 类型的文件。",
    ),
    "read_only": ("This field cannot be changed.", "此字段不可修改。"),
    "rule_failed": ("{message}", "{message}"),
}

_TYPE_NAMES_ZH = {
    "text": "文本",
    "a number": "数字",
    "a whole number": "整数",
    "true or false": "是或否",
    "a list": "列表",
    "an object": "对象",
    "a date": "日期",
    "a date and time": "日期时间",
}


def render_message(code: str, locale: str, params: dict[str, Any] | None = None) -> str:
    en, zh = MESSAGES.get(code, (code, code))
    values = dict(params or {})
    if "expected" in values:
        values.setdefault(
            "expected_zh", _TYPE_NAMES_ZH.get(str(values["expected"]), values["expected"])
        )
    template = zh if locale == "zh-CN" else en
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return template


@dataclass
class FieldProblem:
    """One problem with one field's value (path such as ``lines[2].qty``)."""

    field: str
    code: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def message(self, locale: str) -> str:
        return render_message(self.code, locale, self.params)


class InvalidValue(Exception):
    """Raised by a field type's conversion; carries a code and parameters."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class SchemaError(Exception):
    """The form schema itself is wrong (unknown type, bad options, dangling reference)."""

    def __init__(self, path: str, code: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.path = path
        self.code = code
        self.detail = detail
