"""What an import returns: the flow (when there is one) and every problem met on the way."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from engines.flow.model import Flow
from engines.form.check import SchemaProblem

#: zh-CN wording per code; ``{detail}`` is the English message (it names elements, attributes
#: and values the way the file spells them). The English message is the ``message`` itself.
ZH: dict[str, str] = {
    "xml_too_large": "文件过大：{detail}",
    "xml_malformed": "文件不是有效的 XML：{detail}",
    "xml_forbidden": "文件使用了被拒绝的 XML 功能：{detail}",
    "not_bpmn": "这不是 BPMN 2.0 文件：{detail}",
    "no_process": "文件中没有可导入的 bpmn:process",
    "extra_process": "一个流程只对应一个 process，此 process 未导入：{detail}",
    "unsupported_element": "不支持此元素：{detail}",
    "unsupported_event_definition": "不支持此事件定义：{detail}",
    "unsupported_expression_language": "不支持此表达式语言，已略去：{detail}",
    "unsupported_timer": "不支持循环定时器（timeCycle）",
    "invalid_timer": "定时器无效：{detail}",
    "timer_missing": "定时器既没有设定时间，也没有设定时长",
    "invalid_json": "内容不是有效的 JSON，已略去：{detail}",
    "invalid_script": "脚本无效：{detail}",
    "invalid_extension": "tangram:properties 无效：{detail}",
    "duplicate_extension": "tangram:properties 出现了两次，只使用第一个",
    "unknown_extension_property": "此元素不接受该扩展属性：{detail}",
    "invalid_diagram": "图形信息无效，已忽略：{detail}",
    "id_missing": "元素没有 id，未导入：{detail}",
    "duplicate_id": "id 重复，只导入第一个：{detail}",
    "missing_reference": "缺少引用，未导入：{detail}",
    "unknown_reference": "引用的节点不存在，未导入：{detail}",
    "boundary_dropped": "所附着的活动未导入，因此它也未导入：{detail}",
    "edge_dropped": "连线的端点未导入，因此连线也未导入：{detail}",
    "key_changed": "流程标识已调整：{detail}",
    "assignee_missing": "人工任务需要处理人（由谁办理），请在设计器中设置",
    "action_missing": (
        "服务任务需要一个动作（设置字段、新建记录、发送邮件或调用 Webhook），请在设计器中设置"
    ),
    "called_element_missing": "调用活动需要指定要调用的流程（calledElement）",
    "countersign_mode_assumed": "多实例人工任务已按“全部同意”的会签导入，请在设计器中检查其模式",
    "invalid_property": "属性无效：{detail}",
}


@dataclass(frozen=True)
class Problem:
    """Something in the file that was not imported as it is, or not at all.

    ``element_id`` and ``element_type`` (``bpmn:userTask``) name the element concerned;
    both are None for problems of the file as a whole. ``line`` and ``column`` are given
    for XML that does not parse.
    """

    code: str
    message: str
    element_id: str | None = None
    element_type: str | None = None
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def message_in(self, locale: str) -> str:
        """The message in ``zh-CN`` (from :data:`ZH`) or English (the message itself)."""
        template = ZH.get(self.code) if locale == "zh-CN" else None
        return template.format(detail=self.message) if template else self.message

    def in_locale(self, locale: str) -> Problem:
        return self if locale == "en" else replace(self, message=self.message_in(locale))


@dataclass
class ImportResult:
    """``document`` is the flow as far as the file gave it (the flow JSON, for the designer
    to complete); ``flow`` is that document validated, or None when it is not a valid flow
    yet (a user task without an assignee, say). ``problems`` lists everything imported
    differently from the file or left out; ``check_problems`` holds
    :func:`engines.flow.check.check_flow`'s findings when the import was asked to check."""

    flow: Flow | None
    document: dict[str, Any] | None
    problems: list[Problem] = field(default_factory=list)
    check_problems: list[SchemaProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The file was imported whole: a valid flow and no problems."""
        return self.flow is not None and not self.problems and not self.check_problems
