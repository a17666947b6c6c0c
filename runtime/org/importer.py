"""Importing the organisation from a spreadsheet: departments, users and memberships.

One row may describe a department (code, name, parent code), a user (username, display name,
e-mail) and the user's membership in that department (position, primary) — any of the three.
The import first checks every row against the file and the database and plans the changes;
only a file without a single bad row, and not a dry run, is then written, in the caller's
transaction and through the same services as the API (so every change has its audit entry).

Rules, documented in the README:

* empty cells change nothing on existing departments, users and memberships;
* departments are created parents first, in any row order; a parent code must name a
  department in the file or in the database; parent codes that form a cycle are reported;
* new users get no password (they cannot sign in until an administrator sets one);
* a membership's blank primary cell works like the API: a user without a primary department
  gets the first one imported; ``yes`` moves the user's primary department here;
* memberships not in the file stay as they are (the import adds and changes, never removes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from runtime.audit import service as audit
from runtime.auth.models import User
from runtime.auth.principal import Principal
from runtime.errors import ProblemError
from runtime.org import service
from runtime.org.errors import message
from runtime.org.import_columns import CellError, ColumnPlan, parse
from runtime.org.models import Department, DepartmentMember
from runtime.records.tabular import Row
from runtime.users import service as users

MAX_ROWS = 10_000
MAX_REPORTED = 1_000
_CHUNK = 500


@dataclass
class Report:
    dry_run: bool
    columns: list[dict[str, str | None]]
    unknown_columns: list[str]
    rows: int = 0
    departments_created: int = 0
    departments_updated: int = 0
    users_created: int = 0
    users_updated: int = 0
    memberships_created: int = 0
    memberships_updated: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    errors_truncated: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(
        self, row: int, column: str | None, code: str, message_id: str, /, **params: Any
    ) -> None:
        if len(self.errors) >= MAX_REPORTED:
            self.errors_truncated = True
            return
        text = message(message_id, **params)
        self.errors.append({"row": row, "column": column, "code": code, "message": text})

    def as_dict(self) -> dict[str, Any]:
        counts = {k: v for k, v in vars(self).items() if k not in ("errors", "errors_truncated")}
        return {
            "ok": self.ok,
            **counts,
            "errors": self.errors,
            "errors_truncated": self.errors_truncated,
        }


@dataclass
class Given:
    """A value some row gave, and which row."""

    value: Any
    row: int


@dataclass
class DepartmentSpec:
    code: str
    row: int
    name: Given | None = None
    parent: Given | None = None


@dataclass
class UserSpec:
    username: str
    row: int
    display_name: Given | None = None
    email: Given | None = None


@dataclass
class MemberSpec:
    username: str
    code: str
    row: int
    position: Given | None = None
    primary: Given | None = None


class OrgImport:
    """Check rows (:meth:`check`), then, when nothing is wrong, write them (:meth:`write`)."""

    def __init__(self, db: AsyncSession, actor: Principal, header: list[str], dry_run: bool):
        self.db = db
        self.actor = actor
        self.plan = ColumnPlan.of(header)
        if not {"department_code", "username"} & set(self.plan.index):
            raise ProblemError("org_import_no_columns")
        self.report = Report(dry_run, self.plan.describe(), self.plan.unknown)
        self.departments: dict[str, DepartmentSpec] = {}
        self.users: dict[str, UserSpec] = {}
        self.members: dict[tuple[str, str], MemberSpec] = {}
        self.existing: dict[str, Department] = {}
        self.code_by_id: dict[int, str] = {}
        self.found_users: dict[str, User] = {}
        self.memberships: dict[tuple[int, int], DepartmentMember] = {}
        self.final_parent: dict[str, str | None] = {}
        for position, earlier in self.plan.duplicates:
            self.report.add(
                1, header[position], "duplicate_column", "duplicate_column", other=earlier
            )

    # --- reading the rows ----------------------------------------------------------------------

    def read(self, rows: Sequence[Row]) -> None:
        for number, cells in rows:
            self.report.rows += 1
            self._row(number, cells)

    def _row(self, number: int, cells: list[str]) -> None:
        values: dict[str, Any] = {}
        given = self.plan.cells(cells)
        for name, text in given.items():
            try:
                values[name] = parse(name, text)
            except CellError as exc:
                column = self.plan.column(name)
                self.report.add(number, column, exc.code, exc.message_id, **exc.params)
        if len(cells) > len(self.plan.header) and any(cells[len(self.plan.header) :]):
            self.report.add(number, None, "cell_without_header", "cell_without_header")
        code, username = values.get("department_code"), values.get("username")
        # An invalid code or username is reported once, not again on the cells that need it.
        for name in ("department_name", "parent_code", "position", "primary"):
            if name in given and "department_code" not in given:
                self._needs(number, name, "department_required")
        for name in ("display_name", "email", "position", "primary"):
            if name in given and "username" not in given:
                self._needs(number, name, "username_required")
        if code is not None:
            self._department(number, code, values)
        if username is not None:
            self._user(number, username, values)
        if code is not None and username is not None:
            self._member(number, username, code, values)

    def _needs(self, row: int, name: str, message_id: str) -> None:
        self.report.add(row, self.plan.column(name), "required", message_id)

    def _agree(self, spec: Any, attr: str, value: Any, row: int, name: str, subject: str) -> None:
        """Record ``value`` for ``spec.attr``; a different value in an earlier row is an error."""
        given: Given | None = getattr(spec, attr)
        if given is None:
            setattr(spec, attr, Given(value, row))
        elif given.value != value:
            column = self.plan.column(name)
            self.report.add(
                row,
                column,
                "conflicting_value",
                "conflicting_value",
                other=given.row,
                subject=subject,
            )

    def _department(self, row: int, code: str, values: dict[str, Any]) -> None:
        spec = self.departments.setdefault(code, DepartmentSpec(code, row))
        if "department_name" in values:
            self._agree(spec, "name", values["department_name"], row, "department_name", code)
        if "parent_code" in values:
            self._agree(spec, "parent", values["parent_code"], row, "parent_code", code)

    def _user(self, row: int, username: str, values: dict[str, Any]) -> None:
        spec = self.users.setdefault(username, UserSpec(username, row))
        if "display_name" in values:
            self._agree(spec, "display_name", values["display_name"], row, "display_name", username)
        if "email" in values:
            self._agree(spec, "email", values["email"], row, "email", username)

    def _member(self, row: int, username: str, code: str, values: dict[str, Any]) -> None:
        spec = self.members.setdefault((username, code), MemberSpec(username, code, row))
        subject = f"{username} @ {code}"
        if "position" in values:
            self._agree(spec, "position", values["position"], row, "position", subject)
        if "primary" in values:
            self._agree(spec, "primary", values["primary"], row, "primary", subject)

    # --- checking against the database ---------------------------------------------------------

    async def check(self) -> None:
        """Check the rows read against the database and count what would change."""
        await self._load()
        self._check_departments()
        await self._check_users()
        self._check_members()
        self.report.errors.sort(key=lambda e: e["row"])

    async def _load(self) -> None:
        departments = await self.db.execute(select(Department))
        self.existing = {d.code: d for d in departments.scalars()}
        self.code_by_id = {d.id: d.code for d in self.existing.values()}
        names = list(self.users)
        for start in range(0, len(names), _CHUNK):
            query = select(User).where(User.username.in_(names[start : start + _CHUNK]))
            self.found_users.update(
                {u.username: u for u in (await self.db.execute(query)).scalars()}
            )
        user_ids = [u.id for u in self.found_users.values()]
        for start in range(0, len(user_ids), _CHUNK):
            members = select(DepartmentMember).where(
                DepartmentMember.user_id.in_(user_ids[start : start + _CHUNK])
            )
            for member in (await self.db.execute(members)).scalars():
                self.memberships[(member.user_id, member.department_id)] = member

    def _check_departments(self) -> None:
        self.final_parent = {
            code: self.code_by_id.get(d.parent_id) if d.parent_id else None
            for code, d in self.existing.items()
        }
        for code, spec in self.departments.items():
            current = self.existing.get(code)
            if current is None and spec.name is None:
                self.report.add(
                    spec.row, self.plan.column("department_name"), "required", "name_required"
                )
            if spec.parent is not None:
                parent = spec.parent.value
                if parent not in self.departments and parent not in self.existing:
                    column = self.plan.column("parent_code")
                    self.report.add(
                        spec.parent.row, column, "unknown_parent", "unknown_parent", code=parent
                    )
                    continue
                self.final_parent[code] = parent
            elif current is None:
                self.final_parent[code] = None
        if not self._check_cycles():
            self._check_depth()
        for code, spec in self.departments.items():
            current = self.existing.get(code)
            if current is None:
                self.report.departments_created += 1
            elif self._department_changes(spec, current):
                self.report.departments_updated += 1

    def _department_changes(self, spec: DepartmentSpec, current: Department) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if spec.name is not None and spec.name.value != current.name:
            changes["name"] = spec.name.value
        by_code = self.final_parent.get(spec.code)
        current_parent = self.code_by_id.get(current.parent_id) if current.parent_id else None
        if spec.parent is not None and current_parent != by_code:
            changes["parent_code"] = by_code
        return changes

    def _check_cycles(self) -> bool:
        """Report each cycle of parent codes once, at the rows that set those parents."""
        state: dict[str, int] = {}  # 1: on the current walk, 2: done
        found = False
        for start in self.departments:
            walk: list[str] = []
            code: str | None = start
            while code is not None and state.get(code) is None:
                state[code] = 1
                walk.append(code)
                code = self.final_parent.get(code)
            if code is not None and state.get(code) == 1:
                cycle = walk[walk.index(code) :]
                found = True
                text = " → ".join([*cycle, code])
                for member in cycle:
                    spec = self.departments.get(member)
                    if spec is not None and spec.parent is not None:
                        column = self.plan.column("parent_code")
                        row = spec.parent.row
                        self.report.add(row, column, "department_cycle", "parent_cycle", cycle=text)
            for visited in walk:
                state[visited] = 2
        return found

    def _check_depth(self) -> None:
        depths: dict[str, int] = {}

        def depth_of(code: str) -> int:
            chain = []
            current: str | None = code
            while current is not None and current not in depths:
                chain.append(current)
                current = self.final_parent.get(current)
            level = depths[current] if current is not None else 0
            for item in reversed(chain):
                level += 1
                depths[item] = level
            return depths[code]

        reported: set[str] = set()
        for code in self.final_parent:
            if depth_of(code) <= service.MAX_DEPTH:
                continue
            ancestor: str | None = code
            while ancestor is not None:  # blame the nearest department the file placed
                spec = self.departments.get(ancestor)
                if spec is not None and spec.parent is not None:
                    break
                ancestor = self.final_parent.get(ancestor)
            if ancestor is not None and ancestor not in reported:
                reported.add(ancestor)
                spec = self.departments[ancestor]
                assert spec.parent is not None
                self.report.add(
                    spec.parent.row, self.plan.column("parent_code"), "too_deep", "too_deep"
                )

    async def _check_users(self) -> None:
        """Count new and changed users; an e-mail may belong to one user only."""
        owners: dict[str, str] = {}  # e-mail → username in the file
        for username, spec in self.users.items():
            user = self.found_users.get(username)
            changes = self._user_changes(spec, user) if user is not None else {}
            if user is None:
                self.report.users_created += 1
            elif changes:
                self.report.users_updated += 1
            if spec.email is None:
                continue
            if owners.setdefault(spec.email.value, username) != username:
                self._email_taken(spec)
        wanted = list(owners)
        for start in range(0, len(wanted), _CHUNK):
            query = select(User.username, User.email).where(
                User.email.in_(wanted[start : start + _CHUNK])
            )
            for owner, email in await self.db.execute(query):
                if email is not None and owner != owners[email]:
                    self._email_taken(self.users[owners[email]])

    def _email_taken(self, spec: UserSpec) -> None:
        assert spec.email is not None
        column = self.plan.column("email")
        self.report.add(spec.email.row, column, "already_exists", "email_taken")

    def _user_changes(self, spec: UserSpec, user: User) -> dict[str, Any]:
        changes: dict[str, Any] = {}
        if spec.display_name is not None and spec.display_name.value != user.display_name:
            changes["display_name"] = spec.display_name.value
        if spec.email is not None and spec.email.value != user.email:
            changes["email"] = spec.email.value
        return changes

    def _check_members(self) -> None:
        primary: dict[str, MemberSpec] = {}
        for spec in self.members.values():
            if spec.primary is not None and spec.primary.value:
                earlier = primary.setdefault(spec.username, spec)
                if earlier is not spec:
                    assert earlier.primary is not None
                    self.report.add(
                        spec.primary.row,
                        self.plan.column("primary"),
                        "multiple_primary",
                        "multiple_primary",
                        other=earlier.primary.row,
                        username=spec.username,
                    )
            current = self._current_member(spec)
            if current is None:
                self.report.memberships_created += 1
            elif self._member_changes(spec, current):
                self.report.memberships_updated += 1

    def _current_member(self, spec: MemberSpec) -> DepartmentMember | None:
        user = self.found_users.get(spec.username)
        department = self.existing.get(spec.code)
        if user is None or department is None:
            return None
        return self.memberships.get((user.id, department.id))

    @staticmethod
    def _member_changes(spec: MemberSpec, current: DepartmentMember) -> bool:
        return (spec.position is not None and spec.position.value != current.position) or (
            spec.primary is not None and spec.primary.value != current.is_primary
        )

    # --- writing -------------------------------------------------------------------------------

    async def write(self) -> None:
        """Make the planned changes (the caller commits); only call it when the report is ok."""
        await service.lock_tree(self.db)
        ids = await self._write_departments()
        user_ids = await self._write_users()
        for spec in sorted(self.members.values(), key=lambda s: s.row):
            current = self._current_member(spec)
            position = spec.position.value if spec.position else None
            await service.set_member(
                self.db,
                self.actor,
                ids[spec.code],
                user_ids[spec.username],
                position=position or (current.position if current else "member"),
                is_primary=spec.primary.value if spec.primary else None,
            )
        counts = {
            k: v for k, v in self.report.as_dict().items() if k.endswith(("_created", "_updated"))
        }
        audit.record(self.db, self.actor, "org.import", "organisation", None, counts)

    async def _write_departments(self) -> dict[str, int]:
        """Create and change departments, shallowest first: parents exist before children."""
        ids = {code: d.id for code, d in self.existing.items()}
        levels: dict[str, int] = {}

        def level(code: str) -> int:
            if code not in levels:
                parent = self.final_parent.get(code)
                levels[code] = 0 if parent is None else level(parent) + 1
            return levels[code]

        for code in sorted(self.departments, key=lambda c: (level(c), self.departments[c].row)):
            spec = self.departments[code]
            parent = self.final_parent.get(code)
            current = self.existing.get(code)
            if current is None:
                assert spec.name is not None
                created = await service.create_department(
                    self.db,
                    self.actor,
                    code=code,
                    name=spec.name.value,
                    parent_id=None if parent is None else ids[parent],
                )
                ids[code] = created.id
                continue
            changes = self._department_changes(spec, current)
            if "parent_code" in changes:
                changes["parent_id"] = None if parent is None else ids[parent]
                del changes["parent_code"]
            if changes:
                fresh = await service.get_department(self.db, current.id, lock=True)
                await service.update_department(
                    self.db, self.actor, current.id, fresh.row_version, changes
                )
        return ids

    async def _write_users(self) -> dict[str, int]:
        ids = {name: user.id for name, user in self.found_users.items()}
        for username, spec in sorted(self.users.items(), key=lambda item: item[1].row):
            user = self.found_users.get(username)
            if user is None:
                created, _ = await users.create_user(
                    self.db,
                    self.actor,
                    username=username,
                    password=None,
                    display_name=spec.display_name.value if spec.display_name else "",
                    email=spec.email.value if spec.email else None,
                    without_password=True,
                )
                ids[username] = created.id
                continue
            changes = self._user_changes(spec, user)
            if changes:
                await users.update_user(self.db, self.actor, user.id, user.row_version, changes)
        return ids


async def run_import(
    db: AsyncSession, actor: Principal, rows: Sequence[Row], *, dry_run: bool
) -> Report:
    """Check ``rows`` (header first) and, unless it is a dry run or a row is bad, write them.

    The caller commits when the report is ``ok`` and it was no dry run.
    """
    if not rows:
        raise ProblemError("empty_file")
    if len(rows) - 1 > MAX_ROWS:
        raise ProblemError("too_many_rows", params={"limit": MAX_ROWS})
    job = OrgImport(db, actor, rows[0][1], dry_run)
    job.read(rows[1:])
    await job.check()
    if job.report.ok and not dry_run:
        await job.write()
    return job.report
