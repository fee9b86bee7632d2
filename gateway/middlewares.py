"""Cross-cutting request handling: store errors to HTTP answers; bearer or session authentication, CSRF."""

from __future__ import annotations

import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from crm_store.errors import InvalidToken, NotFound, StoreError
from crm_store.identity import token_hash
from crm_store.models import Staff
from crm_store.sessions import ActiveSession, active_session, csrf_matches
from crm_store.staff import authenticate_token
from crm_store.types import utcnow
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


# What an operator reads when a console page or action fails (the store's own words stay in a note below).
CONSOLE_ERRORS: dict[int, str] = {
    400: "요청을 처리할 수 없습니다.",
    403: "이 작업을 할 권한이 없습니다.",
    404: "찾을 수 없거나 볼 권한이 없는 항목입니다.",
    409: "다른 담당자가 먼저 맡았거나 이미 처리된 항목입니다.",
    422: "입력값을 확인하세요.",
}


def _console_error_page(err: web.HTTPException) -> web.HTTPException:
    """A store error on a console page, as an HTML page with the same status (not a JSON body in the browser)."""
    from gateway.console.templates import SECURITY_HEADERS, e, page

    try:
        answer = json.loads(err.text or "{}")
    except ValueError:
        answer = {}
    details = [str(answer.get("error") or "")] + [f"{k}: {v}" for k, v in (answer.get("fields") or {}).items()]
    notes = "".join(f'<li class="note">{e(d)}</li>' for d in details if d)
    body = (
        f'<p class="error" id="error">{e(CONSOLE_ERRORS[err.status])}</p><ul id="error-detail">{notes}</ul>'
        f'<p><a href="/console/queue" id="back-to-queue">검토 대기열로</a></p>'
    )
    shown = page(f"오류 {err.status}", body, status=err.status)
    return type(err)(text=shown.text, content_type="text/html", headers=SECURITY_HEADERS)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Named store errors become 4xx answers: JSON on the API, an HTML page on the console; never a traceback."""
    try:
        return await _answer_store_errors(request, handler)
    except web.HTTPException as err:
        if (
            request.path.startswith(CONSOLE_PREFIX)
            and err.status in CONSOLE_ERRORS
            and err.content_type == "application/json"
        ):
            raise _console_error_page(err) from err
        raise


async def _answer_store_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
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


SESSION_COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CONSOLE_PREFIX = "/console/"
PUBLIC_CONSOLE_PATHS = frozenset({"/console/login"})
# The session behind the request (console, or the API used from a browser) and its CSRF token.
SESSION_ID = web.RequestKey("session_id", int)
CSRF_TOKEN = web.RequestKey("csrf_token", str)


async def _session_staff(request: web.Request) -> ActiveSession | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    async with request.app[SESSIONS]() as session:
        return await active_session(session, cookie, now=utcnow())


async def _submitted_csrf(request: web.Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def _check_csrf(request: web.Request, expected: str) -> None:
    """Unsafe methods on a session need the session's synchronizer token (form field or header)."""
    if request.method in UNSAFE_METHODS and not csrf_matches(expected, await _submitted_csrf(request)):
        if request.path.startswith("/api/"):
            raise json_http_error(web.HTTPForbidden, "CSRF token missing or wrong")
        raise web.HTTPForbidden(text="CSRF 토큰이 없거나 올바르지 않습니다. 페이지를 새로 고친 뒤 다시 시도하세요.")


# -- bearer-token cache (the screen-pop's hot path) ---------------------------------------------------
# A token checked against the database is trusted for TOKEN_TTL seconds in this process: revoking a token, or
# deactivating its staff member, elsewhere (another gateway process, the CLI, the database) takes effect within
# TOKEN_TTL seconds; a revocation through this process's API takes effect at once. Unknown tokens are never
# cached. One cache per application (tests run several apps in one process).
TOKEN_TTL = 5.0
TOKEN_CACHE_SIZE = 10_000


class TokenCache:
    """Staff by bearer-token hash, each entry good for `ttl` seconds."""

    def __init__(self, ttl: float = TOKEN_TTL, *, size: int = TOKEN_CACHE_SIZE) -> None:
        self.ttl = ttl
        self.size = size
        self.clock: Callable[[], float] = time.monotonic
        self._entries: dict[str, tuple[float, Staff]] = {}

    def get(self, key: str) -> Staff | None:
        """The staff member while the entry is fresh, else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self.clock():
            del self._entries[key]
            return None
        return entry[1]

    def drop(self, key: str) -> None:
        """Forget one token at once (revoked through this process's API)."""
        self._entries.pop(key, None)

    def drop_staff(self, staff_id: int | None) -> None:
        """Forget every token of one staff member at once (deactivated through this process's API)."""
        for key in [k for k, (_until, staff) in self._entries.items() if staff.id == staff_id]:
            del self._entries[key]

    def put(self, key: str, staff: Staff) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()  # crude but bounded; a full cache only means a few extra queries
        self._entries[key] = (self.clock() + self.ttl, staff)


_TOKEN_CACHES: weakref.WeakKeyDictionary[web.Application, TokenCache] = weakref.WeakKeyDictionary()


def token_cache(app: web.Application) -> TokenCache:
    """The application's token cache (made on first use, so that the factory needs no change)."""
    cache = _TOKEN_CACHES.get(app)
    if cache is None:
        cache = _TOKEN_CACHES[app] = TokenCache()
    return cache


async def _bearer_staff(request: web.Request, token: str) -> Staff:
    token = token.strip()
    cache, key = token_cache(request.app), token_hash(token)
    staff = cache.get(key)
    if staff is not None:
        return staff
    async with request.app[SESSIONS]() as session:
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


# -- end of the bearer-token cache -----------------------------------------------------------------


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """API: `Authorization: Bearer <token>`, or the console session plus its CSRF token on unsafe methods.
    Console pages: the session (else the login page), CSRF token on every unsafe method."""
    path = request.path
    if path.startswith("/api/") and path not in PUBLIC_API_PATHS:
        header = request.headers.get("Authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise json_http_error(
                    web.HTTPUnauthorized, "bearer token required", {"WWW-Authenticate": 'Bearer realm="hotline"'}
                )
            request[STAFF] = await _bearer_staff(request, token)
            return await handler(request)
        active = await _session_staff(request)
        if active is None:
            raise json_http_error(
                web.HTTPUnauthorized, "bearer token required", {"WWW-Authenticate": 'Bearer realm="hotline"'}
            )
        await _check_csrf(request, active.csrf_token)
        request[STAFF], request[SESSION_ID], request[CSRF_TOKEN] = active.staff, active.session_id, active.csrf_token
        return await handler(request)
    if path == "/console" or (path.startswith(CONSOLE_PREFIX) and path not in PUBLIC_CONSOLE_PATHS):
        active = await _session_staff(request)
        if active is None:
            if request.method in UNSAFE_METHODS:
                raise web.HTTPUnauthorized(text="로그인이 필요합니다.")
            raise web.HTTPSeeOther("/console/login")
        await _check_csrf(request, active.csrf_token)
        request[STAFF], request[SESSION_ID], request[CSRF_TOKEN] = active.staff, active.session_id, active.csrf_token
    return await handler(request)
