"""The web console's front door, mounted at /console: its own middlewares answer every error as an HTML page
(with the same status), add the security headers to every page, and require the session (else the login page)
with its CSRF token on every unsafe method. Pages are Jinja2 templates (`gateway.console.render`); the stylesheet
is served by the root application from `gateway/static`."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from gateway import auth_views, labels
from gateway.console import (
    admin,
    complaint_exports,
    complaint_pages,
    complaints,
    desk,
    desk_admin,
    dispatch,
    field,
    reports,
    tasks,
    vendors,
    views,
    wallboard_page,
)
from gateway.console.render import page_error, render, setup_templates
from gateway.inputs import ids_in_range
from gateway.middlewares import (
    UNSAFE_METHODS,
    Handler,
    Problem,
    csrf_refused,
    hold_session,
    http_problem,
    session_of,
    store_problem,
)

PREFIX = "/console"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
# Handlers open without a session: the sign-in form and its answer, the complaint numbers of the business sites.
PUBLIC: frozenset[object] = frozenset({auth_views.login_form, auth_views.login, complaint_pages.complaint_numbers})
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; media-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def error_page(request: web.Request, problem: Problem) -> web.Response:
    """An error as a console page: the Korean headline, the details, a way back to the queue."""
    response = render(request, "error.html", error=page_error(problem))
    response.headers.update(problem.headers)
    return response


@web.middleware
async def html_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers on every page; store errors and HTTP errors (404, 405, 413, a refused CSRF token, ...)
    become HTML pages with their status, never a JSON body or a traceback in the browser."""
    try:
        response = await handler(request)
    except web.HTTPException as err:
        if err.status < 400:
            raise
        response = error_page(request, http_problem(err))
    except Exception as err:
        problem = store_problem(err)
        if problem is None:
            raise
        response = error_page(request, problem)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@web.middleware
async def signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The session, else the login page (401 for an unsafe method); the session's CSRF token on unsafe methods."""
    if request.match_info.handler in PUBLIC:
        return await handler(request)
    active = await session_of(request)
    if active is None:
        if request.method in UNSAFE_METHODS:
            raise web.HTTPUnauthorized(text=labels.ERRORS[401])
        raise web.HTTPSeeOther(auth_views.LOGIN_PATH)
    if await csrf_refused(request, active):
        raise web.HTTPForbidden(text=labels.CSRF_REFUSED)
    hold_session(request, active)
    return await handler(request)


def create_console_app() -> web.Application:
    """The console sub-application; shared state (database, settings) is read from the root application through
    `request.config_dict`."""
    app = web.Application(middlewares=[html_pages, signed_in, ids_in_range])
    setup_templates(app)
    auth_views.setup_routes(app)
    views.setup_routes(app)
    admin.setup_routes(app)
    tasks.setup_routes(app)
    complaint_exports.setup_routes(app)
    complaint_pages.setup_routes(app)
    complaints.setup_routes(app)
    desk.setup_routes(app)
    dispatch.setup_routes(app)
    field.setup_routes(app)
    vendors.setup_routes(app)
    reports.setup_routes(app)
    wallboard_page.setup_routes(app)
    desk_admin.setup_routes(app)
    return app
