"""The JSON API's front door, mounted at /api/v1: its own middlewares answer every error as a JSON body and
authenticate every request by bearer token or by the console's session (then unsafe methods need the session's
CSRF token in the X-CSRF-Token header). Routes come from the route table (gateway.routes)."""

from __future__ import annotations

from aiohttp import web

from crm_store.customers.identity import token_hash
from crm_store.errors import InvalidToken
from crm_store.org.staff import authenticate_token
from crm_store.org.tables import Staff
from gateway.contract import add_routes
from gateway.inputs import ids_in_range
from gateway.keys import SESSIONS, STAFF, TOKEN_CACHE
from gateway.middlewares import (
    Handler,
    csrf_refused,
    hold_session,
    http_problem,
    json_http_error,
    json_problem,
    session_of,
    store_problem,
)
from gateway.routes import PREFIX as PREFIX
from gateway.routes import ROUTES

PUBLIC = web.AppKey("public_handlers", frozenset)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="hotline"'}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Named store errors and HTTP errors (404 and 405 of the router, 413 of an oversized body, ...) become JSON
    answers with their status and meaningful headers (Allow, WWW-Authenticate); never a traceback."""
    try:
        return await handler(request)
    except web.HTTPException as err:
        if err.status < 400 or err.content_type == "application/json":
            raise
        return json_problem(http_problem(err))
    except Exception as err:
        problem = store_problem(err)
        if problem is None:
            raise
        return json_problem(problem)


async def _bearer_staff(request: web.Request, token: str) -> Staff:
    token = token.strip()
    cache, key = request.config_dict[TOKEN_CACHE], token_hash(token)
    staff = cache.get(key)
    if staff is not None:
        return staff
    async with request.config_dict[SESSIONS]() as session:
        try:
            staff = await authenticate_token(session, token)
        except InvalidToken as err:
            raise json_http_error(
                web.HTTPUnauthorized,
                "invalid or revoked token",
                {"WWW-Authenticate": 'Bearer realm="hotline", error="invalid_token"'},
            ) from err
    cache.put(key, staff)
    return staff


@web.middleware
async def bearer_or_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`Authorization: Bearer <token>`, or the console session plus its CSRF token on unsafe methods."""
    if request.match_info.handler in request.app[PUBLIC]:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise json_http_error(web.HTTPUnauthorized, "bearer token required", CHALLENGE)
        request[STAFF] = await _bearer_staff(request, token)
        return await handler(request)
    active = await session_of(request)
    if active is None:
        raise json_http_error(web.HTTPUnauthorized, "bearer token required", CHALLENGE)
    if await csrf_refused(request, active):
        raise json_http_error(web.HTTPForbidden, "CSRF token missing or wrong")
    hold_session(request, active)
    return await handler(request)


def create_api_app() -> web.Application:
    """The API sub-application; shared state (database, settings, caches) is read from the root application
    through `request.config_dict`."""
    app = web.Application(middlewares=[json_errors, bearer_or_session, ids_in_range])
    app[PUBLIC] = add_routes(app, ROUTES)  # handlers open without a token: the API's own description
    return app
