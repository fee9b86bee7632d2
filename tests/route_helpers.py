"""The API's routes as the front-door and id-range tests walk them: the routes with an id in their path, that path
filled in, and the query parameters that take a number."""

from __future__ import annotations

import re
from typing import Any

PARAM = re.compile(r"\{([a-z_]+)\}")
# (path, parameter): list queries whose parameter is a number; out of range, each is a 400 naming the parameter.
QUERY_NUMBERS = (
    ("/api/v1/calls", "before"),
    ("/api/v1/calls", "limit"),
    ("/api/v1/audit", "customer_id"),
    ("/api/v1/audit", "before"),
    ("/api/v1/corrections", "after"),
    ("/api/v1/blacklist", "customer_id"),
    ("/api/v1/blacklist", "before"),
    ("/api/v1/customer-events", "customer_id"),
    ("/api/v1/customer-events", "before"),
    ("/api/v1/staff", "org_unit_id"),
    ("/api/v1/account-managers", "within_days"),
)


def _is_id(name: str) -> bool:
    return name.endswith("id") or name == "index"


def numeric_routes(client: Any, prefix: str) -> list[tuple[str, str]]:
    """(method, canonical path) of every route under `prefix` with an id or index in its path, HEAD aside."""
    return sorted(
        {
            (r.method, r.resource.canonical)
            for r in client.app.router.routes()
            if r.method != "HEAD"
            and r.resource is not None
            and r.resource.canonical.startswith(prefix)
            and any(_is_id(name) for name in PARAM.findall(r.resource.canonical))
        }
    )


def filled(canonical: str, number: str) -> str:
    """The route's path with `number` for each id or index and "x" for anything else."""
    return PARAM.sub(lambda m: number if _is_id(m[1]) else "x", canonical)
