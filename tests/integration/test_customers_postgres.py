"""The customer API and the segment job on a real PostgreSQL database (migrated by the postgres_url fixture)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from crm_store.customers.rules import load_rules
from crm_store.customers.segments import recompute_all_segments
from crm_store.db import session_scope
from crm_store.managers.tables import AccountAssignment
from tests.customer_helpers import STAFF, create_customer, gateway_on
from tests.fake_clock import business_day

pytestmark = pytest.mark.integration

# The three claims fall within the twelve months before this day (the frequent-claims rule).
AS_OF = date(2026, 11, 25)
HOME_UNIT = {username: unit for username, _role, unit in STAFF}


async def test_customers_on_postgres(aiohttp_client: Any, postgres_url: str, tmp_path: Any) -> None:
    with business_day(AS_OF):
        async with gateway_on(aiohttp_client, postgres_url, tmp_path) as (engine, org, client):

            async def create(user: str, **body: Any) -> dict[str, Any]:
                """A customer 박정호 at `user`'s own branch."""
                return await create_customer(client, org, user, HOME_UNIT[user], name="박정호", **body)

            listed = await create(
                "agent.seocho", phones=["010-1111-2222"], registration_number="790102-1234567", vehicles=["12가3456"]
            )
            h = org.auth("agent.seocho")
            policy = await (
                await client.post(
                    f"/api/v1/customers/{listed['id']}/policies",
                    headers=h,
                    json={"line": "auto", "premium": 900_000, "start_date": "2025-06-01", "end_date": "2026-06-01"},
                )
            ).json()
            for day in ("2025-12-01", "2026-01-10", "2026-03-01"):
                answer = await client.post(
                    f"/api/v1/customers/{listed['id']}/claims",
                    headers=h,
                    json={"policy_id": policy["id"], "occurred_on": day, "paid_amount": 400_000, "status": "paid"},
                )
                assert answer.status == 201
            answer = await client.post(
                "/api/v1/blacklist",
                headers=org.auth("cm.gangnam"),
                json={"customer_id": listed["id"], "reason": "보험사기 혐의"},
            )
            assert answer.status == 201 and (await answer.json())["approved"]
            twin = await create("agent.haeundae", phones=["051-123-4567"], registration_number="7901021234567")
            car = await create(
                "agent.haeundae", phones=["010-3333-4444"], registration_number="8001011234567", vehicles=["12 가 3456"]
            )
            for number, matched_on in (("051)123-4567", "registration"), ("010 3333 4444", "plate")):
                answer = await client.get(
                    "/api/v1/customers/lookup", params={"phone": number}, headers=org.auth("agent.haeundae")
                )
                picture = await answer.json()
                assert answer.status == 200 and picture["blacklisted"] and picture["alerts"][0]["kind"] == "blacklist"
                assert picture["blacklist"][0]["matched_on"] == matched_on
            assert (
                await client.get(f"/api/v1/customers/{listed['id']}", headers=org.auth("agent.haeundae"))
            ).status == 404
            own = await (await client.get(f"/api/v1/customers/{listed['id']}", headers=h)).json()
            assert {a["kind"] for a in own["alerts"]} >= {"blacklist", "frequent_claims", "high_loss_ratio"}
            assert own["claim_count"] == 3 and own["paid_total"] == 1_200_000 and own["segment"] == "inferior"
            # One current manager per customer, enforced by PostgreSQL's partial unique index.
            for username, approver in (("am.seocho", "cm.gangnam"),):
                answer = await client.post(
                    f"/api/v1/account-managers/{username}/certifications",
                    json={"grade": "junior", "certified_on": "2026-03-01"},
                    headers=org.auth(approver),
                )
                assert answer.status == 201
            answer = await client.put(
                f"/api/v1/customers/{listed['id']}/account-manager", headers=h, json={"username": "am.seocho"}
            )
            assert answer.status == 200
            with pytest.raises(IntegrityError), session_scope(engine) as session:
                session.add(AccountAssignment(customer_id=listed["id"], account_manager_id=org.staff["am.gangnam"]))
            audit = await (
                await client.get(f"/api/v1/audit?customer_id={twin['id']}", headers=org.auth("admin"))
            ).json()
            assert {e["username"] for e in audit["items"]} == {"agent.haeundae"}
            run = recompute_all_segments(engine, rules=load_rules(), as_of=AS_OF)
            assert run.customers == 3 and run.by_segment == {"inferior": 3}
            with engine.connect() as conn:
                assert conn.scalar(text("SELECT count(*) FROM segment_change")) >= 3
                assert conn.scalar(text("SELECT count(*) FROM customer_event WHERE kind = 'blacklisted'")) == 1
            assert car["blacklisted"]
