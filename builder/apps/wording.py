"""Plain words for designers: summaries of plans, diffs and rights in the caller's language.

Every phrase exists in English and Simplified Chinese (``say``); names are the labels of the
caller's locale, falling back to the other locale and then to the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.i18n import current_locale

#: Field type names (en, zh-CN); an unknown (plug-in) type is named by its key.
TYPE_NAMES: dict[str, tuple[str, str]] = {
    "text": ("text", "单行文本"),
    "textarea": ("long text", "多行文本"),
    "richtext": ("rich text", "富文本"),
    "integer": ("integer", "整数"),
    "decimal": ("decimal", "小数"),
    "currency": ("currency", "金额"),
    "percent": ("percent", "百分比"),
    "boolean": ("yes/no", "是/否"),
    "select": ("single choice", "单选"),
    "multiselect": ("multiple choice", "多选"),
    "date": ("date", "日期"),
    "datetime": ("date and time", "日期时间"),
    "email": ("e-mail", "邮箱"),
    "phone": ("phone", "电话"),
    "url": ("web address", "网址"),
    "user": ("user", "成员"),
    "department": ("department", "部门"),
    "relation": ("relation", "关联记录"),
    "multirelation": ("multiple relation", "多条关联记录"),
    "lookup": ("lookup", "引用字段"),
    "subtable": ("sub-table", "子表"),
    "attachments": ("attachments", "附件"),
    "autonumber": ("auto number", "自动编号"),
    "formula": ("formula", "公式"),
}


def zh() -> bool:
    return current_locale.get() == "zh-CN"


def say(en: str, zh_cn: str, **params: Any) -> str:
    """``en`` or ``zh_cn`` (by the request's locale) with ``{name}`` placeholders filled."""
    return (zh_cn if zh() else en).format(**params)


def name(labels: Mapping[str, str] | None, fallback: str) -> str:
    """The label in the caller's locale, else in another locale, else ``fallback``."""
    labels = labels or {}
    chosen = labels.get(current_locale.get()) or next((v for v in labels.values() if v), None)
    return chosen or fallback


def type_name(field_type: str) -> str:
    pair = TYPE_NAMES.get(field_type)
    return field_type if pair is None else pair[1 if zh() else 0]


def number(value: int) -> str:
    """``1,204``: grouped digits (read the same way in both languages)."""
    return f"{value:,}"


def listing(items: list[str]) -> str:
    """``a, b and c`` / ``a、b、c``."""
    if zh():
        return "、".join(items)
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
