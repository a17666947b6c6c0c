"""Columns of an organisation import: headers in English or Chinese, cells parsed to values.

Every column is optional except that a file needs a department code column or a username
column. Headers match case-insensitively, ignoring spaces, ``_``, ``-`` and a trailing ``*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runtime.org.schemas import CODE_RE
from runtime.users.schemas import EMAIL_RE, USERNAME_RE

#: Column (field) → the headers that name it.
HEADERS: dict[str, tuple[str, ...]] = {
    "department_code": (
        "department code",
        "department_code",
        "dept code",
        "部门编码",
        "部门代码",
        "部门编号",
    ),
    "department_name": ("department name", "department", "dept", "部门名称", "部门"),
    "parent_code": (
        "parent code",
        "parent department code",
        "parent department",
        "parent",
        "上级部门编码",
        "上级部门代码",
        "上级编码",
        "上级部门",
    ),
    "username": ("username", "user name", "user", "login", "用户名", "账号", "帐号", "登录名"),
    "display_name": ("display name", "name", "full name", "姓名", "显示名", "显示名称"),
    "email": ("email", "e-mail", "mail", "邮箱", "电子邮件", "电子邮箱"),
    "position": ("position", "职务", "职位", "岗位"),
    "primary": ("primary", "primary department", "is primary", "主部门", "是否主部门"),
}
POSITION_WORDS = {
    "member": "member",
    "成员": "member",
    "普通成员": "member",
    "head": "head",
    "负责人": "head",
    "部门负责人": "head",
    "主管": "head",
    "deputy": "deputy",
    "副负责人": "deputy",
    "副主管": "deputy",
}
BOOLEAN_WORDS = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "是": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
    "否": False,
}
MAX_LENGTHS = {"department_name": 200, "display_name": 200, "email": 320}
_IGNORED = re.compile(r"[\s_\-*\u3000]+")


def normalise_header(text: str) -> str:
    return _IGNORED.sub("", text).lower()


_BY_HEADER = {normalise_header(h): name for name, headers in HEADERS.items() for h in headers}


@dataclass
class ColumnPlan:
    """Which column holds which field; unknown and duplicate headers are noted."""

    header: list[str]
    index: dict[str, int] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)
    #: (column index, header of the earlier column with the same meaning)
    duplicates: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def of(cls, header: list[str]) -> ColumnPlan:
        plan = cls(header)
        for position, text in enumerate(header):
            name = _BY_HEADER.get(normalise_header(text))
            if name is None:
                if text:
                    plan.unknown.append(text)
            elif name in plan.index:
                plan.duplicates.append((position, header[plan.index[name]]))
            else:
                plan.index[name] = position
        return plan

    def column(self, name: str) -> str | None:
        """The header of the column holding ``name`` (None when the file has no such column)."""
        position = self.index.get(name)
        return None if position is None else self.header[position]

    def cells(self, cells: list[str]) -> dict[str, str]:
        """The row's non-empty cells by field."""
        values = {}
        for name, position in self.index.items():
            if position < len(cells) and cells[position]:
                values[name] = cells[position]
        return values

    def describe(self) -> list[dict[str, str | None]]:
        by_index = {i: name for name, i in self.index.items()}
        return [{"column": text, "field": by_index.get(i)} for i, text in enumerate(self.header)]


class CellError(ValueError):
    """A cell that cannot be read: ``message_id`` names the message in runtime.org.errors."""

    def __init__(self, code: str, message_id: str | None = None, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.message_id = message_id or code
        self.params = params


def parse(name: str, text: str) -> str | bool:
    """The value of a non-empty cell of column ``name``; :class:`CellError` when invalid."""
    limit = MAX_LENGTHS.get(name)
    if limit is not None and len(text) > limit:
        raise CellError("too_long", max=limit)
    if name in ("department_code", "parent_code"):
        if not CODE_RE.match(text):
            raise CellError("invalid_code")
        return text
    if name == "username":
        value = text.lower()
        if not USERNAME_RE.match(value):
            raise CellError("invalid_username")
        return value
    if name == "email":
        value = text.lower()
        if not EMAIL_RE.match(value):
            raise CellError("invalid_email")
        return value
    if name == "position":
        position = POSITION_WORDS.get(text.lower())
        if position is None:
            raise CellError("invalid_position")
        return position
    if name == "primary":
        flag = BOOLEAN_WORDS.get(text.lower())
        if flag is None:
            raise CellError("invalid_boolean")
        return flag
    return text
