"""Cross-cutting request handling: store errors to HTTP answers, bearer authentication for the API."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from crm_store.errors import InvalidToken, NotFound, StoreError
from crm_store.staff import authenticate_token
from gateway.keys import SESSIONS

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STAFF = "staff"
PUBLIC_API_PATHS = frozenset({"/api/v1/openapi.json"})


def json_http_error(
    error: type[web.HTTPException], message: str, headers: dict[str, str] | None = None
) -> web.HTTPException:
    """An HTTP error whose body is `{"error": message}`."""
    return error(
        text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json", headers=headers
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Named store errors become 4xx answers; API errors are always JSON; nothing leaks a traceback."""
    try:
        return await handler(request)
    except NotFound as err:
        raise json_http_error(web.HTTPNotFound, str(err) or "not found") from err
    except InvalidToken as err:
        raise json_http_error(web.HTTPUnauthorized, str(err)) from err
    except StoreError as err:
        raise json_http_error(web.HTTPBadRequest, str(err)) from err
    except web.HTTPException as err:
        if request.path.startswith("/api/") and err.status >= 400 and err.content_type != "application/json":
            message = (err.text or err.reason).removeprefix(f"{err.status}: ")
            raise json_http_error(type(err), message) from err
        raise


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """API requests need `Authorization: Bearer <token>` of an active staff member."""
    if not request.path.startswith("/api/") or request.path in PUBLIC_API_PATHS:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise json_http_error(
            web.HTTPUnauthorized, "bearer token required", {"WWW-Authenticate": 'Bearer realm="hotline"'}
        )
    async with request.app[SESSIONS]() as session:
        try:
            staff = await authenticate_token(session, token.strip())
        except InvalidToken as err:
            raise json_http_error(
                web.HTTPUnauthorized,
                "invalid or revoked token",
                {"WWW-Authenticate": 'Bearer realm="hotline", error="invalid_token"'},
            ) from err
    request[STAFF] = staff
    return await handler(request)
