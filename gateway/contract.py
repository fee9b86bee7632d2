"""The API's contract in one place: a route is one `Route` row (method, path, handler, body model, query model,
answer model, error answers, roles allowed). The rows feed the aiohttp router of the API sub-application, the
OpenAPI 3.1 document (generated from the pydantic models) and the access-matrix test.

A handler returns its answer model (or a `Reply` with headers); the route's row says the status and turns the
model into JSON."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from crm_store.org.tables import Role
from gateway.inputs import MAX_ID, bad_param
from gateway.middlewares import ErrorBody, FieldErrorBody

ERROR_TEXT: dict[int, tuple[str, type[BaseModel]]] = {
    400: ("invalid query parameter: `fields` names each", FieldErrorBody),
    401: ("missing, invalid or revoked bearer token", ErrorBody),
    403: ("not allowed for this role or level (or CSRF token missing)", ErrorBody),
    404: ("not found (or outside your scope)", ErrorBody),
    405: ("method not allowed on this path", ErrorBody),
    409: ("conflicts with stored data: `fields` names the conflict", FieldErrorBody),
    413: ("body larger than allowed", ErrorBody),
    422: ("invalid body: `fields` names each problem", FieldErrorBody),
}
# Statuses answered with `fields` sometimes and without at other times (a 409 of a state, a 422 of a rule).
LOOSE_FIELDS = frozenset({409, 422})


# -- the route table's row --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """An answer model with headers (Location of what a POST created), and a status other than the route's when
    the route documents it among its `also` answers."""

    body: BaseModel
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None


Answered = BaseModel | Reply | web.StreamResponse
ApiHandler = Callable[[web.Request], Awaitable[Answered]]
EVERY_ROLE: frozenset[Role] = frozenset(Role)
# `{name}` or `{name:pattern}` of an aiohttp path (a pattern may hold `{m,n}`).
PATH_PARAMETER = re.compile(r"\{(\w+)(?::((?:[^{}]|\{[^{}]*\})*))?\}")


@dataclass(frozen=True)
class Route:
    """One endpoint of /api/v1: what it takes, what it answers, who may call it.

    `path` is the aiohttp pattern below /api/v1 (`{customer_id:\\d{1,10}}`: a record id). `roles` are the roles
    that may get a success at all (scope and clearance still decide per record); `answer` None: any JSON object.
    `also`: other success statuses answered with the same model, each with what it means. `files`: the media types
    a download answers with instead of JSON (PDF, XLSX, CSV; `answer` None)."""

    method: str
    path: str
    handler: ApiHandler
    summary: str
    answer: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()
    roles: frozenset[Role] = EVERY_ROLE
    public: bool = False
    also: tuple[tuple[int, str], ...] = ()
    files: tuple[str, ...] = ()

    @property
    def template(self) -> str:
        """The path as OpenAPI writes it: `/customers/{customer_id}`."""
        return PATH_PARAMETER.sub(r"{\1}", self.path)

    def error_statuses(self) -> list[int]:
        """Every error status this route may answer."""
        codes = set(self.errors)
        if not self.public:
            codes.add(401)
        if self.query is not None:
            codes.add(400)
        if self.body is not None:
            codes.update({413, 422})
        if "{" in self.path:
            codes.add(404)
        if self.roles != EVERY_ROLE:
            codes.add(403)
        if self.method != "GET" and not self.public:
            codes.add(403)  # a console session without its CSRF token
        return sorted(codes)


def _json(model: BaseModel) -> bytes:
    return orjson.dumps(model.wire() if hasattr(model, "wire") else model.model_dump(mode="json", by_alias=True))


def endpoint(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler of a row: the row's handler, its model answered as JSON with the row's status."""

    async def handle(request: web.Request) -> web.StreamResponse:
        # Every documented query parameter is one value: a repeated one is refused, never read as its first value.
        repeated = sorted({name for name in request.query if len(request.query.getall(name)) > 1})
        if repeated:
            raise bad_param(repeated[0], "given once")
        result = await route.handler(request)
        if isinstance(result, web.StreamResponse):
            return result
        reply = result if isinstance(result, Reply) else Reply(result)
        return web.Response(
            body=_json(reply.body),
            status=reply.status or route.status,
            content_type="application/json",
            headers=reply.headers,
        )

    handle.__name__ = handle.__qualname__ = getattr(route.handler, "__name__", "handle")
    handle.__doc__ = route.handler.__doc__
    return handle


def add_routes(app: web.Application, routes: Iterable[Route]) -> frozenset[object]:
    """Register every row on the API sub-application; the handlers open without a token."""
    public: set[object] = set()
    for route in routes:
        handler = endpoint(route)
        app.router.add_route(route.method, route.path, handler)
        if route.public:
            public.add(handler)
    return frozenset(public)


# -- the OpenAPI document -----------------------------------------------------------------------------------------

REF = "#/components/schemas/{model}"


def _path_parameter(name: str, pattern: str | None) -> dict[str, Any]:
    if pattern is not None and pattern.startswith(r"\d"):
        schema: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        description = "a record id"
    elif pattern is not None and re.fullmatch(r"\w+(\|\w+)+", pattern):
        schema, description = {"type": "string", "enum": pattern.split("|")}, "the file's format"
    elif name == "call_sid":
        schema, description = {"type": "string", "pattern": "^CA[0-9a-f]{32}$"}, "Twilio's CallSid"
    else:
        schema, description = {"type": "string", "minLength": 1, "maxLength": 64}, "a username"
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def _inlined(node: Any, defs: dict[str, Any]) -> Any:
    """A schema with its references to `defs` written out (a parameter's schema stands alone)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF.removesuffix("{model}")):
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**_inlined(defs[ref.rsplit("/", 1)[1]], defs), **_inlined(rest, defs)}
        return {k: _inlined(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inlined(v, defs) for v in node]
    return node


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema["properties"].items():
        prop = dict(_inlined(prop, defs))
        description = prop.pop("description", "")
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": _strip_titles(prop),
                "description": description,
            }
        )
    return parameters


def _strip_titles(node: Any) -> Any:
    """Schemas without pydantic's generated `title`s (the component names say it)."""
    if isinstance(node, dict):
        return {k: _strip_titles(v) for k, v in node.items() if not (k == "title" and isinstance(v, str))}
    if isinstance(node, list):
        return [_strip_titles(v) for v in node]
    return node


def openapi_document(routes: Iterable[Route], *, title: str, version: str, prefix: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the routes: paths from the rows, schemas from their models."""
    rows = list(routes)
    models: list[tuple[type[BaseModel], Any]] = [(ErrorBody, "serialization"), (FieldErrorBody, "serialization")]
    for route in rows:
        if route.body is not None:
            models.append((route.body, "validation"))
        if route.answer is not None:
            models.append((route.answer, "serialization"))
    unique = list(dict.fromkeys(models))
    keys, defs = models_json_schema(unique, ref_template=REF)
    ref_of = {model: keys[(model, mode)] for model, mode in unique}
    paths: dict[str, dict[str, Any]] = {}
    for route in rows:
        answer_schema = ref_of[route.answer] if route.answer is not None else {"type": "object"}
        # An informational status (101 of a WebSocket upgrade) has no body.
        content = {"application/json": {"schema": answer_schema}}
        if route.files:
            content = {media: {"schema": {"type": "string", "contentMediaType": media}} for media in route.files}
        responses: dict[str, Any] = {
            str(status): {"description": text} | ({"content": content} if status >= 200 else {})
            for status, text in ((route.status, route.summary), *route.also)
        }
        for code in route.error_statuses():
            text, model = ERROR_TEXT[code]
            schema = (
                ref_of[model] if code not in LOOSE_FIELDS else {"anyOf": [ref_of[FieldErrorBody], ref_of[ErrorBody]]}
            )
            responses[str(code)] = {"description": text, "content": {"application/json": {"schema": schema}}}
        operation: dict[str, Any] = {
            "operationId": f"{route.method.lower()}_{route.handler.__name__}",
            "summary": route.summary,
            "responses": responses,
        }
        if route.roles != EVERY_ROLE:
            operation["description"] = "Roles: " + ", ".join(sorted(r.value for r in route.roles))
        parameters = [_path_parameter(n, p) for n, p in PATH_PARAMETER.findall(route.path)]
        if route.query is not None:
            parameters += _query_parameters(route.query)
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref_of[route.body]}},
            }
        if route.public:
            operation["security"] = []
        paths.setdefault(route.template, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": "Contact-center records of the insurer."},
        "servers": [{"url": prefix}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": _strip_titles(defs.get("$defs", {})),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "hotline_session",
                    "description": "the console session; unsafe methods also need the X-CSRF-Token header",
                },
            },
        },
    }
