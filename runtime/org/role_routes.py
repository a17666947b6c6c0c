"""/api/v1/roles and /api/v1/groups: roles (global or per app), user groups, their members."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from runtime.deps import AdminUser, IdPath, IdQuery, SessionDep
from runtime.errors import Text
from runtime.org import groups, roles
from runtime.org.routes import Limit, Offset, RowVersionQuery
from runtime.org.schemas import (
    GroupCreateIn,
    GroupOut,
    GroupPage,
    GroupUpdateIn,
    RoleCreateIn,
    RoleOut,
    RolePage,
    RoleUpdateIn,
    UserPage,
    UserRef,
)
from runtime.org.service import committing

roles_router = APIRouter(prefix="/api/v1/roles", tags=["organisation"])
groups_router = APIRouter(prefix="/api/v1/groups", tags=["organisation"])
Search = Annotated[Text | None, Query(max_length=100, description="In key or name")]


# --- roles -------------------------------------------------------------------------------------


@roles_router.get("", response_model=RolePage)
async def list_roles(
    admin: AdminUser,
    db: SessionDep,
    app_id: Annotated[IdQuery, Query(description="Only this app's roles")] = None,
    scope: Literal["all", "global", "app"] = "all",
    q: Search = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> RolePage:
    items, total = await roles.list_roles(
        db, app_id=app_id, scope=scope, q=q, limit=limit, offset=offset
    )
    return RolePage(items=[RoleOut(**i) for i in items], total=total, limit=limit, offset=offset)


@roles_router.post("", response_model=RoleOut, status_code=status.HTTP_201_CREATED)
async def create_role(body: RoleCreateIn, admin: AdminUser, db: SessionDep) -> RoleOut:
    """A global role (no ``app_id``) or one of an app; keys are unique per app and globally."""
    async with committing(db):
        role = await roles.create_role(db, admin, **body.model_dump())
    return RoleOut(**roles.out(role, 0))


@roles_router.get("/{role_id}", response_model=RoleOut)
async def get_role(role_id: IdPath, admin: AdminUser, db: SessionDep) -> RoleOut:
    role = await roles.get_role(db, role_id)
    return RoleOut(**roles.out(role, await roles.members.count(db, role.id)))


@roles_router.patch("/{role_id}", response_model=RoleOut)
async def update_role(
    role_id: IdPath, body: RoleUpdateIn, admin: AdminUser, db: SessionDep
) -> RoleOut:
    """Change key, name or description; send the ``row_version`` you read (409 when stale)."""
    changes = body.model_dump(exclude_unset=True, exclude={"row_version"})
    async with committing(db):
        role = await roles.update_role(db, admin, role_id, body.row_version, changes)
    return RoleOut(**roles.out(role, await roles.members.count(db, role.id)))


@roles_router.delete("/{role_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_role(
    role_id: IdPath, admin: AdminUser, db: SessionDep, row_version: RowVersionQuery = None
) -> Response:
    """Delete a role and its memberships."""
    async with committing(db):
        await roles.delete_role(db, admin, role_id, row_version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@roles_router.get("/{role_id}/members", response_model=UserPage)
async def list_role_members(
    role_id: IdPath, admin: AdminUser, db: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> UserPage:
    await roles.get_role(db, role_id)
    users, total = await roles.members.users(db, role_id, limit=limit, offset=offset)
    items = [UserRef.model_validate(u) for u in users]
    return UserPage(items=items, total=total, limit=limit, offset=offset)


@roles_router.put("/{role_id}/members/{user_id}", response_model=UserRef)
async def add_role_member(
    role_id: IdPath, user_id: IdPath, admin: AdminUser, db: SessionDep
) -> UserRef:
    """Give the user the role (nothing changes if they have it)."""
    async with committing(db):
        await roles.get_role(db, role_id)
        user, _ = await roles.members.add(db, admin, role_id, user_id)
    return UserRef.model_validate(user)


@roles_router.delete(
    "/{role_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def remove_role_member(
    role_id: IdPath, user_id: IdPath, admin: AdminUser, db: SessionDep
) -> Response:
    async with committing(db):
        await roles.get_role(db, role_id)
        await roles.members.remove(db, admin, role_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- groups ------------------------------------------------------------------------------------


@groups_router.get("", response_model=GroupPage)
async def list_groups(
    admin: AdminUser, db: SessionDep, q: Search = None, limit: Limit = 100, offset: Offset = 0
) -> GroupPage:
    items, total = await groups.list_groups(db, q=q, limit=limit, offset=offset)
    return GroupPage(items=[GroupOut(**i) for i in items], total=total, limit=limit, offset=offset)


@groups_router.post("", response_model=GroupOut, status_code=status.HTTP_201_CREATED)
async def create_group(body: GroupCreateIn, admin: AdminUser, db: SessionDep) -> GroupOut:
    async with committing(db):
        group = await groups.create_group(db, admin, **body.model_dump())
    return GroupOut(**groups.out(group, 0))


@groups_router.get("/{group_id}", response_model=GroupOut)
async def get_group(group_id: IdPath, admin: AdminUser, db: SessionDep) -> GroupOut:
    group = await groups.get_group(db, group_id)
    return GroupOut(**groups.out(group, await groups.members.count(db, group.id)))


@groups_router.patch("/{group_id}", response_model=GroupOut)
async def update_group(
    group_id: IdPath, body: GroupUpdateIn, admin: AdminUser, db: SessionDep
) -> GroupOut:
    """Change key, name or description; send the ``row_version`` you read (409 when stale)."""
    changes = body.model_dump(exclude_unset=True, exclude={"row_version"})
    async with committing(db):
        group = await groups.update_group(db, admin, group_id, body.row_version, changes)
    return GroupOut(**groups.out(group, await groups.members.count(db, group.id)))


@groups_router.delete(
    "/{group_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def delete_group(
    group_id: IdPath, admin: AdminUser, db: SessionDep, row_version: RowVersionQuery = None
) -> Response:
    """Delete a group and its memberships."""
    async with committing(db):
        await groups.delete_group(db, admin, group_id, row_version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@groups_router.get("/{group_id}/members", response_model=UserPage)
async def list_group_members(
    group_id: IdPath, admin: AdminUser, db: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> UserPage:
    await groups.get_group(db, group_id)
    users, total = await groups.members.users(db, group_id, limit=limit, offset=offset)
    items = [UserRef.model_validate(u) for u in users]
    return UserPage(items=items, total=total, limit=limit, offset=offset)


@groups_router.put("/{group_id}/members/{user_id}", response_model=UserRef)
async def add_group_member(
    group_id: IdPath, user_id: IdPath, admin: AdminUser, db: SessionDep
) -> UserRef:
    """Add the user to the group (nothing changes if they are in it)."""
    async with committing(db):
        await groups.get_group(db, group_id)
        user, _ = await groups.members.add(db, admin, group_id, user_id)
    return UserRef.model_validate(user)


@groups_router.delete(
    "/{group_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def remove_group_member(
    group_id: IdPath, user_id: IdPath, admin: AdminUser, db: SessionDep
) -> Response:
    async with committing(db):
        await groups.get_group(db, group_id)
        await groups.members.remove(db, admin, group_id, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
