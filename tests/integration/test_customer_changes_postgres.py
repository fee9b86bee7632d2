"""On a real PostgreSQL database: the service duties' partial unique keys with the scheduler's ON CONFLICT, a duty
marked done twice at once (one completion, one audit entry), and claim changes at the same moment keeping the
aggregates equal to a rebuild (the claim row is locked while its deltas are applied)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from crm_store.customers.rules import load_rules
from crm_store.customers.stats import rebuild_stats
from crm_store.managers.account_managers import schedule_service_tasks
from crm_store.validation import business_today
from tests.customer_helpers import gateway_on

pytestmark = pytest.mark.integration


def _aggregates(engine: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        stats = conn.execute(
            text("SELECT customer_id, claim_count, open_claims, paid_total FROM customer_stats ORDER BY 1")
        ).all()
        years = conn.execute(
            text("SELECT customer_id, year, premium, paid, claims FROM customer_year_stats ORDER BY 1, 2")
        )
        return [tuple(r) for r in stats] + [tuple(r) for r in years.all()]


async def test_duties_and_claim_changes_on_postgres(aiohttp_client: Any, postgres_url: str, tmp_path: Any) -> None:
    async with gateway_on(aiohttp_client, postgres_url, tmp_path) as (engine, org, client):
        today = business_today()
        h = org.auth("agent.seocho")

        async def send(method: str, path: str, body: Any, headers: dict[str, str] = h) -> Any:
            answer = await client.request(method, path, json=body, headers=headers)
            assert answer.status in (200, 201), await answer.text()
            return await answer.json()

        customer = await send(
            "POST",
            "/api/v1/customers",
            {"kind": "corporate", "name": "(주)대성건설", "phones": ["02-777-8888"],
             "registration_number": "123-45-67890", "org_unit_id": org.units["SEOUL-GANGNAM-SEOCHO"],
             "key_account": "large_project"},
        )  # fmt: skip
        cid = customer["id"]
        end = today + timedelta(days=12)
        policies = [
            await send(
                "POST",
                f"/api/v1/customers/{cid}/policies",
                {
                    "line": line,
                    "premium": 2_000_000,
                    "start_date": str(end - timedelta(days=365)),
                    "end_date": str(end),
                },
            )
            for line in ("fire", "liability")
        ]
        await send("POST", "/api/v1/account-managers/am.seocho/certifications",
                   {"grade": "junior", "certified_on": str(today)}, org.auth("cm.gangnam"))  # fmt: skip
        await send("PUT", f"/api/v1/customers/{cid}/account-manager", {"username": "am.seocho"}, org.auth("cm.gangnam"))

        rules = load_rules()
        assert schedule_service_tasks(engine, rules=rules, as_of=today) == 3  # a visit, two reminders one day
        assert schedule_service_tasks(engine, rules=rules, as_of=today) == 0
        with engine.connect() as conn:
            kinds = conn.execute(text("SELECT kind, policy_id FROM service_task ORDER BY kind, policy_id")).all()
        assert [tuple(k) for k in kinds] == [("key_visit", None)] + [("renewal_reminder", p["id"]) for p in policies]

        tasks = (await send("GET", "/api/v1/account-managers/am.seocho/tasks", None, org.auth("am.seocho")))["items"]
        visit = next(t for t in tasks if t["kind"] == "key_visit")
        path = f"/api/v1/service-tasks/{visit['id']}/done"
        done = await asyncio.gather(
            send("POST", path, {"outcome": "현장 방재 점검"}, org.auth("am.seocho")),
            send("POST", path, {"outcome": "다른 기록"}, org.auth("cm.gangnam")),
        )
        assert done[0] == done[1] and done[0]["done_on"] == str(today)
        with engine.connect() as conn:
            audited = conn.execute(text("SELECT count(*) FROM audit_entry WHERE action = 'service_task.done'")).scalar()
        assert audited == 1
        report = await send("GET", "/api/v1/account-managers/am.seocho/report", None, org.auth("cm.gangnam"))
        assert report["tasks_done"] == {"key_visit": 1}

        claim = await send(
            "POST",
            f"/api/v1/customers/{cid}/claims",
            {"policy_id": policies[0]["id"], "occurred_on": str(today - timedelta(days=40)), "status": "open"},
        )
        changes = [{"status": "paid", "paid_amount": 700_000}, {"paid_amount": 1_100_000}, {"status": "closed"}]
        await asyncio.gather(*(send("PATCH", f"/api/v1/claims/{claim['id']}", c) for c in changes))
        final = await send("PATCH", f"/api/v1/claims/{claim['id']}", {"paid_amount": 1_100_000})
        assert final["status"] in ("paid", "closed") and final["closed_on"] == str(today)
        incremental = _aggregates(engine)
        rebuild_stats(engine)
        assert _aggregates(engine) == incremental
        picture = await send("GET", f"/api/v1/customers/{cid}", None)
        assert picture["paid_total"] == 1_100_000 and picture["open_claims"] == 0
