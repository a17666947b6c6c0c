"""The flow checker's problems in the caller's language: a stable ``code`` (API), parameters,
and a message in ``en`` or ``zh-CN`` rendered from :data:`MESSAGES`.

A problem's ``code`` is what clients test; its message key (``key``) picks the wording, which
may be more precise than the code (``fields_without_form`` is said differently for field
rights, a set-fields action or a field assignee). Problems that wrap another engine's finding
(a JsonLogic error, a URL the egress policy refuses, a Jinja2 syntax error) carry its English
``detail`` inside a localised sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engines.form.check import SchemaProblem

#: Message key → (en, zh-CN); ``{name}`` placeholders are the problem's params.
MESSAGES: dict[str, tuple[str, str]] = {
    "duplicate_key": ("a flow key is used twice", "流程标识被重复使用"),
    "call_cycle": ("the flow ends up calling itself", "流程最终会调用它自己"),
    "unknown_form": ("no form {form!r} in this app", "此应用中没有表单 {form!r}"),
    "duplicate_id": ("the id {item!r} is used {count} times", "标识 {item!r} 被使用了 {count} 次"),
    "unknown_node": ("no node {node!r}", "没有节点 {node!r}"),
    "condition_not_allowed": (
        "only edges leaving an exclusive or inclusive gateway take a condition",
        "只有从排他网关或包容网关出发的连线才能设置条件",
    ),
    "start_count.none": (
        "a flow needs exactly one start event, it has none",
        "流程需要且只能有一个开始事件，当前没有",
    ),
    "start_count": (
        "a flow needs exactly one start event, it has {count}",
        "流程需要且只能有一个开始事件，当前有 {count} 个",
    ),
    "no_end": ("a flow needs an end event", "流程需要一个结束事件"),
    "incoming_not_allowed": (
        "a {type} node has no incoming edges",
        "{type_zh}不能有进入的连线",
    ),
    "outgoing_not_allowed": ("an end event has no outgoing edges", "结束事件不能有出去的连线"),
    "no_outgoing": ("a gateway needs an outgoing edge", "网关需要一条出去的连线"),
    "outgoing_count": (
        "a {type} node needs exactly one outgoing edge (use a gateway to split), it has {count}",
        "{type_zh}需要且只能有一条出去的连线（要分支请使用网关），当前有 {count} 条",
    ),
    "unreachable": ("no path leads here from the start", "从开始事件无法到达此处"),
    "no_way_out": ("no path leads from here to an end", "从此处无法到达结束事件"),
    "unknown_edge": (
        "{edge!r} is not an edge leaving this gateway",
        "{edge!r} 不是从此网关出去的连线",
    ),
    "condition_on_default": ("the default edge takes no condition", "默认连线不能设置条件"),
    "condition_missing": (
        "every edge leaving this gateway but the default needs a condition",
        "从此网关出去的连线，除默认连线外都需要条件",
    ),
    "default_missing": (
        "the conditions can all be false here: mark one edge as the default",
        "这里的条件可能全部不成立：请把一条连线设为默认连线",
    ),
    "unknown_calendar": (
        "no calendar {calendar!r} (the timer {node!r} counts business hours on it)",
        "没有工作日历 {calendar!r}（定时器 {node!r} 按它计算工作时间）",
    ),
    "not_an_activity": (
        "a boundary timer sits on a task or call activity",
        "边界定时器只能附着在任务或调用活动上",
    ),
    "unknown_flow": ("no flow {flow!r} in this app", "此应用中没有流程 {flow!r}"),
    "trigger_without_form": (
        "record triggers need the flow's form",
        "记录触发需要流程关联表单",
    ),
    "fields_without_form.rights": (
        "field rights need the flow's form",
        "字段权限需要流程关联表单",
    ),
    "fields_without_form.set_fields": (
        "setting fields needs the flow's form",
        "设置字段需要流程关联表单",
    ),
    "fields_without_form.assignee": (
        "a field assignee needs the flow's form",
        "按字段指定处理人需要流程关联表单",
    ),
    "fields_without_form.rule": (
        "record.{field}: this flow has no form",
        "record.{field}：此流程没有关联表单",
    ),
    "countersign_n_too_large": (
        "this assignee gives one signer, fewer than n={n}",
        "此处理人只有一位会签人，少于 n={n}",
    ),
    "not_a_user_task": ("{node!r} is not a user task", "{node!r} 不是人工任务"),
    "return_to_self": ("a task cannot return to itself", "任务不能退回到它自己"),
    "not_upstream": (
        "{node!r} does not come before this task: it cannot be returned to",
        "{node!r} 不在此任务之前，不能退回到那里",
    ),
    "unknown_field": ("no field {field!r}", "没有字段 {field!r}"),
    "unknown_field.in_form": (
        "no field {field!r} in form {form!r}",
        "表单 {form!r} 中没有字段 {field!r}",
    ),
    "wrong_field_type": ("{field!r} is not a {wanted} field", "{field!r} 不是{wanted_zh}字段"),
    "template_invalid": ("{detail}", "模板有语法错误：{detail}"),
    "webhook_secret_unknown": (
        "no webhook secret {secret!r} is configured (TANGRAM_WEBHOOK_SECRETS)",
        "没有配置名为 {secret!r} 的 Webhook 签名密钥（TANGRAM_WEBHOOK_SECRETS）",
    ),
    "reserved_variable": (
        "{name!r} is set by the engine in every context; choose another name",
        "{name!r} 由流程引擎在每个上下文中设置，请换一个名称",
    ),
    # Another engine's finding, in a localised sentence.
    "rule": ("{detail}", "规则有误：{detail}"),
    "url": ("{detail}", "网址不可用：{detail}"),
}

#: Node types as a zh-CN sentence names them.
TYPE_NAMES_ZH = {
    "start": "开始事件",
    "end": "结束事件",
    "user_task": "人工任务",
    "script": "脚本任务",
    "service_task": "服务任务",
    "exclusive_gateway": "排他网关",
    "parallel_gateway": "并行网关",
    "inclusive_gateway": "包容网关",
    "timer": "定时器",
    "boundary_timer": "边界定时器",
    "call_activity": "调用活动",
}
_FIELD_TYPES_ZH = {"user": "成员", "department": "部门"}
LOCALES = ("en", "zh-CN")


def render(key: str, locale: str, params: dict[str, Any]) -> str:
    """The message ``key`` in ``locale`` (English for any other), ``params`` filled in."""
    if key not in MESSAGES:
        return str(params.get("detail", key))
    en, zh = MESSAGES[key]
    values = {
        "type_zh": TYPE_NAMES_ZH.get(str(params.get("type")), params.get("type")),
        "wanted_zh": _FIELD_TYPES_ZH.get(str(params.get("wanted")), params.get("wanted")),
        **params,
    }
    try:
        return (zh if locale == "zh-CN" else en).format(**values)
    except (KeyError, IndexError, ValueError):
        return str(params.get("detail", key))


@dataclass(frozen=True)
class FlowProblem(SchemaProblem):
    """A problem of a flow: ``path``, stable ``code``, ``message`` (in the check's locale),
    and the ``params`` and message ``key`` to say it again in another language."""

    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    key: str = ""

    def message_in(self, locale: str) -> str:
        return render(self.key or self.code, locale, self.params)


def problem(path: str, code: str, locale: str = "en", key: str = "", **params: Any) -> FlowProblem:
    """The problem ``code`` at ``path``, worded by message ``key`` (default: the code)."""
    key = key or code
    return FlowProblem(path, code, render(key, locale, params), params, key)


__all__ = ["MESSAGES", "FlowProblem", "problem", "render"]
