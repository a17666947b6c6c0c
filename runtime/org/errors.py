"""Per-field and per-cell messages of the organisation API, in English and Chinese.

Problem codes (``department_cycle``, ``department_not_empty`` …) live in the one table in
:mod:`runtime.errors`; this table holds the messages of the ``errors: [...]`` entries.
"""

from __future__ import annotations

from typing import Any

from runtime.errors import FieldError, ProblemError
from runtime.i18n import pick

#: message id → (English, Chinese); ``{name}`` placeholders are filled from params.
MESSAGES: dict[str, tuple[str, str]] = {
    "code_taken": ("This code is taken.", "该编码已被使用。"),
    "key_taken": ("This key is taken.", "该标识已被使用。"),
    "unknown_department": ("No department has this id.", "该部门不存在。"),
    "unknown_app": ("No app has this id.", "该应用不存在。"),
    "too_deep": (
        "The department tree would be deeper than allowed.",
        "部门层级将超出允许的深度。",
    ),
    "department_cycle": (
        "A department cannot be placed under itself or one of its sub-departments.",
        "不能将部门放在其自身或其下级部门之下。",
    ),
    "not_a_member": ("This user is not a member.", "该用户不是成员。"),
    # import cells
    "required": ("This cell is required.", "此单元格为必填项。"),
    "name_required": ("A new department needs a name.", "新部门需要填写名称。"),
    "department_required": (
        "This needs a department code in the same row.",
        "同一行需要填写部门编码。",
    ),
    "username_required": (
        "This needs a username in the same row.",
        "同一行需要填写用户名。",
    ),
    "cell_without_header": (
        "This row has cells to the right of the last column header.",
        "该行在最后一个列标题右侧还有内容。",
    ),
    "invalid_code": (
        "Use at most 64 characters without spaces or slashes.",
        "最多 64 个字符，不能包含空格或斜杠。",
    ),
    "too_long": ("Enter at most {max} characters.", "最多输入 {max} 个字符。"),
    "invalid_username": (
        "Use lowercase letters, digits and . _ @ - (at most 64).",
        "只能使用小写字母、数字和 . _ @ -（最多 64 个）。",
    ),
    "invalid_email": ("Not a valid e-mail address.", "不是有效的邮箱地址。"),
    "email_taken": ("This e-mail belongs to another user.", "该邮箱已被其他用户使用。"),
    "invalid_position": (
        "Use member, head or deputy (成员, 负责人, 副负责人).",
        "请填写 成员、负责人 或 副负责人（member, head, deputy）。",
    ),
    "invalid_boolean": ("Use yes or no (是 / 否).", "请填写 是 或 否（yes / no）。"),
    "unknown_parent": (
        "No department has the code {code}, neither in the file nor already.",
        "文件和系统中都没有编码为 {code} 的部门。",
    ),
    "parent_cycle": (
        "The parent codes form a cycle: {cycle}.",
        "上级部门编码形成了循环：{cycle}。",
    ),
    "conflicting_value": (
        "Row {other} gives {subject} a different value here.",
        "第 {other} 行为 {subject} 填写了不同的值。",
    ),
    "multiple_primary": (
        "Row {other} already makes another department primary for {username}.",
        "第 {other} 行已为 {username} 指定了另一个主部门。",
    ),
    "duplicate_column": (
        "Another column ({other}) has the same meaning.",
        "另一列（{other}）表示相同的内容。",
    ),
}


def message(message_id: str, /, **params: Any) -> str:
    """The message in the request's language, with ``params`` filled in."""
    en, zh = MESSAGES[message_id]
    text = pick({"en": en, "zh-CN": zh})
    return text.format(**params) if params else text


def field_error(
    field: str, code: str, message_id: str | None = None, /, **params: Any
) -> FieldError:
    return FieldError(field, code, message(message_id or code, **params))


def invalid(field: str, code: str, message_id: str | None = None, /, **params: Any) -> ProblemError:
    """A 422 ``validation_failed`` naming one field."""
    return ProblemError(
        "validation_failed", errors=[field_error(field, code, message_id, **params)]
    )
