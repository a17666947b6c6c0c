"""The home page (the apps a user may use) and an app's home with its navigation."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from runtime.deps import SessionDep
from runtime.web.deps import PageUser
from runtime.web.nav import nav_for, usable_apps
from runtime.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", name="home")
async def home(request: Request, principal: PageUser, db: SessionDep) -> Response:
    apps = await usable_apps(db, principal)
    return render(request, "pages/home.html", apps=apps)


@router.get("/apps/{app_key}", name="app_home")
async def app_home(request: Request, app_key: str, principal: PageUser, db: SessionDep) -> Response:
    nav = await nav_for(db, principal, app_key)
    return render(request, "pages/app_home.html", nav=nav)
