"""Console sign-in and sign-out: password check off the event loop, lockout, server-side session cookie."""

from __future__ import annotations

import asyncio
import secrets

from aiohttp import web

from crm_store.db import async_session_scope
from crm_store.org import auth
from crm_store.org.sessions import SESSION_LIFETIME, csrf_matches, end_session, open_session
from crm_store.org.tables import Role
from crm_store.types import utcnow
from gateway import labels
from gateway.console.render import kst, render
from gateway.keys import EXECUTOR, SESSION_ID, SESSIONS, SETTINGS
from gateway.middlewares import SESSION_COOKIE

LOGIN_CSRF_COOKIE = "hotline_login_csrf"
LOGIN_PATH = "/console/login"


def _secure(request: web.Request) -> bool:
    """Secure cookies whenever the service is reached over HTTPS (directly or behind a proxy's public URL)."""
    return request.secure or (request.config_dict[SETTINGS].public_base_url or "").startswith("https://")


def _login_page(
    request: web.Request, *, error: str | None = None, username: str = "", status: int = 200
) -> web.Response:
    # Login CSRF: a random value in a SameSite=Strict cookie that the form must echo (double submit).
    token = secrets.token_urlsafe(24)
    context = {"login_csrf": token, "login_error": error, "username": username}
    response = render(request, "login.html", context, status=status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=_secure(request), path=LOGIN_PATH
    )
    return response


def landing_page(role: str) -> str:
    """Where a console user lands: an agent at the desk, everyone else at the review queue."""
    return "/console/desk" if role == Role.AGENT.value else "/console/queue"


async def login_form(request: web.Request) -> web.Response:
    """GET /console/login"""
    return _login_page(request)


async def login(request: web.Request) -> web.StreamResponse:
    """POST /console/login: username and password; five failures in a row lock the account for 15 minutes."""
    form = await request.post()
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    if not csrf_matches(request.cookies.get(LOGIN_CSRF_COOKIE, ""), str(form.get("csrf_token", ""))):
        return _login_page(request, error=labels.LOGIN_EXPIRED, status=403)
    now = utcnow()
    loop = asyncio.get_running_loop()
    sessions = request.config_dict[SESSIONS]
    try:  # the attempt is counted (committed) before its password is checked
        async with async_session_scope(sessions) as session:
            candidate = await auth.sign_in_candidate(session, username[:64], now=now)
    except auth.AccountLocked as err:
        locked = labels.LOGIN_LOCKED.format(until=kst(err.until))
        return _login_page(request, error=locked, username=username, status=403)
    ok = await loop.run_in_executor(
        request.config_dict[EXECUTOR], auth.verify_password, candidate.password_hash, password
    )
    staff = candidate.staff
    if not ok or staff is None or staff.id is None:
        return _login_page(request, error=labels.LOGIN_FAILED, username=username, status=401)
    async with async_session_scope(sessions) as session:
        await auth.record_success(session, staff.id)
        opened = await open_session(session, staff_id=staff.id, now=now, remote_addr=request.remote)
    response = web.HTTPSeeOther(landing_page(staff.role))
    response.set_cookie(
        SESSION_COOKIE,
        opened.cookie,
        httponly=True,
        samesite="Strict",
        secure=_secure(request),
        path="/",
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """POST /console/logout (the console's middleware checked the session and its CSRF token)."""
    async with async_session_scope(request.config_dict[SESSIONS]) as session:
        await end_session(session, request[SESSION_ID], now=utcnow())
    response = web.HTTPSeeOther(LOGIN_PATH)
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


def setup_routes(app: web.Application) -> None:
    """Register on the console sub-application (mounted at /console)."""
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
