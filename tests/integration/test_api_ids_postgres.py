"""Ids past what PostgreSQL's integer columns hold (2**31) never reach a query: 404 in the path, 400 in the query,
never a server error from the database's overflow."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.customer_helpers import gateway_on

pytestmark = pytest.mark.integration
PAST_INT32 = str(2**31)
PARAM = re.compile(r"\{([a-z_]+)\}")
QUERY_NUMBERS = (
    ("/api/v1/calls", "before"),
    ("/api/v1/audit", "customer_id"),
    ("/api/v1/audit", "before"),
    ("/api/v1/corrections", "after"),
    ("/api/v1/blacklist", "customer_id"),
    ("/api/v1/blacklist", "before"),
    ("/api/v1/customer-events", "customer_id"),
    ("/api/v1/customer-events", "before"),
    ("/api/v1/staff", "org_unit_id"),
)


async def test_ids_past_int32_are_refused_before_postgres(
    aiohttp_client: Any, postgres_url: str, tmp_path: Any
) -> None:
    async with gateway_on(aiohttp_client, postgres_url, tmp_path) as (_engine, org, client):
        routes = sorted(
            {
                (r.method, r.resource.canonical)
                for r in client.app.router.routes()
                if r.method != "HEAD" and r.resource is not None and r.resource.canonical.startswith("/api/v1/")
                and any(name.endswith("_id") for name in PARAM.findall(r.resource.canonical))
            }
        )  # fmt: skip
        assert len(routes) >= 15
        for method, canonical in routes:
            path = PARAM.sub(lambda m: PAST_INT32 if m[1].endswith("_id") else "x", canonical)
            answer = await client.request(method, path, json={}, headers=org.auth("admin"))
            assert answer.status == 404, (method, path, answer.status, await answer.text())
        for path, name in QUERY_NUMBERS:
            answer = await client.get(path, params={name: PAST_INT32}, headers=org.auth("admin"))
            assert answer.status == 400, (path, name, answer.status, await answer.text())
            assert name in (await answer.json())["fields"]
