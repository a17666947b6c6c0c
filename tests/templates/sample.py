"""A small helpdesk app with every part a template carries: two forms (a relation between
them, choices, labels in English and Chinese), a flow, a rule, an SLA policy on an app
calendar, a dashboard, roles and permission sets."""

from __future__ import annotations

from typing import Any


def forms(ids: dict[str, int]) -> list[dict[str, Any]]:
    customer = {
        "id": ids["customer"],
        "key": "customer",
        "label": {"en": "Customer", "zh-CN": "客户"},
        "fields": [
            {
                "id": 1,
                "key": "name",
                "type": "text",
                "label": {"en": "Name", "zh-CN": "名称"},
                "required": True,
            },
            {
                "id": 2,
                "key": "level",
                "type": "select",
                "label": {"en": "Level", "zh-CN": "等级"},
                "options": {
                    "options": [
                        {"value": "gold", "label": {"en": "Gold", "zh-CN": "金牌"}},
                        {"value": "basic", "label": {"en": "Basic", "zh-CN": "普通"}},
                    ]
                },
            },
        ],
    }
    ticket = {
        "id": ids["ticket"],
        "key": "ticket",
        "label": {"en": "Ticket", "zh-CN": "工单"},
        "fields": [
            {
                "id": 1,
                "key": "subject",
                "type": "text",
                "label": {"en": "Subject", "zh-CN": "主题"},
            },
            {
                "id": 2,
                "key": "priority",
                "type": "select",
                "label": {"en": "Priority", "zh-CN": "优先级"},
                "options": {"options": [{"value": v} for v in ("low", "normal", "high", "urgent")]},
            },
            {
                "id": 3,
                "key": "status",
                "type": "select",
                "label": {"en": "Status", "zh-CN": "状态"},
                "options": {"options": [{"value": v} for v in ("new", "open", "resolved")]},
            },
            {
                "id": 4,
                "key": "customer",
                "type": "relation",
                "label": {"en": "Customer", "zh-CN": "客户"},
                "options": {"form_id": ids["customer"]},
            },
            {
                "id": 5,
                "key": "assignee",
                "type": "user",
                "label": {"en": "Assignee", "zh-CN": "处理人"},
            },
            {"id": 6, "key": "escalated", "type": "boolean", "label": {"en": "Escalated"}},
        ],
    }
    return [customer, ticket]


FLOWS = [
    {
        "key": "triage",
        "name": {"en": "Triage", "zh-CN": "分诊"},
        "form": "ticket",
        "nodes": [
            {"id": "start", "type": "start"},
            {
                "id": "look",
                "type": "user_task",
                "name": {"en": "Look at it", "zh-CN": "查看"},
                "assignee": {"kind": "role", "key": "agent"},
            },
            {"id": "end", "type": "end"},
        ],
        "edges": [
            {"id": "e1", "source": "start", "target": "look"},
            {"id": "e2", "source": "look", "target": "end"},
        ],
    }
]
RULES = [
    {
        "key": "urgent_escalates",
        "name": {"en": "Urgent escalates", "zh-CN": "紧急升级"},
        "form": "ticket",
        "trigger": {"on": "created"},
        "condition": {"==": [{"var": "record.priority"}, "urgent"]},
        "actions": [{"type": "set_fields", "values": {"escalated": True}}],
    }
]
CALENDARS = [
    {
        "key": "always",
        "name": {"en": "Always", "zh-CN": "全天"},
        "timezone": "UTC",
        "weekly": {str(day): [["00:00", "24:00"]] for day in range(7)},
    }
]
SLA = [
    {
        "key": "standard",
        "name": {"en": "Standard", "zh-CN": "标准"},
        "form": "ticket",
        "calendar": "always",
        "priority_field": "priority",
        "targets": {"*": {"first_response": {"hours": 8}, "resolution": {"hours": 40}}},
        "resolved_when": {"==": [{"var": "record.status"}, "resolved"]},
    }
]
DASHBOARDS = [
    {
        "key": "ops",
        "title": {"en": "Operations", "zh-CN": "运营"},
        "widgets": [
            {
                "key": "total",
                "title": {"en": "Tickets", "zh-CN": "工单数"},
                "chart": "kpi",
                "form": "ticket",
                "measures": [{"key": "n", "agg": "count"}],
            },
        ],
    }
]
ROLES = [
    {"key": "agent", "name": {"en": "Agent", "zh-CN": "客服"}},
    {"key": "lead", "name": {"en": "Lead", "zh-CN": "组长"}},
]
PERMISSIONS = [
    {
        "id": "agents",
        "grantee": {"kind": "role", "key": "agent"},
        "actions": ["create", "read", "update"],
    },
    {"id": "everyone", "grantee": {"kind": "everyone"}, "actions": ["read"], "form": "customer"},
]


def definition(ids: dict[str, int]) -> dict[str, Any]:
    return {
        "forms": forms(ids),
        "flows": FLOWS,
        "rules": RULES,
        "calendars": CALENDARS,
        "sla": SLA,
        "dashboards": DASHBOARDS,
        "roles": ROLES,
        "permissions": PERMISSIONS,
    }
