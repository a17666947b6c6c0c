"""Bodies of the organisation API: departments, members, roles, groups, imports."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from engines.form.schema import KEY_PATTERN
from runtime.auth.schemas import StrictModel
from runtime.deps import MAX_ID

#: Department codes: 1-64 characters, no white space, no slash, no control characters.
CODE_RE = re.compile(r"^[^\s/\x00-\x1f\x7f]{1,64}$")
Position = Literal["member", "head", "deputy"]
MAX_INT = 2**31 - 1


def check_code(value: str) -> str:
    if not CODE_RE.match(value):
        raise ValueError("use at most 64 characters without spaces or slashes")
    return value


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("enter a name")
    return value


Code = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_code)]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_name)]
Key = Annotated[str, Field(pattern=KEY_PATTERN)]
Description = Annotated[str, Field(max_length=1000)]
RowVersion = Annotated[
    int, Field(ge=1, le=MAX_INT, description="The version you read; a stale one gets 409.")
]
SortOrder = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]
RefId = Annotated[int, Field(ge=1, le=MAX_ID)]


class UserRef(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str


# --- departments -------------------------------------------------------------------------------


class DepartmentCreateIn(StrictModel):
    code: Code
    name: Name
    parent_id: RefId | None = Field(default=None, description="Leave out for a top department.")
    sort_order: SortOrder = 0


class DepartmentUpdateIn(StrictModel):
    row_version: RowVersion
    code: Code | None = None
    name: Name | None = None
    parent_id: RefId | None = Field(
        default=None, description="Moves the department (and its subtree); null makes it a top one."
    )
    sort_order: SortOrder | None = None


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    parent_id: int | None
    path: str = Field(description="Ids from the top, e.g. /1/4/9/ (the department's own last).")
    sort_order: int
    created_at: datetime
    updated_at: datetime
    row_version: int


class DepartmentDetailOut(DepartmentOut):
    member_count: int
    child_count: int
    heads: list[UserRef]
    deputies: list[UserRef]


class DepartmentNode(BaseModel):
    id: int
    code: str
    name: str
    parent_id: int | None
    path: str
    sort_order: int
    member_count: int = Field(description="Members of this department itself.")
    heads: list[UserRef]
    deputies: list[UserRef]
    children: list[DepartmentNode]


class DepartmentPage(BaseModel):
    items: list[DepartmentOut]
    total: int
    limit: int
    offset: int


class MemberIn(StrictModel):
    position: Position = "member"
    is_primary: bool | None = Field(
        default=None,
        description="true makes this the user's primary department (unsetting the old one); "
        "left out, a new membership is primary when the user has no primary department yet.",
    )


class MemberOut(BaseModel):
    department_id: int
    user: UserRef
    position: str
    is_primary: bool


class MemberPage(BaseModel):
    items: list[MemberOut]
    total: int
    limit: int
    offset: int


class UserDepartmentOut(BaseModel):
    department: DepartmentOut
    position: str
    is_primary: bool


# --- roles and groups --------------------------------------------------------------------------


class RoleCreateIn(StrictModel):
    key: Key
    name: Name
    description: Description = ""
    app_id: RefId | None = Field(default=None, description="Leave out for a global role.")


class RoleUpdateIn(StrictModel):
    row_version: RowVersion
    key: Key | None = None
    name: Name | None = None
    description: Description | None = None


class RoleOut(BaseModel):
    id: int
    key: str
    name: str
    description: str
    app_id: int | None
    member_count: int
    created_at: datetime
    updated_at: datetime
    row_version: int


class GroupCreateIn(StrictModel):
    key: Key
    name: Name
    description: Description = ""


class GroupUpdateIn(StrictModel):
    row_version: RowVersion
    key: Key | None = None
    name: Name | None = None
    description: Description | None = None


class GroupOut(BaseModel):
    id: int
    key: str
    name: str
    description: str
    member_count: int
    created_at: datetime
    updated_at: datetime
    row_version: int


class UserPage(BaseModel):
    items: list[UserRef]
    total: int
    limit: int
    offset: int


class RolePage(BaseModel):
    items: list[RoleOut]
    total: int
    limit: int
    offset: int


class GroupPage(BaseModel):
    items: list[GroupOut]
    total: int
    limit: int
    offset: int


# --- memberships -------------------------------------------------------------------------------


class MembershipDepartmentOut(BaseModel):
    id: int
    path: str
    position: str
    is_primary: bool


class AppRolesOut(BaseModel):
    app_id: int
    role_ids: list[int]


class MembershipOut(BaseModel):
    user_id: int
    primary_department_id: int | None
    departments: list[MembershipDepartmentOut]
    head_of: list[int]
    deputy_of: list[int]
    global_role_ids: list[int]
    app_roles: list[AppRolesOut]
    group_ids: list[int]


# --- import ------------------------------------------------------------------------------------


class OrgImportIn(StrictModel):
    file_id: RefId = Field(description="An uploaded CSV or XLSX file (POST /api/v1/files)")
    dry_run: bool = Field(default=False, description="Check every row, write nothing")


class OrgImportError(BaseModel):
    row: int = Field(description="Spreadsheet row; the header is row 1")
    column: str | None
    code: str
    message: str


class OrgImportColumn(BaseModel):
    column: str
    field: str | None


class OrgImportReportOut(BaseModel):
    ok: bool
    dry_run: bool
    rows: int
    columns: list[OrgImportColumn]
    unknown_columns: list[str]
    departments_created: int
    departments_updated: int
    users_created: int
    users_updated: int
    memberships_created: int
    memberships_updated: int
    errors: list[OrgImportError]
    errors_truncated: bool
