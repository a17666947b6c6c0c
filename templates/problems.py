"""Problems found in a template: each names the file and the path inside it, with a stable code
and a message in the caller's language (English or Simplified Chinese)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.errors import FieldError, ProblemError
from runtime.i18n import pick

#: Stable problem codes → (English, Chinese) message templates.
MESSAGES: dict[str, tuple[str, str]] = {
    "not_a_template": (
        "This is neither a template directory nor a .zip file.",
        "这既不是模板目录，也不是 .zip 文件。",
    ),
    "unsafe_path": (
        "The archive entry {name!r} points outside the template.",
        "压缩包条目 {name!r} 指向模板之外的位置。",
    ),
    "too_large": (
        "The template is larger than {limit} bytes.",
        "模板超过 {limit} 字节的上限。",
    ),
    "too_many_files": (
        "The template has more than {limit} files.",
        "模板文件数超过 {limit} 个的上限。",
    ),
    "missing_file": ("The file is missing.", "缺少此文件。"),
    "unknown_file": (
        "This file is not part of the template format.",
        "此文件不属于模板格式。",
    ),
    "malformed_json": ("The file is not valid JSON: {error}", "文件不是有效的 JSON：{error}"),
    "malformed_text": ("The file is not UTF-8 text.", "文件不是 UTF-8 文本。"),
    "invalid": ("{message}", "{message}"),
    "platform_too_old": (
        "The template needs Tangram {needed} or later; this is {current}.",
        "模板需要 Tangram {needed} 或更高版本，当前为 {current}。",
    ),
    "part_not_listed": (
        "The manifest does not list the part {part!r}.",
        "清单中未列出部分 {part!r}。",
    ),
    "unknown_locale": (
        "The locale {locale!r} is not listed in the manifest.",
        "清单中未列出语言 {locale!r}。",
    ),
    "unknown_label": (
        "No element has the label {label!r}.",
        "没有元素具有标签 {label!r}。",
    ),
    "key_mismatch": (
        "The file is named {name!r} but holds {key!r}.",
        "文件名为 {name!r}，但内容为 {key!r}。",
    ),
    "duplicate": ("{what} {key!r} is defined twice.", "{what} {key!r} 被定义了两次。"),
    "bpmn": ("{message}", "{message}"),
    "unknown_form": ("The app has no form {form!r}.", "应用中没有表单 {form!r}。"),
    "seed_invalid": ("{message}", "{message}"),
    "app_exists": (
        "An app with the key {key!r} exists already.",
        "标识为 {key!r} 的应用已存在。",
    ),
    "org_cycle": (
        "The department {department!r} is above itself.",
        "部门 {department!r} 的上级链条回到了它自己。",
    ),
    "unknown_role": ("The template has no role {role!r}.", "模板中没有角色 {role!r}。"),
    "unknown_user": (
        "No user {key!r}: not a demo user and not in this installation.",
        "没有用户 {key!r}：既不是演示用户，也不在本系统中。",
    ),
    "unknown_department": (
        "No department {key!r}: not in org.json and not in this installation.",
        "没有部门 {key!r}：既不在 org.json 中，也不在本系统中。",
    ),
    "unknown_group": (
        "No group {key!r}: not in org.json and not in this installation.",
        "没有用户组 {key!r}：既不在 org.json 中，也不在本系统中。",
    ),
    "bad_relative_time": (
        "{value!r} is not a time: give an ISO date-time or @now with signed parts such as "
        "@now-85d-3h+20m (units d, h, m, s).",
        "{value!r} 不是有效时间：请填写 ISO 日期时间，或 @now 加带符号的偏移，例如 "
        "@now-85d-3h+20m（单位 d、h、m、s）。",
    ),
    "bad_system_value": ("{message}", "{message}"),
    "not_newer": (
        "Version {version} is not newer than the installed {installed}.",
        "版本 {version} 不比已安装的 {installed} 更新。",
    ),
}


@dataclass(frozen=True)
class TemplateProblem:
    """One problem: ``file`` is the template's file (``forms/ticket.json``), ``path`` the place
    in it (``fields[3].type``, empty for the file as a whole)."""

    file: str
    path: str
    code: str
    message: str

    @property
    def field(self) -> str:
        return f"{self.file}#{self.path}" if self.path else self.file

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "path": self.path, "code": self.code, "message": self.message}


def problem(file: str, path: str, code: str, **params: Any) -> TemplateProblem:
    """A problem with the message of ``code`` in the caller's language."""
    en, zh = MESSAGES[code]
    return TemplateProblem(file, path, code, pick({"en": en, "zh-CN": zh}).format(**params))


def raw(file: str, path: str, code: str, message: str) -> TemplateProblem:
    """A problem an engine's validator worded (its code kept, its message as given)."""
    return TemplateProblem(file, path, code, message)


def invalid(problems: list[TemplateProblem]) -> ProblemError:
    """All problems at once, as problem+json ``template_invalid``: ``errors`` with the usual
    ``field`` (``file#path``), and ``problems`` with ``file`` and ``path`` apart."""
    return ProblemError(
        "template_invalid",
        errors=[FieldError(p.field, p.code, p.message) for p in problems],
        extra={"problems": [p.as_dict() for p in problems]},
    )
