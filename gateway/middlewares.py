"""Cross-cutting request handling: store errors to HTTP answers, bearer authentication for the API."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from crm_store.errors import InvalidToken, NotFound, StoreError
from crm_store.models import Staff
from crm_store.staff import authenticate_token
from crm_store.validation import Conflict, InvalidInput, NotAllowed
from gateway.keys import SESSIONS

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A typed request key (a plain string key warns, which fails the tests run with -W error).
STAFF = web.RequestKey("staff", Staff)
PUBLIC_API_PATHS = frozenset({"/api/v1/openapi.json"})


def json_http_error(
    error: type[web.HTTPException], message: str, headers: dict[str, str] | None = None
) -> web.HTTPException:
    """An HTTP error whose body is `{"error": message}`."""
    return error(
        text=json.dumps({"error": message}, ensure_ascii=False), content_type="application/json", headers=headers
    )


def json_field_error(error: type[web.HTTPException], message: str, fields: dict[str, str]) -> web.HTTPException:
    """An HTTP error whose body is `{"error": message, "fields": {field: problem}}`."""
    body = json.dumps({"error": message, "fields": fields}, ensure_ascii=False)
    return error(text=body, content_type="application/json")


def validation_fields(err: ValidationError) -> dict[str, str]:
    """Field path to message, without echoing the input (it may be a registration number)."""
    fields: dict[str, str] = {}
    for problem in err.errors(include_input=False, include_url=False):
        name = ".".join(str(part) for part in problem["loc"]) or "body"
        fields.setdefault(name, problem["msg"])
    return fields


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Named store errors become 4xx answers; API errors are always JSON; nothing leaks a traceback."""
    try:
        return await handler(request)
    except NotFound as err:
        raise json_http_error(web.HTTPNotFound, str(err) or "not found") from err
    except ValidationError as err:
        raise json_field_error(web.HTTPUnprocessableEntity, "invalid input", validation_fields(err)) from err
    except Conflict as err:
        raise json_field_error(web.HTTPConflict, str(err), err.fields) from err
    except InvalidInput as err:
        raise json_field_error(web.HTTPUnprocessableEntity, str(err), err.fields) from err
    except NotAllowed as err:
        raise json_http_error(web.HTTPForbidden, str(err)) from err
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
