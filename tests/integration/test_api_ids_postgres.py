"""Ids past what PostgreSQL's integer columns hold (2**31) never reach a query: 404 in the path, 400 in the query,
never a server error from the database's overflow."""

from __future__ import annotations

from typing import Any

import pytest

from tests.customer_helpers import gateway_on
from tests.route_helpers import QUERY_NUMBERS, filled, numeric_routes

pytestmark = pytest.mark.integration
PAST_INT32 = str(2**31)


async def test_ids_past_int32_are_refused_before_postgres(
    aiohttp_client: Any, postgres_url: str, tmp_path: Any
) -> None:
    async with gateway_on(aiohttp_client, postgres_url, tmp_path) as (_engine, org, client):
        routes = numeric_routes(client, "/api/v1/")
        assert len(routes) >= 15
        for method, canonical in routes:
            path = filled(canonical, PAST_INT32)
            answer = await client.request(method, path, json={}, headers=org.auth("admin"))
            assert answer.status == 404, (method, path, answer.status, await answer.text())
        for path, name in QUERY_NUMBERS:
            answer = await client.get(path, params={name: PAST_INT32}, headers=org.auth("admin"))
            assert answer.status == 400, (path, name, answer.status, await answer.text())
            assert name in (await answer.json())["fields"]


async def test_ids_and_amounts_past_their_columns_in_a_body_are_refused_naming_the_field(
    aiohttp_client: Any, postgres_url: str, tmp_path: Any
) -> None:
    """A 20-digit id or amount in a JSON body is an invalid input (422 naming the field), never an overflow inside
    PostgreSQL (a 500)."""
    huge = 10**19
    async with gateway_on(aiohttp_client, postgres_url, tmp_path) as (_engine, org, client):
        admin = org.auth("admin")
        unit = org.units["SEOUL-GANGNAM"]
        person = {"kind": "individual", "name": "김민준", "phones": ["010-1234-5678"]}
        created = await client.post(
            "/api/v1/customers",
            json={**person, "registration_number": "880315-1234567", "org_unit_id": unit},
            headers=admin,
        )
        assert created.status == 201, await created.text()
        customer = (await created.json())["id"]
        staff = org.staff["agent.hq"]
        cases = (
            ("POST", "/api/v1/org-units", {"code": "NEW-1", "name": "신설지점", "parent_id": huge}, "parent_id"),
            (
                "POST",
                "/api/v1/staff",
                {"username": "new.agent", "full_name": "홍길동", "role": "agent", "org_unit_id": huge, "clearance": 1},
                "org_unit_id",
            ),
            ("PATCH", f"/api/v1/staff/{staff}", {"org_unit_id": huge}, "org_unit_id"),
            (
                "POST",
                "/api/v1/customers",
                {**person, "phones": ["010-9999-0000"], "registration_number": "900101-2345678", "org_unit_id": huge},
                "org_unit_id",
            ),
            (
                "POST",
                f"/api/v1/customers/{customer}/policies",
                {"line": "auto", "premium": huge, "start_date": "2026-01-01", "end_date": "2026-12-31"},
                "premium",
            ),
            (
                "POST",
                f"/api/v1/customers/{customer}/claims",
                {"policy_id": huge, "occurred_on": "2026-03-01", "paid_amount": 0},
                "policy_id",
            ),
            ("POST", f"/api/v1/customers/{customer}/transfer", {"org_unit_id": huge, "reason": "이관"}, "org_unit_id"),
            ("POST", "/api/v1/blacklist", {"customer_id": huge, "reason": "보험사기 혐의"}, "customer_id"),
        )  # fmt: skip
        for method, path, body, field in cases:
            answer = await client.request(method, path, json=body, headers=admin)
            assert answer.status == 422, (method, path, answer.status, await answer.text())
            assert list((await answer.json())["fields"]) == [field], (method, path, await answer.text())
