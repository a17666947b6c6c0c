"""The form checks' problems in the caller's language.

The form engine reports its schema problems in English (for logs and the API's ``detail``);
the designers show them to people: :func:`localise` gives the message of a problem code in
zh-CN or English, with the names the English text quotes (``no field 'amount' …``).
"""

from __future__ import annotations

import re

from runtime.i18n import pick

#: Problem code → (English, 简体中文); ``{name}`` is the first quoted name of the engine's text.
MESSAGES: dict[str, tuple[str, str]] = {
    "unknown_type": ("There is no field type “{name}”.", "没有字段类型“{name}”。"),
    "bad_options": ("The settings of this field are not valid.", "此字段的设置无效。"),
    "unique_not_supported": (
        "A field of this type cannot be unique.",
        "此类型的字段不能设为唯一。",
    ),
    "bad_default": (
        "The default value does not suit this field.",
        "默认值不符合此字段的要求。",
    ),
    "unknown_field": ("The form has no field “{name}”.", "表单中没有字段“{name}”。"),
    "formula_cycle": (
        "Computed values depend on each other: {cycle}.",
        "计算值相互依赖：{cycle}。",
    ),
    "not_in_subtable": (
        "A field of this type cannot be in a sub-table.",
        "此类型的字段不能放在子表中。",
    ),
    "unknown_form": (
        "The related form is not a form of this app.",
        "关联的表单不属于此应用。",
    ),
    "not_a_relation": (
        "“{name}” is not a relation field of this form.",
        "“{name}”不是此表单的关联字段。",
    ),
    "already_exists": (
        "Another form of the app has this key.",
        "应用中的另一个表单已使用此键。",
    ),
}

#: The engine's English value errors (model validators) → (English, 简体中文).
VALUE_ERRORS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(r"^'(?P<name>[^']*)' is reserved for a system column$"),
        "“{name}” is reserved for a system column; choose another key.",
        "“{name}”是系统列的保留名称，请换一个键。",
    ),
    (
        re.compile(r"^field key '(?P<name>[^']*)' is used twice$"),
        "Two fields have the key “{name}”.",
        "有两个字段的键都是“{name}”。",
    ),
    (
        re.compile(r"^field id (?P<name>\d+) is used twice$"),
        "Two fields have the id {name}.",
        "有两个字段的 id 都是 {name}。",
    ),
    (
        re.compile(r"^give a label in at least one locale$"),
        "Give a label in at least one language.",
        "请至少用一种语言填写名称。",
    ),
    (
        re.compile(r"^unknown locale\(s\): (?P<name>.*)$"),
        "Unknown language(s): {name}.",
        "未知的语言：{name}。",
    ),
)

_QUOTED = re.compile(r"'([^']*)'|\b(\d+)\b")


def localise(code: str, message: str) -> str:
    """The message of problem ``code`` in the request's language (``message``: the engine's
    English text, kept when the code is not one of the form checks')."""
    if code.startswith("logic."):
        return pick(
            {"en": f"This rule is not valid: {message}.", "zh-CN": f"规则无效：{message}。"}
        )
    if code == "value_error":
        for pattern, en, zh in VALUE_ERRORS:
            found = pattern.match(message)
            if found:
                return pick({"en": en, "zh-CN": zh}).format(**found.groupdict())
        return message
    pair = MESSAGES.get(code)
    if pair is None:
        return message
    quoted = _QUOTED.search(message)
    name = (quoted.group(1) or quoted.group(2)) if quoted else ""
    cycle = message.partition(": ")[2]
    return pick({"en": pair[0], "zh-CN": pair[1]}).format(name=name, cycle=cycle)
