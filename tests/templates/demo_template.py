"""Test-only: the bundled Customer Center with a small organisation, demo people and synthetic
seed rows in the formats of templates/README.md (org.json, demo/users.json, seed extensions),
written to a temporary directory. ``scale`` 1.0 is about the size of the real demo data
(300 customers, 2,000 tickets, 5,000 communications, 1,400 surveys, 120 returns)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2] / "templates" / "customer_center"
PASSWORD = "Demo@2026"

ORG = {
    "departments": [
        {"code": "cs", "name": {"zh-CN": "客户服务中心", "en": "Customer Service Center"}},
        {
            "code": "cs_east",
            "name": {"zh-CN": "华东客服部", "en": "East China Support"},
            "parent": "cs",
        },
        {
            "code": "cs_north",
            "name": {"zh-CN": "华北客服部", "en": "North China Support"},
            "parent": "cs",
        },
    ],
    "groups": [
        {"key": "first_line", "name": {"zh-CN": "一线客服", "en": "First-line support"}},
        {"key": "finance", "name": {"zh-CN": "财务", "en": "Finance"}},
        {"key": "warehouse", "name": {"zh-CN": "仓储", "en": "Warehouse"}},
        {"key": "supervisors", "name": {"zh-CN": "主管", "en": "Supervisors"}},
    ],
}


def _user(username: str, name: str, department: str, roles: list[str], **extra: Any) -> dict:
    return {
        "username": username,
        "name": name,
        "email": f"{username}@demo.tangram.cn",
        "department": department,
        "head": False,
        "groups": [],
        "roles": roles,
        "password": PASSWORD,
        "show_on_sign_in": False,
        **extra,
    }


USERS = [
    _user("li.na", "李娜", "cs_east", ["agent"], groups=["first_line"], show_on_sign_in=True),
    _user("wang.wei", "王伟", "cs_east", ["agent"], groups=["first_line"]),
    _user("zhao.min", "赵敏", "cs_north", ["agent"], groups=["finance"]),
    _user(
        "chen.jie",
        "陈杰",
        "cs_east",
        ["supervisor"],
        groups=["supervisors"],
        show_on_sign_in=True,
    ),
    _user("liu.yang", "刘洋", "cs_east", ["department_manager"], head=True, show_on_sign_in=True),
    _user("sun.li", "孙丽", "cs", ["executive"], head=True, show_on_sign_in=True),
]
AGENTS = ["li.na", "wang.wei", "zhao.min"]


def _lines(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def seed_rows(scale: float = 0.01, events: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Rows per form; the first ``events`` tickets have ``_events: true`` and no team (the
    routing rule sets one when their event is delivered)."""
    rng = random.Random(7)
    customers = [
        {
            "_id": f"c{i}",
            "name": f"客户{i}",
            "company": f"上海示例{i % 40}有限公司",
            "level": rng.choice(["vip", "gold", "standard"]),
            "account_manager": rng.choice(AGENTS),
            "_created_at": f"@now-{90 + i % 200}d",
        }
        for i in range(max(3, int(300 * scale)))
    ]
    tickets = []
    for i in range(max(4, int(2000 * scale))):
        age = rng.randrange(60, 90 * 24 * 60)  # minutes ago, within 90 days
        row: dict[str, Any] = {
            "_id": f"t{i}",
            "subject": f"发票问题 invoice {i}" if i < events else f"打印机故障 {i}",
            "customer": f"c{i % len(customers)}",
            "priority": rng.choice(["urgent", "high", "normal", "low"]),
            "channel": rng.choice(["phone", "email", "wechat", "web", "chat"]),
            "_created_at": f"@now-{age}m",
            "_owner": rng.choice(AGENTS),
            "_department": "cs_east",
        }
        if i < events:
            row["_events"] = True
        else:
            row.update(
                status="closed",
                team="first_line",
                assignee=rng.choice(AGENTS),
                first_response_at=f"@now-{age - 30}m",
                first_response_minutes=30,
                resolved_at=f"@now-{age - 45}m",
                resolution_minutes=45,
                sla_breached=rng.random() < 0.1,
                _updated_at=f"@now-{age - 45}m",
            )
        tickets.append(row)
    communications = [
        {
            "ticket": f"t{i % len(tickets)}",
            "customer": f"c{i % len(customers)}",
            "direction": rng.choice(["inbound", "outbound"]),
            "channel": "email",
            "body": f"您好，关于工单 {i % len(tickets)} 的回复。",
            "_created_at": f"@now-{rng.randrange(1, 89)}d",
        }
        for i in range(max(4, int(5000 * scale)))
    ]
    surveys = [
        {
            "ticket": f"t{i % len(tickets)}",
            "customer": f"c{i % len(customers)}",
            "agent": rng.choice(AGENTS),
            "score": rng.randrange(1, 6),
            "status": "answered",
            "_created_at": f"@now-{rng.randrange(1, 89)}d",
        }
        for i in range(max(2, int(1400 * scale)))
    ]
    returns = [
        {
            "order_number": f"SO-{1000 + i}",
            "ticket": f"t{i % len(tickets)}",
            "customer": f"c{i % len(customers)}",
            "reason": "商品破损",
            "amount": "199.00",
            "status": "approved",
            "lines": [{"sku": "P-1", "product": "打印机", "quantity": 1, "unit_price": "199.00"}],
            "_created_at": f"@now-{rng.randrange(1, 89)}d",
        }
        for i in range(max(2, int(120 * scale)))
    ]
    return {
        "customer": customers,
        "ticket": tickets,
        "communication": communications,
        "survey": surveys,
        "return_request": returns,
    }


def make(
    target: Path,
    *,
    scale: float = 0.01,
    events: int = 0,
    org: dict[str, Any] | None = None,
    users: list[dict[str, Any]] | None = None,
    seed: dict[str, list[dict[str, Any]]] | None = None,
) -> Path:
    """Write the template to ``target`` (a new directory); returns it."""
    shutil.copytree(ROOT, target)
    for generated in ("seed", "demo"):  # the bundled demo data, once generated, is replaced
        shutil.rmtree(target / generated, ignore_errors=True)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["parts"] = [*[p for p in manifest["parts"] if p not in ("org", "seed")], "org", "seed"]
    (target / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    (target / "org.json").write_text(json.dumps(org or ORG, ensure_ascii=False, indent=2))
    (target / "demo").mkdir(exist_ok=True)
    (target / "demo" / "users.json").write_text(
        json.dumps(USERS if users is None else users, ensure_ascii=False, indent=2)
    )
    (target / "seed").mkdir(exist_ok=True)
    for form, rows in (seed if seed is not None else seed_rows(scale, events)).items():
        (target / "seed" / f"{form}.jsonl").write_text(_lines(rows), encoding="utf-8")
    return target
