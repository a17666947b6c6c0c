"""/api/v1/departments: the department tree and its members (administrators only).

Also a user's side of it: ``/api/v1/users/{id}/departments`` and ``…/memberships``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from runtime.deps import AdminUser, IdPath, IdQuery, SessionDep
from runtime.errors import Text
from runtime.org import service
from runtime.org.membership import memberships
from runtime.org.schemas import (
    MAX_INT,
    AppRolesOut,
    DepartmentCreateIn,
    DepartmentDetailOut,
    DepartmentNode,
    DepartmentOut,
    DepartmentPage,
    DepartmentUpdateIn,
    MemberIn,
    MemberOut,
    MemberPage,
    MembershipDepartmentOut,
    MembershipOut,
    Position,
    UserDepartmentOut,
    UserRef,
)
from runtime.org.service import committing

router = APIRouter(prefix="/api/v1/departments", tags=["organisation"])
users_router = APIRouter(prefix="/api/v1/users", tags=["organisation"])
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
RowVersionQuery = Annotated[
    int | None, Query(ge=1, le=MAX_INT, description="The version you read (409 when stale)")
]


@router.get("", response_model=DepartmentPage)
async def list_departments(
    admin: AdminUser,
    db: SessionDep,
    q: Annotated[Text | None, Query(max_length=100, description="In code or name")] = None,
    parent_id: IdQuery = None,
    top: Annotated[bool, Query(description="Only top departments")] = False,
    under: Annotated[IdQuery, Query(description="A department and all below it")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> DepartmentPage:
    items, total = await service.list_departments(
        db, q=q, parent_id=parent_id, top=top, under=under, limit=limit, offset=offset
    )
    return DepartmentPage(
        items=[DepartmentOut.model_validate(d) for d in items],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/tree", response_model=list[DepartmentNode])
async def department_tree(
    admin: AdminUser,
    db: SessionDep,
    root_id: Annotated[IdQuery, Query(description="Only this department's subtree")] = None,
) -> list[DepartmentNode]:
    """The whole tree (or one subtree) with member counts, heads and deputies per node."""
    nodes = await service.tree(db, root_id)
    return [DepartmentNode.model_validate(n, from_attributes=True) for n in nodes]


@router.post("", response_model=DepartmentOut, status_code=status.HTTP_201_CREATED)
async def create_department(
    body: DepartmentCreateIn, admin: AdminUser, db: SessionDep
) -> DepartmentOut:
    async with committing(db):
        department = await service.create_department(db, admin, **body.model_dump())
    return DepartmentOut.model_validate(department)


@router.get("/{department_id}", response_model=DepartmentDetailOut)
async def get_department(
    department_id: IdPath, admin: AdminUser, db: SessionDep
) -> DepartmentDetailOut:
    department = await service.get_department(db, department_id)
    return DepartmentDetailOut.model_validate(
        await service.detail(db, department), from_attributes=True
    )


@router.patch("/{department_id}", response_model=DepartmentOut)
async def update_department(
    department_id: IdPath, body: DepartmentUpdateIn, admin: AdminUser, db: SessionDep
) -> DepartmentOut:
    """Rename, re-code, re-order or move (``parent_id``; null = to the top) a department.

    Send the ``row_version`` you read (409 when stale). Moving it under itself or one of its
    sub-departments is a 422 ``department_cycle``; the moved subtree's paths (and versions)
    change with it.
    """
    changes = body.model_dump(exclude_unset=True, exclude={"row_version"})
    async with committing(db):
        department = await service.update_department(
            db, admin, department_id, body.row_version, changes
        )
    return DepartmentOut.model_validate(department)


@router.delete("/{department_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_department(
    department_id: IdPath, admin: AdminUser, db: SessionDep, row_version: RowVersionQuery = None
) -> Response:
    """Delete a department without sub-departments and members (else 409).

    Records that name it keep their data and lose the department (set to null).
    """
    async with committing(db):
        await service.delete_department(db, admin, department_id, row_version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{department_id}/members", response_model=MemberPage)
async def list_members(
    department_id: IdPath,
    admin: AdminUser,
    db: SessionDep,
    position: Position | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> MemberPage:
    """Members: heads first, then deputies, then the others (by username)."""
    rows, total = await service.list_members(
        db, department_id, position=position, limit=limit, offset=offset
    )
    items = [_member_out(m.department_id, m.position, m.is_primary, u) for m, u in rows]
    return MemberPage(items=items, total=total, limit=limit, offset=offset)


@router.put("/{department_id}/members/{user_id}", response_model=MemberOut)
async def set_member(
    department_id: IdPath, user_id: IdPath, body: MemberIn, admin: AdminUser, db: SessionDep
) -> MemberOut:
    """Add a user or change their position (member, head, deputy) and primary flag."""
    async with committing(db):
        member, user = await service.set_member(
            db, admin, department_id, user_id, position=body.position, is_primary=body.is_primary
        )
    return _member_out(department_id, member.position, member.is_primary, user)


@router.delete(
    "/{department_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def remove_member(
    department_id: IdPath, user_id: IdPath, admin: AdminUser, db: SessionDep
) -> Response:
    async with committing(db):
        await service.remove_member(db, admin, department_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _member_out(department_id: int, position: str, is_primary: bool, user: object) -> MemberOut:
    return MemberOut(
        department_id=department_id,
        user=UserRef.model_validate(user),
        position=position,
        is_primary=is_primary,
    )


@users_router.get("/{user_id}/departments", response_model=list[UserDepartmentOut])
async def user_departments(
    user_id: IdPath, admin: AdminUser, db: SessionDep
) -> list[UserDepartmentOut]:
    """The user's departments, the primary one first."""
    rows = await service.user_departments(db, user_id)
    return [
        UserDepartmentOut(
            department=DepartmentOut.model_validate(d),
            position=m.position,
            is_primary=m.is_primary,
        )
        for m, d in rows
    ]


@users_router.get("/{user_id}/memberships", response_model=MembershipOut)
async def user_memberships(user_id: IdPath, admin: AdminUser, db: SessionDep) -> MembershipOut:
    """Department, role and group ids of the user, as the permission engine sees them."""
    await service.get_user(db, user_id)
    found = await memberships(db, user_id)
    departments = [
        MembershipDepartmentOut(
            id=department_id,
            path=path,
            position=found.position_in(department_id) or "member",
            is_primary=department_id == found.primary_department_id,
        )
        for department_id, path in sorted(found.department_paths.items())
    ]
    return MembershipOut(
        user_id=user_id,
        primary_department_id=found.primary_department_id,
        departments=departments,
        head_of=sorted(found.head_of),
        deputy_of=sorted(found.deputy_of),
        global_role_ids=sorted(found.global_role_ids),
        app_roles=[
            AppRolesOut(app_id=app_id, role_ids=sorted(ids))
            for app_id, ids in sorted(found.app_role_ids.items())
        ],
        group_ids=sorted(found.group_ids),
    )
