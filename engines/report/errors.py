"""The one error of the report engine: a stable code, the widget, the pass and the field path.

Every refusal of the compiler (and of spec validation) is a :class:`ReportError`. ``code`` is
stable (``report.*``), ``widget`` the widget's key, ``stage`` the compiler pass that refused
(``spec`` for model validation), ``path`` where in the widget (``widgets[volume].measures[0]
.field``) and ``params`` the values the messages are formatted with; :meth:`message` renders the
message in ``en`` or ``zh-CN`` from :data:`MESSAGES`, so the runtime can answer problem+json in
the caller's language.
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    "report.invalid_spec": ("The widget is not valid: {detail}", "组件定义无效：{detail}"),
    "report.unknown_field": (
        "{form} has no field {field!r}.",
        "表单 {form} 中没有字段 {field!r}。",
    ),
    "report.unknown_join": (
        "{join!r} is not a relation of {form}: no such join.",
        "{join!r} 不是 {form} 的关联字段，无法关联。",
    ),
    "report.unknown_form": ("There is no form {form!r}.", "没有表单 {form!r}。"),
    "report.bad_aggregation": (
        "{agg} cannot be computed over {field!r} (a {type} field).",
        "无法对字段 {field!r}（{type} 类型）计算 {agg}。",
    ),
    "report.not_groupable": (
        "The widget cannot be grouped by {field!r} (a {type} field).",
        "无法按字段 {field!r}（{type} 类型）分组。",
    ),
    "report.bad_bucket": (
        "{bucket} needs a date or date-time field; {field!r} is a {type} field.",
        "{bucket} 需要日期或日期时间字段，{field!r} 是 {type} 类型。",
    ),
    "report.hidden_field": (
        "You may not see the field {field!r}, so the widget cannot use it.",
        "您无权查看字段 {field!r}，组件不能使用它。",
    ),
    "report.bad_filter": ("The filter is not valid: {detail}", "筛选条件无效：{detail}"),
    "report.too_many": (
        "A widget may have at most {max} {what}.",
        "一个组件最多只能有 {max} 个{what_zh}。",
    ),
    "report.absurd_limit": (
        "A limit of {limit} is out of range (1 to {max}).",
        "数量限制 {limit} 超出范围（1 至 {max}）。",
    ),
    "report.bad_sort": (
        "Sort by {key!r}: the widget has no measure or dimension with that key.",
        "按 {key!r} 排序：组件中没有这个指标或维度。",
    ),
    "report.not_decomposable": (
        "{agg} over {field!r} (through the one-to-many join {join!r}) cannot be computed "
        "without double counting; make {join!r}'s form the source instead.",
        "通过一对多关联 {join!r} 对 {field!r} 计算 {agg} 会重复计数，请改用该关联表单作为数据源。",
    ),
    "report.bad_chart": ("A {chart} chart needs {need}.", "{chart} 图表需要{need_zh}。"),
    "report.bad_timezone": (
        "{timezone!r} is not a known time zone.",
        "{timezone!r} 不是有效的时区。",
    ),
    "report.bad_runtime_filter": (
        "The dashboard filter {key!r} is not valid: {detail}",
        "仪表盘筛选 {key!r} 无效：{detail}",
    ),
    "report.compare_needs_range": (
        "Comparing with the previous period needs a date range on {field!r}.",
        "与上一周期比较需要在 {field!r} 上设定日期范围。",
    ),
    "report.bad_cell": ("The clicked cell is not valid: {detail}", "所点击的单元格无效：{detail}"),
    "report.unknown_cell_key": (
        "The clicked cell names {key!r}, which is not a dimension of this widget.",
        "所点击的单元格引用了 {key!r}，它不是该组件的维度。",
    ),
}

_WHAT_ZH = {"measures": "指标", "dimensions": "维度", "widgets": "组件", "joins": "关联"}


class ReportError(ValueError):
    """A widget the engine refuses: ``code``, ``widget``, ``stage``, ``path``, ``params``."""

    def __init__(
        self,
        code: str,
        *,
        widget: str | None = None,
        stage: str = "spec",
        path: str = "",
        **params: Any,
    ) -> None:
        self.code = code
        self.widget = widget
        self.stage = stage
        self.path = path
        self.params = params
        super().__init__(f"{path or widget or 'widget'}: {self.message('en')} [{code}]")

    def message(self, locale: str = "en") -> str:
        """The human message in ``en`` or ``zh-CN``."""
        en, zh = MESSAGES.get(self.code, (self.code, self.code))
        values = {"what_zh": _WHAT_ZH.get(str(self.params.get("what")), ""), **self.params}
        values.setdefault("need_zh", values.get("need", ""))
        try:
            return (zh if locale == "zh-CN" else en).format(**values)
        except (KeyError, IndexError, ValueError):
            return en

    def to_dict(self, locale: str = "en") -> dict[str, Any]:
        """One problem entry: ``{code, widget, pass, field, message}``."""
        return {
            "code": self.code,
            "widget": self.widget,
            "pass": self.stage,
            "field": self.path,
            "message": self.message(locale),
        }
