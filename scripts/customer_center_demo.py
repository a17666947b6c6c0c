"""Write the demo data of the Customer Center template (templates/customer_center/).

``org.json`` (departments and the groups the rules and flows name), ``demo/users.json`` (the
demo accounts) and ``seed/*.jsonl``: fictional Chinese companies and their contacts, about
2,000 tickets of the last 90 days with communications, SLA outcomes, surveys and returns, so
every dashboard shows meaningful figures on first run. Deterministic (fixed seed), standard
library only: ``python scripts/customer_center_demo.py`` (``scripts/customer_center.py`` runs
it after writing the definition).

Times are written relative to the install (``"@now-3d-4h-20m"``). They are laid out against
:data:`REFERENCE_NOW`, a Thursday 10:00 in Shanghai: arrivals follow working days, holidays and
office hours, and SLA outcomes are computed on the template's ``cn_9x5`` calendar as of that
moment. Installed at another weekday or hour the rhythm shifts with the install time.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1] / "templates" / "customer_center"
ARTICLES = Path(__file__).resolve().parent / "data" / "customer_center_articles.md"
SEED = 20261203
CST = timezone(timedelta(hours=8), "Asia/Shanghai")
#: The moment the relative times are laid out against (a Thursday, 10:00 in Shanghai).
REFERENCE_NOW = datetime(2026, 12, 3, 10, 0, tzinfo=CST)
DAYS = 90
TICKETS = 2000
CUSTOMERS = 300
COMPANIES = 80
RETURNS = 120
EVENT_TICKETS = 10
PASSWORD = "Demo@2026"  # noqa: S105 (the demo accounts' shared password, shown at sign-in)
BRAND = "云图办公"

# --- organisation -----------------------------------------------------------------------


def L(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


DEPARTMENTS = [
    {"code": "cs", "name": L("客户服务中心", "Customer Service Center")},
    {"code": "cs_east", "name": L("华东客服部", "East China Support"), "parent": "cs"},
    {"code": "cs_south", "name": L("华南客服部", "South China Support"), "parent": "cs"},
    {"code": "cs_north", "name": L("华北客服部", "North China Support"), "parent": "cs"},
    {
        "code": "cs_aftersales",
        "name": L("售后支持部（财务与仓储）", "After-sales (finance and warehouse)"),
        "parent": "cs",
    },
]
GROUPS = [
    {"key": "first_line", "name": L("一线客服", "First-line support")},
    {"key": "finance", "name": L("财务", "Finance")},
    {"key": "warehouse", "name": L("仓储", "Warehouse")},
    {"key": "supervisors", "name": L("客服主管", "Supervisors")},
]


@dataclass
class Person:
    username: str
    name: str
    department: str
    roles: list[str]
    groups: list[str] = field(default_factory=list)
    head: bool = False
    shown: bool = False
    weight: float = 1.0  # share of the tickets of their team

    def json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "name": self.name,
            "email": f"{self.username}@demo.tangram.cn",
            "department": self.department,
            "head": self.head,
            "groups": self.groups,
            "roles": self.roles,
            "password": PASSWORD,
            "show_on_sign_in": self.shown,
        }


def agent(username: str, name: str, department: str, group: str, weight: float = 1.0) -> Person:
    return Person(username, name, department, ["agent"], [group], weight=weight)


PEOPLE = [
    Person("zhou.jianguo", "周建国", "cs", ["executive"], head=True, shown=True),
    Person("chen.siyuan", "陈思远", "cs", ["administrator"], shown=True),
    Person("wang.haiyan", "王海燕", "cs", ["supervisor"], ["supervisors"], shown=True),
    Person("zhao.lei", "赵磊", "cs", ["supervisor"], ["supervisors"]),
    Person("sun.ting", "孙婷", "cs", ["supervisor"], ["supervisors"]),
    Person("liu.yang", "刘洋", "cs_east", ["department_manager"], head=True, shown=True),
    Person("huang.wei", "黄伟", "cs_south", ["department_manager"], head=True),
    Person("zhang.min", "张敏", "cs_north", ["department_manager"], head=True),
    Person("wu.gang", "吴刚", "cs_aftersales", ["department_manager"], head=True),
    # First line, by region (weights: some agents carry more tickets than others).
    agent("li.na", "李娜", "cs_east", "first_line", 1.4),
    agent("wang.fang", "王芳", "cs_east", "first_line", 1.2),
    agent("chen.jie", "陈杰", "cs_east", "first_line", 1.0),
    agent("yang.jing", "杨静", "cs_east", "first_line", 0.9),
    agent("xu.ming", "徐明", "cs_east", "first_line", 0.6),
    agent("lin.xiaoyan", "林晓燕", "cs_south", "first_line", 1.3),
    agent("zheng.hao", "郑浩", "cs_south", "first_line", 1.0),
    agent("he.li", "何丽", "cs_south", "first_line", 0.9),
    agent("liang.junjie", "梁俊杰", "cs_south", "first_line", 0.7),
    agent("zhang.wei", "张伟", "cs_north", "first_line", 1.2),
    agent("liu.ting", "刘婷", "cs_north", "first_line", 1.1),
    agent("zhao.xue", "赵雪", "cs_north", "first_line", 0.9),
    agent("sun.haoran", "孙浩然", "cs_north", "first_line", 0.6),
    # Finance and warehouse desks; the approvers sign big returns (role return_approver, their
    # first role: the one the sign-in page shows them with) and work tickets too.
    agent("ma.xiaoting", "马晓婷", "cs_aftersales", "finance", 1.2),
    agent("hu.zhiqiang", "胡志强", "cs_aftersales", "finance", 1.0),
    Person(
        "guo.hongmei",
        "郭红梅",
        "cs_aftersales",
        ["return_approver", "agent"],
        ["finance"],
        weight=0.4,
    ),
    agent("luo.bin", "罗斌", "cs_aftersales", "warehouse", 1.2),
    agent("gao.peng", "高鹏", "cs_aftersales", "warehouse", 1.0),
    Person(
        "xie.guohua",
        "谢国华",
        "cs_aftersales",
        ["return_approver", "agent"],
        ["warehouse"],
        shown=True,
        weight=0.4,
    ),
]
# The agent shown on the sign-in page.
PEOPLE[9].shown = True
BY_USERNAME = {p.username: p for p in PEOPLE}
SUPERVISORS = [p for p in PEOPLE if "supervisors" in p.groups]


def members(group: str, department: str | None = None) -> list[Person]:
    return [
        p
        for p in PEOPLE
        if group in p.groups and (department is None or p.department == department)
    ]


# --- business calendar (the template's cn_9x5, read from sla/calendars.json) ---------------


class Calendar:
    def __init__(self, data: dict[str, Any]) -> None:
        self.weekly = {
            int(k): [(time.fromisoformat(a), time.fromisoformat(b)) for a, b in v]
            for k, v in data["weekly"].items()
        }
        self.holidays: set[date] = set()
        for item in data.get("holidays", []):
            day = date.fromisoformat(item["start"])
            last = date.fromisoformat(item.get("end", item["start"]))
            while day <= last:
                self.holidays.add(day)
                day += timedelta(days=1)
        self.workdays = {date.fromisoformat(w["date"]) for w in data.get("workdays", [])}

    def hours(self, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.workdays:
            spans = self.weekly.get(0, [])  # make-up workdays work Monday's hours
        elif day in self.holidays:
            spans = []
        else:
            spans = self.weekly.get(day.weekday(), [])
        return [(datetime.combine(day, a, CST), datetime.combine(day, b, CST)) for a, b in spans]

    def working_day(self, day: date) -> bool:
        return bool(self.hours(day))

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment ``minutes`` business minutes after ``start``."""
        at, left = start, minutes
        while True:
            for lo, hi in self.hours(at.date()):
                if at >= hi:
                    continue
                begin = max(at, lo)
                room = (hi - begin).total_seconds() / 60
                if left <= room:
                    return begin + timedelta(minutes=left)
                left -= room
                at = hi
            at = datetime.combine(at.date() + timedelta(days=1), time(0), CST)

    def between(self, a: datetime, b: datetime) -> float:
        """Business minutes from ``a`` to ``b``."""
        out, day = 0.0, a.date()
        while day <= b.date():
            for lo, hi in self.hours(day):
                lo, hi = max(lo, a), min(hi, b)
                if hi > lo:
                    out += (hi - lo).total_seconds() / 60
            day += timedelta(days=1)
        return out


# --- helpers -----------------------------------------------------------------------------


def rel(at: datetime) -> str:
    """``at`` as a time relative to the install (``@now-3d-4h-20m``)."""
    seconds = round((REFERENCE_NOW - at).total_seconds())
    assert seconds >= 0, at
    d, rest = divmod(seconds, 86400)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    parts = [f"-{n}{u}" for n, u in ((d, "d"), (h, "h"), (m, "m"), (s, "s")) if n]
    return "@now" + ("".join(parts) or "-0s")


def pick(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), list(weights.values()))[0]


def minutes(a: datetime, b: datetime) -> int:
    """Whole minutes from ``a`` to ``b`` as written (both to the second)."""
    ago = lambda at: round((REFERENCE_NOW - at).total_seconds())  # noqa: E731
    return (ago(a) - ago(b)) // 60


def money(value: float) -> str:
    return f"{value:.2f}"


# --- companies and customers -----------------------------------------------------------

REGIONS = {
    "cs_east": ["杭州", "上海", "苏州", "南京", "宁波", "无锡", "合肥"],
    "cs_south": ["深圳", "广州", "东莞", "佛山", "厦门", "福州"],
    "cs_north": ["北京", "天津", "青岛", "济南", "石家庄", "大连"],
}
BRANDS = [
    ("云启", "yunqi"), ("星河", "xinghe"), ("蓝鲸", "lanjing"), ("华信", "huaxin"),
    ("瑞丰", "ruifeng"), ("恒远", "hengyuan"), ("博雅", "boya"), ("嘉禾", "jiahe"),
    ("鼎盛", "dingsheng"), ("宏图", "hongtu"), ("锦程", "jincheng"), ("海纳", "haina"),
    ("天择", "tianze"), ("明德", "mingde"), ("易达", "yida"), ("睿博", "ruibo"),
    ("安途", "antu"), ("清源", "qingyuan"), ("同舟", "tongzhou"), ("远帆", "yuanfan"),
    ("青禾", "qinghe"), ("知行", "zhixing"), ("匠心", "jiangxin"), ("聚贤", "juxian"),
    ("汇通", "huitong"), ("腾跃", "tengyue"), ("德润", "derun"), ("百川", "baichuan"),
    ("凌云", "lingyun"), ("弘毅", "hongyi"), ("盛源", "shengyuan"), ("云帆", "yunfan"),
    ("润泽", "runze"), ("朗润", "langrun"), ("九州", "jiuzhou"), ("松果", "songguo"),
    ("萤火", "yinghuo"), ("北辰", "beichen"), ("南风", "nanfeng"), ("东升", "dongsheng"),
    ("西岭", "xiling"), ("初心", "chuxin"), ("合力", "heli"), ("众诚", "zhongcheng"),
    ("优栈", "youzhan"), ("麦田", "maitian"), ("山海", "shanhai"), ("若水", "ruoshui"),
]  # fmt: skip
INDUSTRIES = [
    ("科技", "tech"), ("信息技术", "it"), ("电子", "elec"), ("贸易", "trade"),
    ("物流", "logistics"), ("餐饮管理", "food"), ("医疗器械", "med"), ("教育科技", "edu"),
    ("智能制造", "mfg"), ("建筑设计", "design"), ("文化传媒", "media"), ("酒店管理", "hotel"),
    ("生物科技", "bio"), ("新材料", "materials"), ("商贸", "trading"), ("会计师事务所", "cpa"),
]  # fmt: skip
SURNAMES = [
    ("王", "wang", 9), ("李", "li", 9), ("张", "zhang", 8), ("刘", "liu", 7), ("陈", "chen", 6),
    ("杨", "yang", 4), ("黄", "huang", 3), ("赵", "zhao", 3), ("吴", "wu", 3), ("周", "zhou", 3),
    ("徐", "xu", 2), ("孙", "sun", 2), ("马", "ma", 2), ("朱", "zhu", 2), ("胡", "hu", 2),
    ("郭", "guo", 2), ("何", "he", 2), ("林", "lin", 2), ("高", "gao", 2), ("罗", "luo", 2),
    ("郑", "zheng", 1), ("梁", "liang", 1), ("谢", "xie", 1), ("宋", "song", 1),
    ("唐", "tang", 1), ("韩", "han", 1), ("冯", "feng", 1), ("邓", "deng", 1), ("曹", "cao", 1),
    ("彭", "peng", 1), ("曾", "zeng", 1), ("沈", "shen", 1), ("叶", "ye", 1), ("蒋", "jiang", 1),
]  # fmt: skip
GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀", "xiu"),
    ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂", "gui"), ("华", "hua"), ("文", "wen"),
    ("建", "jian"), ("国", "guo"), ("志", "zhi"), ("红", "hong"), ("鹏", "peng"), ("宇", "yu"),
    ("欣", "xin"), ("怡", "yi"), ("晨", "chen"), ("思", "si"), ("佳", "jia"), ("浩", "hao"),
    ("婷", "ting"), ("雪", "xue"), ("琳", "lin"), ("博", "bo"), ("凯", "kai"), ("慧", "hui"),
    ("嘉", "jia"), ("子", "zi"), ("梓", "zi"), ("一", "yi"), ("天", "tian"), ("诗", "shi"),
]  # fmt: skip
PERSONAL_MAIL = ["qq.com", "163.com", "126.com", "foxmail.com"]
OPENID = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


@dataclass
class Company:
    name: str
    short: str
    domain: str
    region: str
    tier: str  # vip / gold / standard
    manager: str


@dataclass
class Customer:
    id: int
    name: str
    company: Company
    level: str


def companies(rng: random.Random) -> list[Company]:
    out: list[Company] = []
    names: set[str] = set()
    regions = {"cs_east": 0.48, "cs_south": 0.28, "cs_north": 0.24}
    while len(out) < COMPANIES:
        region = pick(rng, regions)
        city = rng.choice(REGIONS[region])
        brand, brand_py = rng.choice(BRANDS)
        industry, industry_py = rng.choice(INDUSTRIES)
        if industry == "会计师事务所":
            suffix = "（特殊普通合伙）"
        else:
            suffix = "股份有限公司" if rng.random() < 0.12 else "有限公司"
        name = f"{city}{brand}{industry}{suffix}"
        if name in names or sum(c.short == brand for c in out) >= 2:
            continue
        names.add(name)
        tier = pick(rng, {"vip": 0.12, "gold": 0.28, "standard": 0.6})
        manager = rng.choice(members("first_line", region)).username
        domain = f"{brand_py}-{industry_py}.com.cn"
        if any(c.domain == domain for c in out):
            domain = f"{brand_py}-{industry_py}-{len(out)}.com.cn"
        out.append(Company(name, brand, domain, region, tier, manager))
    return out


def person_name(rng: random.Random) -> tuple[str, str, str]:
    surname, surname_py, _ = rng.choices(SURNAMES, [w for *_, w in SURNAMES])[0]
    chars = rng.sample(GIVEN, 2 if rng.random() < 0.72 else 1)
    given = "".join(c for c, _ in chars)
    given_py = "".join(p for _, p in chars)
    return surname + given, surname_py, given_py


def customers(rng: random.Random, firms: list[Company]) -> tuple[list[dict], list[Customer]]:
    size = {"vip": 7, "gold": 4.5, "standard": 2.5}
    weights = [size[c.tier] for c in firms]
    phones: set[str] = set()
    openids: set[str] = set()
    emails: set[str] = set()
    rows: list[dict] = []
    out: list[Customer] = []
    # Every company has a contact; the rest go to the bigger companies more often.
    order = list(firms) + rng.choices(firms, weights, k=CUSTOMERS - len(firms))
    rng.shuffle(order)
    for number, firm in enumerate(order, start=1):
        name, surname_py, given_py = person_name(rng)
        while True:
            phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
            if phone not in phones:
                phones.add(phone)
                break
        row: dict[str, Any] = {"_id": number, "name": name, "company": firm.name, "phone": phone}
        mail = rng.random()
        if mail < 0.72:
            local = f"{given_py}.{surname_py}" if rng.random() < 0.6 else surname_py + given_py
            email = f"{local}@{firm.domain}"
        elif mail < 0.9:
            email = f"{surname_py}{given_py}{rng.randrange(10, 9999)}@{rng.choice(PERSONAL_MAIL)}"
        else:
            email = ""
        if email and email not in emails:
            emails.add(email)
            row["email"] = email
        if rng.random() < 0.42:
            while True:
                openid = "o" + "".join(rng.choice(OPENID) for _ in range(27))
                if openid not in openids:
                    openids.add(openid)
                    break
            row["wechat_openid"] = openid
        level = firm.tier if rng.random() < 0.85 else pick(rng, {"gold": 1, "standard": 2})
        row["level"] = level
        age = rng.randint(95, 900)
        tags = []
        if level == "vip" or (level == "gold" and rng.random() < 0.3):
            tags.append("key_account")
        if age < 200:
            tags.append("new")
        if rng.random() < 0.07:
            tags.append("at_risk")
        if tags:
            row["tags"] = tags
        row["account_manager"] = firm.manager
        created = REFERENCE_NOW - timedelta(days=age, minutes=rng.randrange(600))
        row["_created_at"] = rel(created)
        row["_owner"] = firm.manager
        row["_department"] = firm.region
        rows.append(row)
        out.append(Customer(number, name, firm, level))
    return rows, out


# --- ticket texts ------------------------------------------------------------------------

PRODUCTS = [
    ("YP-200", "云打印机 YP-200", 1899.00),
    ("YP-260", "彩色云打印机 YP-260", 3299.00),
    ("MJ-M3", "智能门禁一体机 M3", 2680.00),
    ("KQ-K5", "人脸识别考勤机 K5", 899.00),
    ("HY-P86", "86 英寸会议平板 P86", 12800.00),
    ("SM-S1", "无线扫码枪 S1", 239.00),
    ("LY-R6", "企业级路由器 R6", 1299.00),
    ("SX-C2", "高清会议摄像头 C2", 459.00),
    ("EJ-H1", "降噪耳机 H1", 599.00),
    ("HG-T2", "原装硒鼓 T2", 329.00),
    ("ZZ-A4", "A4 复印纸（5 包装）", 129.00),
]
DEVICES = [p for p in PRODUCTS if p[0] not in ("HG-T2", "ZZ-A4")]
#: The products a text placeholder may name ({device}: any device).
KINDS_OF_PRODUCT = {
    "device": [p[0] for p in DEVICES],
    "printer": ["YP-200", "YP-260"],
    "netdev": ["YP-200", "YP-260", "MJ-M3", "KQ-K5", "HY-P86", "LY-R6"],
    "hrdev": ["MJ-M3", "KQ-K5"],
    "door": ["MJ-M3"],
    "panel": ["HY-P86"],
    "bigdev": ["HY-P86", "MJ-M3", "YP-260"],
    "peripheral": ["SM-S1", "SX-C2", "EJ-H1", "YP-200"],
}
RETURNABLE = [p for p in PRODUCTS if p[0] != "HY-P86"]

# Subjects and descriptions per kind. Invoice texts name 发票 and return texts 退货 (the
# keyword routing sends them to finance and warehouse); no other text names either.
SUBJECTS = {
    "consult": [
        "{netdev} 如何连接公司 Wi-Fi",
        "咨询{device} 的保修期限",
        "想了解企业版账号的价格和开通流程",
        "{hrdev} 能否批量导入员工信息",
        "如何修改管理员绑定的手机号",
        "咨询{bigdev} 的上门安装服务",
        "订单 {order} 什么时候发货",
        "想增加 {n} 个子账号，怎么操作",
        "忘记管理后台密码，如何找回",
        "企业版到期后数据会保留多久",
        "如何导出上个月的考勤记录",
        "{peripheral} 支持哪些操作系统",
        "批量采购{device} 有没有优惠",
    ],
    "invoice": [
        "申请开具订单 {order} 的增值税专用发票",
        "发票抬头写错了，需要重开发票",
        "没有收到订单 {order} 的电子发票",
        "纸质发票什么时候可以寄出",
        "月结账单与发票金额不一致",
        "需要补开上季度的发票",
        "公司税号变更，如何修改发票信息",
    ],
    "repair": [
        "{device} 开机后无反应",
        "{printer} 打印出现横纹",
        "{printer} 频繁卡纸",
        "{hrdev} 无法识别人脸",
        "{panel} 屏幕出现花屏",
        "{netdev} 网络经常掉线",
        "{printer} 提示硒鼓错误",
        "{door} 无法开锁",
        "{panel} 触控失灵",
        "{printer} 工作时有异响",
        "{netdev} 固件升级失败",
    ],
    "complaint": [
        "维修工程师上门迟到三个小时",
        "客服热线长时间无人接听",
        "同一问题报修三次仍未解决",
        "快递外包装破损，处理推诿",
        "工程师服务态度差",
        "承诺的回电一直没有收到",
        "续费后高级功能仍被限制",
        "收到的{device} 疑似翻新机",
        "备用机迟迟没有送到",
    ],
    "return": [
        "{product} 申请退货",
        "订单 {order} 部分商品退货",
        "收到的商品型号不符，申请退货",
        "{product} 七天无理由退货",
        "{product} 质量问题申请退货退款",
        "多发了 {n} 件{product}，申请退货",
    ],
    "other": [
        "希望提供英文版操作手册",
        "建议开放设备管理的 API 文档",
        "咨询成为区域代理的合作方式",
        "修改订单 {order} 的收货地址",
        "咨询线下培训课程安排",
        "公司名称变更，需要更新客户资料",
        "对新版管理后台的几点建议",
    ],
}
OPENINGS = ["您好，", "你好，", "客服您好，", ""]
DETAILS = {
    "consult": [
        "我们公司是{company}，上个月采购了一批{device}。",
        "我是{company}的行政，负责公司的办公设备。",
        "官网上没有找到相关说明。",
        "同事说之前问过，但没有得到明确答复。",
    ],
    "invoice": [
        "我们是{company}，财务月底要做账，麻烦尽快处理发票。",
        "开票信息：{company}，税号已在后台更新。",
        "订单号 {order}，付款方式是对公转账。",
        "之前在后台提交过开票申请，但一直显示审核中。",
    ],
    "repair": [
        "设备是{date}购买的，序列号 {serial}。",
        "已经按说明书重启过，问题依旧。",
        "现在影响前台正常使用，希望尽快安排处理。",
        "故障从昨天下午开始，期间没有搬动过设备。",
        "设备放在{company}{floor}楼前台。",
    ],
    "complaint": [
        "这已经是本月第二次出现这种情况了。",
        "我们是贵司的老客户，对这次的服务非常失望。",
        "希望主管能给一个明确的说法和处理方案。",
        "当时客服说会在两小时内回复，结果一直没人联系。",
        "这件事影响了我们{company}的正常营业。",
    ],
    "return": [
        "订单号 {order}，商品和配件都在，包装完好。",
        "收货后发现与下单的型号不一致，申请退货。",
        "商品有质量问题，希望退货退款，不考虑换货。",
        "采购多下了单，还没有拆封，想办理退货。",
    ],
    "other": [
        "我们是{company}，合作两年了。",
        "公司刚搬到新地址，相关资料也需要更新。",
        "希望能有专人对接一下。",
    ],
}
ASKS = [
    "请尽快回复，谢谢！",
    "麻烦处理一下，谢谢。",
    "请问需要我们提供什么资料？",
    "方便的话请电话联系我。",
    "谢谢！",
]

FIRST_REPLIES = {
    "consult": [
        "您好，{customer}，感谢您联系{brand}客服。您咨询的问题我们已经收到，"
        "相关说明已整理在知识库文章中，我先把操作步骤发给您，有疑问随时回复。",
        "您好，{customer}，已经收到您的咨询。我这边先帮您查询一下账号信息，稍后给您详细答复。",
    ],
    "invoice": [
        "您好，{customer}，发票相关的问题已转到财务处理。请您确认开票抬头和税号，"
        "我们核对后会尽快处理。",
        "您好，已收到您的开票需求，财务正在核对订单 {order} 的付款信息，预计 1–3 个工作日内完成。",
    ],
    "repair": [
        "您好，{customer}，很抱歉给您带来不便。请先按知识库中的排查步骤试一下，"
        "如仍无法解决，我们会为您安排工程师。",
        "您好，已收到报修，麻烦提供一张故障现象的照片或视频，方便工程师判断。",
    ],
    "complaint": [
        "{customer}您好，非常抱歉给您带来不好的体验。您反映的情况我已记录，"
        "正在调取服务记录核实，今天内给您答复。",
        "您好，{customer}，感谢您的反馈，我们非常重视。已经联系相关同事了解情况，"
        "稍后由我专门跟进。",
    ],
    "return": [
        "您好，{customer}，退货申请已收到，我们正在核对订单 {order} 的商品信息，"
        "审核通过后会短信通知您寄回地址。",
        "您好，已为您登记退货，请保留商品原包装和全部配件，仓库审核后联系您。",
    ],
    "other": [
        "您好，{customer}，感谢您的建议和反馈，我们已经记录并转给相关同事。",
        "您好，您的需求已收到，我们核实后会尽快回复您。",
    ],
}
NOTES = {
    "consult": ["客户为{level}客户，已发送知识库链接。", "已核实账号状态正常。"],
    "invoice": ["已与财务确认开票信息无误。", "原发票已作废，待重新开具。"],
    "repair": ["需二线技术支持协助排查固件问题。", "已预约工程师上门，备件已出库。"],
    "complaint": ["已调取通话录音，确认回电超时，向客户致歉。", "已报主管，按投诉流程跟进。"],
    "return": ["已与仓库确认库存与入库情况。", "商品已签收入库，验货无误。"],
    "other": ["已转产品经理评估。", "资料变更已提交审核。"],
}
CUSTOMER_REPLIES = [
    "好的，谢谢。",
    "照片已经发过去了，请查收。",
    "按您说的方法试过了，还是不行。",
    "收到，麻烦尽快处理。",
    "补充一下：问题在下午更明显。",
    "相关资料已经上传，请核对。",
]
REOPEN_REPLIES = [
    "问题又出现了，麻烦再看一下。",
    "还是不行，昨天又出现同样的情况。",
    "发过来的结果不对，请重新处理。",
]
CLOSING = {
    "consult": ["已为您开通并确认可以正常使用，如还有疑问请随时联系我们。"],
    "invoice": ["发票已开具，电子版已发送至您的收票邮箱，请查收。"],
    "repair": ["工程师已处理完毕，设备恢复正常。后续如有问题请直接回复本工单。"],
    "complaint": ["处理结果和改进措施已与您确认，再次向您致歉，感谢您的监督。"],
    "return": ["退货已处理完毕，退款将在 3–5 个工作日内原路退回。"],
    "other": ["已按您的需求处理完毕，感谢您的支持。"],
}
SURVEY_COMMENTS = {
    5: ["处理很及时，态度也很好。", "一次就解决了，非常满意。", "客服很专业，点赞！", ""],
    4: ["整体满意，回复可以再快一点。", "问题解决了，谢谢。", ""],
    3: ["问题解决了，但等了比较久。", "沟通了好几次才说清楚。", ""],
    2: ["回复太慢，影响了工作。", "同一个问题反复出现。"],
    1: ["非常不满意，拖了很久才处理。", "问题没有真正解决，希望主管跟进。"],
}
REASONS = {
    "quality": "商品存在质量问题：{detail}",
    "wrong": "收到的商品型号与订单不符。",
    "extra": "采购多下单，商品未拆封。",
    "no_reason": "七天无理由退货，商品及配件完好。",
}
QUALITY_DETAILS = ["开机无反应", "外壳有裂痕", "使用两天后频繁死机", "配件缺失", "屏幕有坏点"]


# --- tickets -----------------------------------------------------------------------------

CATEGORY_OF = {
    "consult": "consult",
    "invoice": "consult",
    "repair": "repair",
    "complaint": "complaint",
    "return": "return",
    "other": "other",
}
TEAM_OF = {"invoice": "finance", "return": "warehouse"}
KINDS = {
    "consult": 0.30,
    "invoice": 0.12,
    "repair": 0.26,
    "complaint": 0.08,
    "return": 0.075,
    "other": 0.065,
}
CHANNELS = {"phone": 0.24, "email": 0.18, "wechat": 0.27, "web": 0.21, "chat": 0.10}


def sla_targets(root: Path) -> dict[str, tuple[int, int]]:
    [policy] = json.loads((root / "sla" / "policies.json").read_text(encoding="utf-8"))
    out = {}
    for key, target in policy["targets"].items():
        if key != "*":
            out[key] = (
                target["first_response"]["hours"] * 60,
                target["resolution"]["hours"] * 60,
            )
    return out


def arrivals(rng: random.Random, calendar: Calendar) -> list[datetime]:
    """``TICKETS`` creation times over the last ``DAYS`` days: working days busier than
    weekends and holidays, office hours busier than the night, slowly growing."""
    first = REFERENCE_NOW.date() - timedelta(days=DAYS - 1)
    days = [first + timedelta(days=i) for i in range(DAYS)]
    weights = []
    for i, day in enumerate(days):
        w = 1.0 if calendar.working_day(day) else 0.3
        if day.weekday() == 0 and calendar.working_day(day):
            w *= 1.2  # Monday backlog of the weekend
        weights.append(w * (0.85 + 0.3 * i / DAYS))
    hours = [
        0.05, 0.03, 0.02, 0.02, 0.02, 0.04, 0.1, 0.3, 0.8, 1.5, 1.7, 1.5,
        0.9, 1.0, 1.5, 1.6, 1.5, 1.3, 0.8, 0.5, 0.4, 0.35, 0.25, 0.1,
    ]  # fmt: skip
    out: list[datetime] = []
    while len(out) < TICKETS:
        day = rng.choices(days, weights)[0]
        hour_weights = hours if calendar.working_day(day) else [h**0.5 for h in hours]
        hour = rng.choices(range(24), hour_weights)[0]
        at = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), CST)
        if at < REFERENCE_NOW - timedelta(minutes=6):
            out.append(at)
    return sorted(out)


@dataclass
class Ticket:
    id: int
    kind: str
    created: datetime
    customer: Customer
    priority: str
    channel: str
    subject: str
    description: str
    order: str
    product: tuple[str, str, float]
    assignee: Person | None = None
    status: str = "new"
    responded: datetime | None = None
    resolved: datetime | None = None
    first_resolved: datetime | None = None
    paused: tuple[datetime, datetime] | None = None
    reopened: datetime | None = None
    replied: datetime | None = None
    closed: datetime | None = None
    breached: bool = False
    warned: bool = False
    escalated: bool = False
    escalated_to: str | None = None
    score: int | None = None
    row: dict[str, Any] = field(default_factory=dict)

    @property
    def category(self) -> str:
        return CATEGORY_OF[self.kind]

    @property
    def team(self) -> str:
        return TEAM_OF.get(self.kind, "first_line")

    @property
    def done(self) -> bool:
        return self.status in ("resolved", "closed")


def fill(template: str, values: dict[str, str]) -> str:
    # Product names begin in Chinese and end in a model number: "云打印机 YP-200 卡纸".
    return template.format(**values).replace("） ", "）")


class Generator:
    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.rng = random.Random(SEED)
        self.calendar = Calendar(
            json.loads((root / "sla" / "calendars.json").read_text(encoding="utf-8"))[0]
        )
        self.targets = sla_targets(root)
        self.firms = companies(self.rng)
        self.customer_rows, self.customers = customers(self.rng, self.firms)
        self.tickets: list[Ticket] = []

    # - texts -

    def order_number(self, at: datetime) -> str:
        placed = at - timedelta(days=self.rng.randint(2, 25))
        return f"SO{placed:%Y%m%d}{self.rng.randrange(10000):04d}"

    def texts(self, kind: str, customer: Customer, at: datetime) -> tuple[str, str, str, Any]:
        rng = self.rng
        subject_template = rng.choice(SUBJECTS[kind])
        if kind == "return":  # cheap goods come back more often than printers
            product = rng.choices(RETURNABLE, [p[2] ** -0.6 for p in RETURNABLE])[0]
        else:
            named = re.findall(r"\{(\w+)\}", subject_template)
            sort = next((n for n in named if n in KINDS_OF_PRODUCT), "device")
            sku = rng.choice(KINDS_OF_PRODUCT[sort])
            product = next(p for p in PRODUCTS if p[0] == sku)
        order = self.order_number(at)
        bought = at - timedelta(days=rng.randint(20, 400))
        values = {
            **{sort: product[1] for sort in KINDS_OF_PRODUCT},
            "product": product[1],
            "order": order,
            "n": str(rng.randint(2, 12)),
            "company": customer.company.name,
            "date": f"{bought.year}年{bought.month}月",
            "serial": f"{product[0].replace('-', '')}{rng.randrange(10**7):07d}",
            "floor": str(rng.randint(2, 28)),
        }
        subject = fill(subject_template, values)
        details = rng.sample(DETAILS[kind], rng.randint(1, 2))
        description = (
            rng.choice(OPENINGS)
            + subject.rstrip("？?")
            + "。"
            + "".join(fill(d, values) for d in details)
            + rng.choice(ASKS)
        )
        return subject, description, order, product

    # - the life of a ticket -

    def choose_assignee(self, ticket: Ticket) -> Person:
        pool = (
            members(ticket.team)
            if ticket.team != "first_line"
            else members("first_line", ticket.customer.company.region)
        )
        return self.rng.choices(pool, [p.weight for p in pool])[0]

    def lifecycle(self, t: Ticket) -> None:
        """Lay out the ticket's history against the SLA targets, then cut it at
        REFERENCE_NOW: what has not happened yet is dropped and the status follows."""
        rng, cal, now = self.rng, self.calendar, REFERENCE_NOW
        target_response, target_resolution = self.targets[t.priority]
        start = cal.add(t.created, 0)  # the clock starts at the next business moment
        breach_p = {"urgent": 0.2, "high": 0.12, "normal": 0.08, "low": 0.06}[t.priority]
        if t.kind == "complaint":
            breach_p += 0.06
        if t.customer.level == "vip":
            breach_p *= 0.7
        breach = rng.random() < breach_p
        late_response = breach and rng.random() < 0.45
        late_resolution = breach and (not late_response or rng.random() < 0.35)
        # The whole history in business minutes (pauses excluded) ...
        if late_response:
            response = target_response * rng.uniform(1.05, 2.4)
        elif rng.random() < 0.06:
            response = target_response - rng.uniform(1, 29)  # a close call: warned
        else:
            response = max(2.0, target_response * rng.betavariate(1.4, 4.5))
        floor = response + rng.uniform(5, 30)
        if late_resolution:
            resolution = max(floor, target_resolution * rng.uniform(1.05, 2.2))
        elif rng.random() < 0.06:
            resolution = max(floor, target_resolution - rng.uniform(1, 29))
        else:
            share = {"consult": 0.25, "invoice": 0.45, "other": 0.35, "complaint": 0.3}.get(
                t.kind, 0.55
            )
            draw = min(0.93, rng.betavariate(2, 5) * share * 2.6)
            resolution = max(floor, target_resolution * draw)
        # ... and in wall-clock time: response, a pause waiting on the customer, the first
        # resolution, a reopen by a customer reply within the 7-day window.
        responded = cal.add(start, response)
        paused = None
        if rng.random() < 0.3:
            at = cal.add(start, rng.uniform(response, resolution))
            hours = rng.uniform(2, 30) if rng.random() < 0.65 else rng.uniform(30, 220)
            paused = (at, at + timedelta(hours=hours))
            first = cal.add(paused[1], resolution - cal.between(start, at))
        else:
            first = cal.add(start, resolution)
        reopened = final = None
        if rng.random() < (0.16 if breach or t.kind in ("repair", "complaint") else 0.07):
            reopened = first + timedelta(hours=rng.uniform(3, 120))
            final = cal.add(reopened, rng.uniform(30, 600))
        # Cut at now.
        if first <= now:
            t.responded, t.paused, t.first_resolved = responded, paused, first
            if reopened is not None and reopened <= now:
                t.reopened = reopened
                t.resolved = first if final is None or final > now else final
                t.status = "resolved" if final is not None and final <= now else "in_progress"
            else:
                t.resolved = first
                t.status = "resolved"
            if t.status == "resolved":
                if t.resolved < now - timedelta(days=7):
                    t.status, t.closed = "closed", t.resolved + timedelta(days=7)
                elif rng.random() < 0.2:  # closed by the agent before the 7 days
                    t.status = "closed"
                    t.closed = min(now, t.resolved + timedelta(hours=rng.uniform(0.5, 30)))
            used = resolution
        elif responded <= now:
            t.responded = responded
            if paused is not None and paused[0] <= now:
                t.paused = paused
            waiting = t.paused is not None and now < t.paused[1]
            t.status = "waiting_customer" if waiting else "in_progress"
            used = cal.between(start, now)
            if t.paused is not None:
                used -= cal.between(t.paused[0], min(now, t.paused[1]))
        else:
            t.status = "triage"
            used = cal.between(start, now)
        # The SLA outcome as of now.
        used_response = response if t.responded else cal.between(start, now)
        t.breached = used_response > target_response or used > target_resolution
        t.warned = t.breached or (
            used_response > target_response - 30 or used > target_resolution - 30
        )
        t.escalated = t.breached
        # Complaints still open 24 h after creation are escalated (rule escalate_complaint).
        end = t.first_resolved or now
        if t.kind == "complaint" and end - t.created > timedelta(hours=24):
            t.escalated = True
            t.priority = "urgent"
            t.escalated_to = rng.choice(SUPERVISORS).username
            # Now urgent: the ticket is held to the urgent targets as well.
            response_u, resolution_u = self.targets["urgent"]
            if used_response > response_u or used > resolution_u:
                t.breached = t.warned = True
        if t.paused and t.paused[1] <= now:
            t.replied = t.paused[1]
        if t.reopened:
            t.replied = t.reopened

    def make_tickets(self) -> None:
        rng = self.rng
        weights = {"vip": 4.0, "gold": 2.2, "standard": 1.0}
        people = self.customers
        people_w = [weights[c.level] for c in people]
        times = arrivals(rng, self.calendar)
        for number, created in enumerate(times, start=1):
            customer = rng.choices(people, people_w)[0]
            kind = pick(rng, KINDS)
            priority = pick(
                rng,
                {
                    "urgent": 0.05 + (0.04 if customer.level == "vip" else 0),
                    "high": 0.2 + (0.15 if kind == "complaint" else 0),
                    "normal": 0.58,
                    "low": 0.17 if kind in ("consult", "other") else 0.06,
                },
            )
            channel = pick(rng, CHANNELS)
            subject, description, order, product = self.texts(kind, customer, created)
            t = Ticket(number, kind, created, customer, priority, channel, subject,
                       description, order, product)  # fmt: skip
            self.tickets.append(t)
        newest = sorted(self.tickets, key=lambda t: t.created)[-EVENT_TICKETS:]
        fresh = {t.id for t in newest}
        for t in self.tickets:
            if t.id in fresh:
                t.status = "new"  # rules and flows run at install (_events)
                continue
            t.assignee = self.choose_assignee(t)
            self.lifecycle(t)

    # - rows -

    def ticket_row(self, t: Ticket) -> dict[str, Any]:
        row: dict[str, Any] = {
            "_id": t.id,
            "_created_at": rel(t.created),
            "subject": t.subject,
            "description": t.description,
            "channel": t.channel,
            "category": t.category,
            "priority": t.priority,
            "status": t.status,
            "customer": t.customer.id,
        }
        if t.status == "new":
            row["_events"] = True
            return row
        assert t.assignee is not None
        row["_owner"] = t.assignee.username
        row["_department"] = t.assignee.department
        row["assignee"] = t.assignee.username
        row["team"] = t.team
        row["escalated"] = t.escalated
        if t.escalated_to:
            row["escalated_to"] = t.escalated_to
        row["sla_warned"] = t.warned
        row["sla_breached"] = t.breached
        row["reopen_count"] = 1 if t.reopened else 0
        if t.responded:
            row["first_response_at"] = rel(t.responded)
            row["first_response_minutes"] = minutes(t.created, t.responded)
        if t.resolved:
            row["resolved_at"] = rel(t.resolved)
            row["resolution_minutes"] = minutes(t.created, t.resolved)
            # stamp_resolved sets it at each resolution: false once a reopened ticket is
            # resolved again; a reopened ticket still open keeps its first stamp.
            row["first_contact_resolution"] = not (t.reopened and t.done)
        if t.replied:
            row["customer_replied_at"] = rel(t.replied)
        if t.score is not None:
            row["satisfaction"] = t.score
        moments = [t.created, t.responded, t.resolved, t.replied, t.closed]
        row["_updated_at"] = rel(max(m for m in moments if m is not None))
        return row

    def communications(self) -> list[dict[str, Any]]:
        rng = self.rng
        rows: list[dict[str, Any]] = []

        def add(t: Ticket, at: datetime, direction: str, body: str) -> None:
            row: dict[str, Any] = {
                "_id": len(rows) + 1,
                "_created_at": rel(at),
                "ticket": t.id,
                "customer": t.customer.id,
                "direction": direction,
                "body": body,
            }
            if direction != "internal":
                row["channel"] = t.channel
            agent_name = t.assignee.name if t.assignee else "客服中心"
            if direction == "inbound":
                row["sender"], row["recipient"] = t.customer.name, f"{BRAND}客服中心"
            elif direction == "outbound":
                row["sender"], row["recipient"] = agent_name, t.customer.name
            else:
                row["sender"] = agent_name
            if t.assignee:
                row["_owner"] = t.assignee.username
                row["_department"] = t.assignee.department
            rows.append(row)

        for t in self.tickets:
            values = {
                "customer": t.customer.name,
                "brand": BRAND,
                "order": t.order,
                "level": {"vip": "VIP", "gold": "金牌", "standard": "普通"}[t.customer.level],
            }
            add(t, t.created, "inbound", t.description)
            if t.responded is None:
                continue
            add(t, t.responded, "outbound", fill(rng.choice(FIRST_REPLIES[t.kind]), values))
            end = t.first_resolved or REFERENCE_NOW
            if t.paused:
                add(
                    t,
                    t.paused[0],
                    "outbound",
                    "为了进一步处理，麻烦您补充相关信息或照片，收到后我们马上跟进。",
                )
                if t.paused[1] <= end:
                    add(t, t.paused[1], "inbound", rng.choice(CUSTOMER_REPLIES))
            elif rng.random() < 0.2:
                at = t.responded + (end - t.responded) * rng.uniform(0.2, 0.6)
                add(t, at, "inbound", rng.choice(CUSTOMER_REPLIES))
                t.replied = max(at, t.replied) if t.replied else at
            if rng.random() < (0.8 if t.kind == "complaint" else 0.18):
                at = t.responded + (end - t.responded) * rng.uniform(0.05, 0.5)
                add(t, at, "internal", fill(rng.choice(NOTES[t.kind]), values))
            # Simple questions are solved by the first reply; the others get a closing one.
            quick = t.kind in ("consult", "invoice", "other") and not t.paused
            if t.first_resolved and not (quick and not t.reopened and rng.random() < 0.6):
                close_at = t.first_resolved - timedelta(minutes=rng.randint(0, 5))
                add(t, max(close_at, t.responded), "outbound", rng.choice(CLOSING[t.kind]))
            if t.reopened:
                add(t, t.reopened, "inbound", rng.choice(REOPEN_REPLIES))
                if t.done and t.resolved:
                    add(
                        t,
                        t.resolved,
                        "outbound",
                        "已重新处理，问题已解决。给您带来不便，非常抱歉。",
                    )
        return rows

    def surveys(self) -> list[dict[str, Any]]:
        rng = self.rng
        rows: list[dict[str, Any]] = []
        for t in self.tickets:
            if not t.done or rng.random() > 0.72:
                continue
            assert t.assignee and t.resolved
            survey_at = t.first_resolved or t.resolved
            answered = REFERENCE_NOW - survey_at > timedelta(hours=6) and rng.random() < 0.9
            row: dict[str, Any] = {
                "_id": len(rows) + 1,
                "_created_at": rel(survey_at),
                "_owner": t.assignee.username,
                "_department": t.assignee.department,
                "ticket": t.id,
                "customer": t.customer.id,
                "agent": t.assignee.username,
                "resolved_first_time": not t.reopened,
                "status": "answered" if answered else "sent",
            }
            if answered:
                bad = t.breached or t.reopened or t.kind == "complaint"
                weights = (
                    {5: 22, 4: 30, 3: 24, 2: 14, 1: 10} if bad else {5: 58, 4: 29, 3: 8, 2: 3, 1: 2}
                )
                score = pick(rng, weights)
                t.score = score
                row["score"] = score
                comment = rng.choice(SURVEY_COMMENTS[score])
                if comment:
                    row["comment"] = comment
                row["_updated_at"] = rel(
                    min(REFERENCE_NOW, survey_at + timedelta(hours=rng.uniform(0.5, 48)))
                )
            rows.append(row)
        return rows

    def returns(self) -> list[dict[str, Any]]:
        rng = self.rng
        candidates = [t for t in self.tickets if t.kind == "return" and t.responded]
        chosen = sorted(rng.sample(candidates, min(RETURNS, len(candidates))), key=lambda t: t.id)
        rows: list[dict[str, Any]] = []
        for t in chosen:
            assert t.assignee and t.responded
            why = pick(rng, {"quality": 0.4, "wrong": 0.2, "extra": 0.15, "no_reason": 0.25})
            lines = [(t.product, 1 if t.product[2] > 1000 else rng.randint(1, 3))]
            if rng.random() < 0.25:
                extra = rng.choice([p for p in RETURNABLE if p != t.product and p[2] < 700])
                lines.append((extra, rng.randint(1, 4)))
            amount = sum(p[2] * q for p, q in lines)
            if t.done:
                status = "rejected" if rng.random() < 0.13 else "approved"
            elif REFERENCE_NOW - t.responded > timedelta(days=3):
                status = "approved"
            else:
                status = "submitted"
            reason = REASONS[why].format(detail=rng.choice(QUALITY_DETAILS))
            row = {
                "_id": len(rows) + 1,
                "_created_at": rel(t.responded),
                "_owner": t.assignee.username,
                "_department": t.assignee.department,
                "order_number": t.order,
                "ticket": t.id,
                "customer": t.customer.id,
                "reason": reason,
                "amount": money(amount),
                "lines": [
                    {"sku": p[0], "product": p[1], "quantity": q, "unit_price": money(p[2])}
                    for p, q in lines
                ],
                "status": status,
            }
            if status != "submitted":
                decided = t.responded + timedelta(hours=rng.uniform(2, 40))
                row["_updated_at"] = rel(min(decided, t.resolved or REFERENCE_NOW))
            rows.append(row)
        return rows

    def articles(self) -> list[dict[str, Any]]:
        rng = self.rng
        rows = []
        for number, article in enumerate(parse_articles(ARTICLES.read_text("utf-8")), start=1):
            created = REFERENCE_NOW - timedelta(days=rng.randint(120, 420), hours=rng.randint(0, 8))
            updated = created + timedelta(days=rng.randint(0, 100))
            status = article["status"]
            views = 0 if status == "draft" else int(rng.lognormvariate(6.2, 0.8))
            rows.append(
                {
                    "_id": number,
                    "_created_at": rel(created),
                    "_updated_at": rel(updated),
                    "_owner": "wang.haiyan",
                    "_department": "cs",
                    "title": article["title"],
                    "category": article["category"],
                    "body": article["body"],
                    "keywords": article["keywords"],
                    "status": status,
                    "views": views,
                }
            )
        return rows

    # - all -

    def build(self) -> dict[str, Any]:
        self.make_tickets()
        surveys = self.surveys()  # before the ticket rows: they copy the score
        communications = self.communications()
        returns = self.returns()
        tickets = [self.ticket_row(t) for t in self.tickets]
        return {
            "org.json": {"departments": DEPARTMENTS, "groups": GROUPS},
            "demo/users.json": [p.json() for p in PEOPLE],
            "seed/customer.jsonl": self.customer_rows,
            "seed/article.jsonl": self.articles(),
            "seed/ticket.jsonl": tickets,
            "seed/communication.jsonl": communications,
            "seed/survey.jsonl": surveys,
            "seed/return_request.jsonl": returns,
        }


# --- articles ----------------------------------------------------------------------------


def _inline(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)


def _html(blocks: list[str]) -> str:
    out = []
    for block in blocks:
        lines = block.splitlines()
        if block.startswith("### "):
            out.append(f"<h3>{_inline(block[4:].strip())}</h3>")
        elif all(line.startswith("- ") for line in lines):
            items = "".join(f"<li>{_inline(line[2:])}</li>" for line in lines)
            out.append(f"<ul>{items}</ul>")
        elif all(re.match(r"\d+\. ", line) for line in lines):
            items = "".join(f"<li>{_inline(line.split(' ', 1)[1])}</li>" for line in lines)
            out.append(f"<ol>{items}</ol>")
        else:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "".join(out)


def parse_articles(text: str) -> list[dict[str, str]]:
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    out = []
    for chunk in re.split(r"^# ", text, flags=re.M)[1:]:
        title, _, rest = chunk.partition("\n")
        meta: dict[str, str] = {}
        lines = rest.strip("\n").splitlines()
        while lines and re.match(r"^[a-z]+: ", lines[0]):
            key, _, value = lines.pop(0).partition(": ")
            meta[key] = value.strip()
        blocks = [b.strip() for b in "\n".join(lines).split("\n\n") if b.strip()]
        out.append({"title": title.strip(), "body": _html(blocks), **meta})
    return out


# --- writing -----------------------------------------------------------------------------


def write(root: Path = ROOT) -> dict[str, int]:
    """Write the demo files into ``root``; the number of rows of each."""
    files = Generator(root).build()
    counts = {}
    for name, value in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".jsonl"):
            lines = [json.dumps(row, ensure_ascii=False, separators=(",", ":")) for row in value]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        else:
            path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", "utf-8")
        counts[name] = len(value) if isinstance(value, list) else len(value["departments"])
    return counts


if __name__ == "__main__":
    for name, count in write().items():
        print(f"{name}: {count}")
