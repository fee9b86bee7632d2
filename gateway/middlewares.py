"""What both front doors share in handling a request: the store's named errors as problems (status, message,
fields), JSON error bodies, and the browser session with its CSRF token. Each door (`gateway.api_app`,
`gateway.console.app`) answers problems in its own form: JSON for the API, an HTML page for the console."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel, Field, ValidationError

from crm_store.errors import InvalidToken, NotFound, StoreError
from crm_store.org.sessions import ActiveSession, active_session, csrf_matches
from crm_store.types import utcnow
from crm_store.validation import Conflict, InvalidInput, NotAllowed
from gateway.keys import CSRF_TOKEN, SESSION_ID, SESSIONS, STAFF

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "hotline_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


# -- problems: what went wrong, in the words each door answers with ------------------------------------------------


class ErrorBody(BaseModel):
    """Every refused request of the API: what went wrong, in words."""

    error: str = Field(description="what went wrong")


class FieldErrorBody(BaseModel):
    """A refused request of the API that names each bad field or parameter."""

    error: str = Field(description="what went wrong")
    fields: dict[str, str] = Field(description="field or parameter name to its problem")


@dataclass(frozen=True)
class Problem:
    """An answer to a failed request before it takes a door's form: status, the store's message, bad fields."""

    status: int
    message: str
    fields: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def validation_fields(err: ValidationError) -> dict[str, str]:
    """Field path to message, without echoing the input (it may be a registration number)."""
    fields: dict[str, str] = {}
    for problem in err.errors(include_input=False, include_url=False):
        name = ".".join(str(part) for part in problem["loc"]) or "body"
        fields.setdefault(name, problem["msg"])
    return fields


def store_problem(err: Exception) -> Problem | None:
    """The HTTP problem a named store error (or an invalid input model) stands for; None for anything else."""
    if isinstance(err, ValidationError):
        return Problem(422, "invalid input", validation_fields(err))
    if isinstance(err, NotFound):
        return Problem(404, str(err) or "not found")
    if isinstance(err, Conflict):
        return Problem(409, str(err), err.fields)
    if isinstance(err, InvalidInput):
        return Problem(422, str(err), err.fields)
    if isinstance(err, NotAllowed):
        return Problem(403, str(err))
    if isinstance(err, InvalidToken):
        return Problem(401, str(err))
    if isinstance(err, StoreError):
        return Problem(400, str(err))
    return None


# Headers of an HTTP error worth keeping when it is answered in another form (the body is made anew).
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Content-Range", "Retry-After")


def http_problem(err: web.HTTPException) -> Problem:
    """An aiohttp HTTP error (405, 413, 404 of the router, ...) as a problem, keeping its meaningful headers; the
    exception is never rebuilt (several need constructor arguments)."""
    message = (err.text or err.reason or "").removeprefix(f"{err.status}: ")
    kept = {name: err.headers[name] for name in KEPT_HEADERS if name in err.headers}
    return Problem(err.status, message or err.reason, None, kept)


def json_http_error(
    error: type[web.HTTPException], message: str, headers: dict[str, str] | None = None
) -> web.HTTPException:
    """An HTTP error whose body is `{"error": message}` (for error classes that take no other arguments)."""
    return error(text=ErrorBody(error=message).model_dump_json(), content_type="application/json", headers=headers)


def json_field_error(error: type[web.HTTPException], message: str, fields: dict[str, str]) -> web.HTTPException:
    """An HTTP error whose body is `{"error": message, "fields": {field: problem}}`."""
    body = FieldErrorBody(error=message, fields=fields).model_dump_json()
    return error(text=body, content_type="application/json")


def json_problem(problem: Problem) -> web.Response:
    """A problem as the API answers it: `{"error": ..., "fields": {...}}` (fields when there are any)."""
    body = (
        ErrorBody(error=problem.message)
        if problem.fields is None
        else FieldErrorBody(error=problem.message, fields=problem.fields)
    )
    return web.Response(
        text=body.model_dump_json(), status=problem.status, headers=problem.headers, content_type="application/json"
    )


# -- the browser session and its CSRF token --------------------------------------------------------------------------


async def session_of(request: web.Request) -> ActiveSession | None:
    """The live console session of the request's cookie, or None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    async with request.config_dict[SESSIONS]() as session:
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


async def csrf_refused(request: web.Request, active: ActiveSession) -> bool:
    """True when an unsafe method on a session lacks the session's synchronizer token (form field or header)."""
    if request.method not in UNSAFE_METHODS:
        return False
    return not csrf_matches(active.csrf_token, await _submitted_csrf(request))


def hold_session(request: web.Request, active: ActiveSession) -> None:
    """Put the session's staff member, session id and CSRF token on the request."""
    request[STAFF], request[SESSION_ID], request[CSRF_TOKEN] = active.staff, active.session_id, active.csrf_token
