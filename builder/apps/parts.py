"""What differs between two app definitions, part by part, with summaries in plain words.

Forms and their fields are matched by their stable ids (a renamed key is a change, not a
removal and an addition); flows, dashboards, rules, roles, SLA policies and calendars by key;
permission sets by grant id. Each part lists what was added, removed and changed; a changed
entry names the attributes that differ and, for lists of named items (a flow's nodes, a
dashboard's widgets …), which of those items were added, removed or changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from builder.apps.definition import AppDefinition
from builder.apps.wording import listing, name, say, type_name
from engines.form.schema import FieldSpec, FormSchema

#: The parts of a definition, in the order designers see them.
PARTS = (
    "forms",
    "flows",
    "dashboards",
    "rules",
    "roles",
    "permissions",
    "sla",
    "calendars",
    "intake",
)

#: What one item of each part is called (en, zh-CN).
NOUNS: dict[str, tuple[str, str]] = {
    "forms": ("form", "表单"),
    "fields": ("field", "字段"),
    "flows": ("flow", "流程"),
    "dashboards": ("dashboard", "仪表盘"),
    "rules": ("rule", "规则"),
    "roles": ("role", "角色"),
    "permissions": ("permission set", "权限集"),
    "sla": ("SLA policy", "SLA 策略"),
    "calendars": ("calendar", "工作日历"),
    "intake": ("intake mapping", "渠道接入映射"),
}

#: Attribute names in words (en, zh-CN); others are shown by their key.
ATTRIBUTES: dict[str, tuple[str, str]] = {
    "key": ("key", "标识"),
    "label": ("name", "名称"),
    "name": ("name", "名称"),
    "title": ("title", "标题"),
    "type": ("type", "类型"),
    "help": ("help text", "帮助文本"),
    "required": ("required", "必填"),
    "unique": ("unique", "唯一"),
    "indexed": ("index", "索引"),
    "default": ("default value", "默认值"),
    "options": ("settings", "设置"),
    "linkage": ("linkage", "联动"),
    "fields": ("fields", "字段"),
    "sections": ("layout", "布局"),
    "rules": ("form rules", "表单规则"),
    "title_field": ("title field", "标题字段"),
    "overview": ("overview", "概览"),
    "form": ("form", "表单"),
    "triggers": ("triggers", "触发条件"),
    "trigger": ("trigger", "触发条件"),
    "nodes": ("nodes", "节点"),
    "edges": ("connections", "连线"),
    "fallback": ("fallback assignee", "兜底处理人"),
    "step_limit": ("step limit", "步数上限"),
    "widgets": ("widgets", "组件"),
    "filters": ("filters", "筛选条件"),
    "timezone": ("time zone", "时区"),
    "enabled": ("switched on", "启用状态"),
    "condition": ("condition", "条件"),
    "actions": ("actions", "动作"),
    "grantee": ("grantee", "授权对象"),
    "scope": ("row scope", "数据范围"),
    "rule": ("scope rule", "范围规则"),
    "calendar": ("calendar", "日历"),
    "priority_field": ("priority field", "优先级字段"),
    "targets": ("targets", "目标"),
    "responded_when": ("first response", "首次响应条件"),
    "resolved_when": ("resolution", "解决条件"),
    "weekly": ("working hours", "工作时间"),
    "holidays": ("holidays", "节假日"),
    "workdays": ("make-up workdays", "调休工作日"),
}


def attribute(key: str) -> str:
    pair = ATTRIBUTES.get(key)
    return key if pair is None else say(*pair)


def noun(part: str) -> str:
    return say(*NOUNS[part])


@dataclass(frozen=True)
class _Item:
    key: str
    name: str
    document: dict[str, Any]


def _items(models: Sequence[BaseModel], ident: str, label: str | None) -> dict[str, _Item]:
    items = {}
    for model in models:
        document = model.model_dump(mode="json")
        key = str(document[ident])
        labels = document.get(label) if label else None
        items[key] = _Item(key, name(labels if isinstance(labels, dict) else None, key), document)
    return items


def _named(value: Any) -> dict[str, Any] | None:
    """A list of objects that all carry an ``id`` or ``key``, as a dict by that name."""
    if not isinstance(value, list) or not value:
        return None
    if not all(isinstance(v, dict) for v in value):
        return None
    for ident in ("id", "key"):
        if all(ident in v for v in value):
            return {str(v[ident]): v for v in value}
    return None


def _attribute_changes(
    before: dict[str, Any], after: dict[str, Any], skip: frozenset[str] = frozenset()
) -> tuple[list[str], dict[str, dict[str, list[str]]]]:
    """The attributes that differ, and for named lists which of their items did."""
    changed: list[str] = []
    details: dict[str, dict[str, list[str]]] = {}
    for key in [*after, *(k for k in before if k not in after)]:
        if key in skip or before.get(key) == after.get(key):
            continue
        changed.append(key)
        old, new = _named(before.get(key) or []), _named(after.get(key) or [])
        if old is not None or new is not None:
            old, new = old or {}, new or {}
            details[key] = {
                "added": [k for k in new if k not in old],
                "removed": [k for k in old if k not in new],
                "changed": [k for k in new if k in old and old[k] != new[k]],
            }
    return changed, details


def _empty() -> dict[str, list[dict[str, Any]]]:
    return {"added": [], "removed": [], "changed": []}


def _entry(part: str, kind: str, item: _Item, changes: Sequence[str] = ()) -> dict[str, Any]:
    words = {"noun": noun(part), "name": item.name}
    if kind == "added":
        summary = say("adds {noun} {name}", "新增{noun} {name}", **words)
    elif kind == "removed":
        summary = say("removes {noun} {name}", "删除{noun} {name}", **words)
    else:
        what = listing([attribute(c) for c in changes])
        summary = say(
            "changes {noun} {name} ({what})", "修改{noun} {name}（{what}）", what=what, **words
        )
    return {"key": item.key, "name": item.name, "summary": summary, "changes": list(changes)}


def _diff_part(
    part: str, before: dict[str, _Item], after: dict[str, _Item]
) -> dict[str, list[dict[str, Any]]]:
    out = _empty()
    for key, item in after.items():
        if key not in before:
            out["added"].append(_entry(part, "added", item))
        elif before[key].document != item.document:
            changes, details = _attribute_changes(before[key].document, item.document)
            entry = _entry(part, "changed", item, changes)
            if details:
                entry["items"] = details
            out["changed"].append(entry)
    out["removed"] = [_entry(part, "removed", i) for k, i in before.items() if k not in after]
    return out


# --- forms and fields ------------------------------------------------------------------------


def _field_entry(form: str, kind: str, spec: FieldSpec, **extra: Any) -> dict[str, Any]:
    words = {"field": name(spec.label, spec.key), "form": form}
    if kind == "added":
        summary = say("adds field {field} to {form}", "在 {form} 中新增字段 {field}", **words)
    elif kind == "restored":
        summary = say("restores field {field} of {form}", "恢复 {form} 的字段 {field}", **words)
    elif kind == "removed":
        summary = say(
            "removes field {field} from {form} (archived, its values kept)",
            "从 {form} 中移除字段 {field}（归档，保留其值）",
            **words,
        )
    else:
        summary = say(
            "changes field {field} of {form} ({what})",
            "修改 {form} 的字段 {field}（{what}）",
            what=extra.pop("what"),
            **words,
        )
    entry = {"id": spec.id, "key": spec.key, "name": words["field"], "summary": summary}
    if kind in ("added", "restored"):
        entry["restored"] = kind == "restored"
    return {**entry, "changes": extra.pop("changes", []), **extra}


def _field_changes(before: FieldSpec, after: FieldSpec) -> tuple[list[str], str]:
    changes, _ = _attribute_changes(before.model_dump(mode="json"), after.model_dump(mode="json"))
    words = []
    for change in changes:
        if change == "type":
            pair = (type_name(before.type), type_name(after.type))
            words.append(say("type {old} → {new}", "类型 {old} → {new}", old=pair[0], new=pair[1]))
        else:
            words.append(attribute(change))
    return changes, listing(words)


def _diff_fields(before: FormSchema, after: FormSchema, form: str) -> dict[str, list[Any]]:
    out = _empty()
    old_live = {f.id: f for f in before.fields}
    old_archived = {f.id for f in before.archived}
    new_live = {f.id: f for f in after.fields}
    for fid, spec in new_live.items():
        old = old_live.get(fid)
        if old is None:
            kind = "restored" if fid in old_archived else "added"
            out["added"].append(_field_entry(form, kind, spec))
        elif old != spec:
            changes, what = _field_changes(old, spec)
            out["changed"].append(_field_entry(form, "changed", spec, changes=changes, what=what))
    out["removed"] = [
        _field_entry(form, "removed", spec) for fid, spec in old_live.items() if fid not in new_live
    ]
    return out


def _diff_forms(before: list[FormSchema], after: list[FormSchema]) -> dict[str, list[Any]]:
    out = _empty()
    old = {f.id: f for f in before}
    for form in after:
        item = _Item(form.key, name(form.label, form.key), {})
        previous = old.get(form.id)
        if previous is None:
            out["added"].append({**_entry("forms", "added", item), "id": form.id})
            continue
        fields = _diff_fields(previous, form, item.name)
        skip = frozenset({"fields", "archived", "next_field_id"})
        changes, _ = _attribute_changes(
            previous.model_dump(mode="json"), form.model_dump(mode="json"), skip
        )
        if any(fields.values()):
            changes.insert(0, "fields")
        if changes:
            entry = _entry("forms", "changed", item, changes)
            out["changed"].append({**entry, "id": form.id, "fields": fields})
    for form_id, form in old.items():
        if form_id not in {f.id for f in after}:
            item = _Item(form.key, name(form.label, form.key), {})
            out["removed"].append({**_entry("forms", "removed", item), "id": form.id})
    return out


# --- the whole definition --------------------------------------------------------------------

_KEYED: dict[str, tuple[str, str | None]] = {
    "flows": ("key", "name"),
    "dashboards": ("key", "title"),
    "rules": ("key", "name"),
    "roles": ("key", "name"),
    "permissions": ("id", None),
    "sla": ("key", "name"),
    "calendars": ("key", "name"),
    "intake": ("key", "label"),
}


def _part_of(definition: AppDefinition | None, part: str) -> list[Any]:
    return list(getattr(definition, part)) if definition is not None else []


def diff_definitions(
    before: AppDefinition | None, after: AppDefinition, parts: Sequence[str] = PARTS
) -> dict[str, Any]:
    """``{"parts": {part: {"added", "removed", "changed"}}, "summary": [...], "identical"}``;
    ``before`` None is an empty app (nothing published yet)."""
    result: dict[str, Any] = {}
    for part in parts:
        if part == "forms":
            result[part] = _diff_forms(_part_of(before, part), list(after.forms))
            continue
        ident, label = _KEYED[part]
        result[part] = _diff_part(
            part,
            _items(_part_of(before, part), ident, label),
            _items(_part_of(after, part), ident, label),
        )
    summary: list[str] = []
    for part in parts:
        for kind in ("added", "removed", "changed"):
            for entry in result[part][kind]:
                summary.append(entry["summary"])
                for field_kind in ("added", "removed", "changed"):
                    summary.extend(
                        f["summary"] for f in entry.get("fields", {}).get(field_kind, [])
                    )
    return {"parts": result, "summary": summary, "identical": not summary}
