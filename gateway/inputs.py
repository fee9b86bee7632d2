"""What a request brings, read the same way by every handler: who is asking, ids in the path, whole numbers and
paging in the query, and a JSON body validated against its input model.

Ids are bounded by what the database stores (a 32-bit integer on PostgreSQL): a larger id names no record, so
it answers 404 in the path and 400 in the query, never an overflow inside the database."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel

from crm_store.org.scope import Viewer
from crm_store.validation import MAX_ID, business_today
from gateway.keys import STAFF
from gateway.middlewares import Handler, json_field_error

MAX_PAGE = 200
Input = TypeVar("Input", bound=BaseModel)


def is_whole_number(raw: str) -> bool:
    """Digits only, and few enough to be read as a number at all (Python refuses thousands of digits)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 20


def request_viewer(request: web.Request) -> Viewer:
    """The authenticated staff member as the store sees them, with the client's address for the audit trail."""
    return Viewer.of(request[STAFF], remote_addr=request.remote)


def path_id(request: web.Request, name: str) -> int:
    """A record id from the path (the route's pattern admits digits only); 404 beyond what any record can have."""
    raw = request.match_info[name]
    if not is_whole_number(raw) or not 1 <= int(raw) <= MAX_ID:
        raise web.HTTPNotFound()
    return int(raw)


@web.middleware
async def ids_in_range(request: web.Request, handler: Handler) -> web.StreamResponse:
    """404 for a path whose record id (`..._id`) no record can have, before the handler reads anything else."""
    for name, raw in request.match_info.items():
        if name.endswith("_id") and not (is_whole_number(raw) and 1 <= int(raw) <= MAX_ID):
            raise web.HTTPNotFound()
    return await handler(request)


def bad_param(name: str, problem: str) -> web.HTTPException:
    """400 naming one invalid query parameter: `{"error", "fields": {name: problem}}`."""
    return json_field_error(web.HTTPBadRequest, f"invalid parameter {name}", {name: problem})


def int_param(
    request: web.Request, name: str, *, default: int | None = None, low: int = 1, high: int = MAX_ID
) -> int | None:
    """A whole number from the query, `default` when absent or empty; 400 outside `low`..`high`."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not is_whole_number(raw) or not low <= int(raw) <= high:
        raise bad_param(name, f"a whole number from {low} to {high}")
    return int(raw)


def choice_param(request: web.Request, name: str, choices: Iterable[str]) -> str | None:
    """One of `choices` from the query, None when absent or empty; 400 for anything else (a filter by a value
    no record can have is a mistake, not an empty answer)."""
    raw = request.query.get(name) or None
    allowed = tuple(choices)
    if raw is not None and raw not in allowed:
        raise bad_param(name, f"one of {', '.join(allowed)}")
    return raw


MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")  # ASCII digits only, as the OpenAPI pattern reads `\d`


def month_param(request: web.Request, name: str = "month") -> date:
    """The first day of a month given as YYYY-MM in the query, this month in Korea when absent or empty; 400 for
    anything else."""
    return month_value(request.query.get(name), name)


def month_value(raw: str | None, name: str = "month") -> date:
    """The first day of a month given as YYYY-MM (a query parameter or a form field `name`), this month in Korea
    when empty; 400 naming the field for anything else."""
    match = MONTH.fullmatch(raw or business_today().strftime("%Y-%m"))
    if match is None or int(match[1]) < 1:
        raise bad_param(name, "a month as YYYY-MM")
    return date(int(match[1]), int(match[2]), 1)


# Months a monthly analysis answers for (moments far outside overflow when converted between time zones).
FIRST_YEAR, LAST_YEAR = 1970, 2999


def bounded_month_param(request: web.Request, name: str = "month") -> date:
    """A month as month_param reads it, refused (400) outside the years a monthly analysis covers."""
    return bounded_month_value(request.query.get(name), name)


def bounded_month_value(raw: str | None, name: str = "month") -> date:
    """A month as month_value reads it, refused (400) outside the years a monthly analysis covers."""
    month = month_value(raw, name)
    if not FIRST_YEAR <= month.year <= LAST_YEAR:
        raise bad_param(name, f"a month from {FIRST_YEAR}-01 to {LAST_YEAR}-12")
    return month


@dataclass(frozen=True)
class Paging:
    """A keyset page: at most `limit` rows with ids below `before` (newest first)."""

    limit: int
    before: int | None


def paging(request: web.Request, *, default: int = 100, high: int = MAX_PAGE) -> Paging:
    """`limit` (1 to `high`, else `default`) and `before` (an id) from the query."""
    limit = int_param(request, "limit", default=default, high=high)
    assert limit is not None
    return Paging(limit, int_param(request, "before"))


async def json_body(request: web.Request, model: type[Input]) -> Input:
    """The JSON body validated strictly against its input model; an invalid one raises pydantic's
    ValidationError (422 with the fields, by the API's error middleware), one over the size limit answers 413."""
    return model.model_validate_json(await request.read())
