"""Publish-time checks of the forms' overviews (a record's 360° view, :class:`Overview`).

Each timeline source and key figure names another form of the app and a relation field of
that form pointing at the overview's form; titles, shown fields, times, aggregated fields and
filters must exist there and suit what they are used for. Every problem carries a stable code
and a message in the check's locale (``en`` or ``zh-CN``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from engines.form.check import SchemaProblem, rule_vars
from engines.form.errors import SchemaError
from engines.form.registry import FIELD_TYPES
from engines.form.schema import FormSchema, KeyFigure, TimelineSource
from engines.logic import iter_errors

#: The aggregations a key figure may use.
AGGREGATIONS = ("count", "sum", "avg", "min", "max")
#: System columns a timeline may be ordered by (beside the form's datetime fields).
TIME_COLUMNS = ("created_at", "updated_at")
#: System columns a figure's filter may read (beside the form's stored fields).
FILTER_COLUMNS = frozenset(
    {"id", "created_at", "updated_at", "created_by", "updated_by", "owner_id", "department_id"}
)

#: Problem code → (en, zh-CN); ``{name}``, ``{form}``, ``{agg}`` are the problem's params.
MESSAGES: dict[str, tuple[str, str]] = {
    "overview.unknown_form": ("no form {form!r} in this app", "此应用中没有表单 {form!r}"),
    "overview.same_form": (
        "the overview lists the form itself; list forms that point at it",
        "概览不能列出表单自身，请列出关联到它的表单",
    ),
    "overview.unknown_field": (
        "form {form!r} has no field {name!r}",
        "表单 {form!r} 中没有字段 {name!r}",
    ),
    "overview.not_a_relation": (
        "{name!r} is not a relation field of form {form!r}",
        "{name!r} 不是表单 {form!r} 的关联字段",
    ),
    "overview.wrong_target": (
        "the relation {name!r} of form {form!r} does not point at this form",
        "表单 {form!r} 的关联字段 {name!r} 没有关联到此表单",
    ),
    "overview.bad_time": (
        "{name!r} is not a time to order by: use created_at, updated_at or a date-time field",
        "{name!r} 不能用作排序时间：请使用 created_at、updated_at 或日期时间字段",
    ),
    "overview.not_shown": (
        "field {name!r} cannot be shown in the timeline",
        "字段 {name!r} 不能显示在时间线中",
    ),
    "overview.bad_agg": (
        "unknown aggregation {agg!r}: use count, sum, avg, min or max",
        "未知的汇总方式 {agg!r}：请使用 count、sum、avg、min 或 max",
    ),
    "overview.field_required": (
        "the aggregation {agg!r} needs a field",
        "汇总方式 {agg!r} 需要指定字段",
    ),
    "overview.bad_agg_field": (
        "field {name!r} cannot be aggregated with {agg!r}",
        "字段 {name!r} 不能按 {agg!r} 汇总",
    ),
    "overview.bad_filter": ("the filter is not valid: {detail}", "筛选条件无效：{detail}"),
    "overview.duplicate_key": (
        "the key {name!r} is used by two figures",
        "标识 {name!r} 被两个指标使用",
    ),
}


def message(code: str, locale: str, **params: Any) -> str:
    en, zh = MESSAGES[code]
    return (zh if locale == "zh-CN" else en).format(**params)


class _Checker:
    def __init__(self, form: FormSchema, forms: dict[str, FormSchema], path: str, locale: str):
        self.form = form
        self.forms = forms
        self.path = path
        self.locale = locale
        self.problems: list[SchemaProblem] = []

    def add(self, where: str, code: str, **params: Any) -> None:
        self.problems.append(
            SchemaProblem(f"{self.path}{where}", code, message(code, self.locale, **params))
        )

    def other(self, where: str, key: str, via: str) -> FormSchema | None:
        """The other form, when it exists and ``via`` is its relation to this form."""
        other = self.forms.get(key)
        if other is None:
            self.add(f"{where}.form", "overview.unknown_form", form=key)
            return None
        if other.id == self.form.id:
            self.add(f"{where}.form", "overview.same_form", form=key)
            return None
        spec = other.find(via)
        if spec is None:
            self.add(f"{where}.via", "overview.unknown_field", form=key, name=via)
            return None
        field_type = FIELD_TYPES.find(spec.type)
        try:
            reference = field_type.reference(spec) if field_type is not None else None
        except SchemaError:
            reference = None
        if field_type is None or not field_type.has_column or reference is None:
            self.add(f"{where}.via", "overview.not_a_relation", form=key, name=via)
            return None
        if reference != ("form", self.form.id):
            self.add(f"{where}.via", "overview.wrong_target", form=key, name=via)
            return None
        return other

    def source(self, index: int, source: TimelineSource) -> None:
        where = f"sources[{index}]"
        other = self.other(where, source.form, source.via)
        if other is None:
            return
        shown = [("title", source.title)] if source.title is not None else []
        shown += [(f"fields[{i}]", key) for i, key in enumerate(source.fields)]
        for place, key in shown:
            spec = other.find(key)
            if spec is None:
                self.add(f"{where}.{place}", "overview.unknown_field", form=other.key, name=key)
            elif not FIELD_TYPES.get(spec.type).has_column:
                self.add(f"{where}.{place}", "overview.not_shown", name=key)
        if source.time not in TIME_COLUMNS:
            spec = other.find(source.time)
            if spec is None or spec.type != "datetime":
                self.add(f"{where}.time", "overview.bad_time", name=source.time)

    def figure(self, index: int, figure: KeyFigure) -> None:
        where = f"figures[{index}]"
        other = self.other(where, figure.form, figure.via)
        if figure.agg not in AGGREGATIONS:
            self.add(f"{where}.agg", "overview.bad_agg", agg=figure.agg)
            return
        if other is None:
            return
        if figure.field is None:
            if figure.agg != "count":
                self.add(f"{where}.field", "overview.field_required", agg=figure.agg)
        else:
            spec = other.find(figure.field)
            if spec is None:
                self.add(
                    f"{where}.field", "overview.unknown_field", form=other.key, name=figure.field
                )
            else:
                field_type = FIELD_TYPES.get(spec.type)
                if not field_type.has_column or figure.agg not in field_type.aggregations:
                    self.add(
                        f"{where}.field",
                        "overview.bad_agg_field",
                        name=figure.field,
                        agg=figure.agg,
                    )
        if figure.filter is not None:
            for error in iter_errors(figure.filter):
                self.add(
                    f"{where}.filter{error.path[1:]}", "overview.bad_filter", detail=error.message
                )
            keys = set(other.keys) | FILTER_COLUMNS
            for name in sorted(set(rule_vars(figure.filter)) - keys):
                self.add(f"{where}.filter", "overview.unknown_field", form=other.key, name=name)

    def run(self) -> list[SchemaProblem]:
        overview = self.form.overview
        if overview is None:
            return []
        for index, source in enumerate(overview.sources):
            self.source(index, source)
        for key, count in Counter(f.key for f in overview.figures).items():
            if count > 1:
                self.add("figures", "overview.duplicate_key", name=key)
        for index, figure in enumerate(overview.figures):
            self.figure(index, figure)
        return self.problems


def check_overviews(forms: list[FormSchema], locale: str = "en") -> list[SchemaProblem]:
    """Every problem of every form's overview, with paths like
    ``forms[0].overview.sources[1].via``."""
    by_key = {form.key: form for form in forms}
    problems: list[SchemaProblem] = []
    for index, form in enumerate(forms):
        checker = _Checker(form, by_key, f"forms[{index}].overview.", locale)
        problems.extend(checker.run())
    return problems
