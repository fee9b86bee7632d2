"""The month's complaint analysis on PostgreSQL as the workers store it (head office, provinces, cities), read
through the API by scope, and corrective actions on its findings followed through the API until closed.

September 2026 in the review world: a 서초 customer with three policies complains twice (a repeat complainant), one
closed in 5 business days, one across 추석 in 4; another 서초 customer's complaint is closed in 18 business days, after
its limit (overdue); a 해운대 customer's is an FSS referral still open; an August complaint is the trend's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col

from crm_store.calendar import KST
from crm_store.complaints.followup import generate_month_reports, month_reports_done
from crm_store.complaints.store import open_complaint
from crm_store.complaints.tables import Complaint
from crm_store.db import make_engine, session_scope
from crm_store.org.scope import CommandLine
from gateway.app import create_app
from tests.complaint_api_helpers import add_customer
from tests.complaint_helpers import create
from tests.customer_helpers import SECRET
from tests.review_helpers import World, build_world
from workers.settings import Settings

pytestmark = pytest.mark.integration

ROOT = CommandLine(username="root")
IN_FORCE = ((date(2026, 1, 1), date(2026, 12, 31)),)


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Any]:
    engine = make_engine(postgres_url, pool_size=5)
    yield engine
    engine.dispose()


def _kst(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 10, 0, tzinfo=KST)


def _complaint(engine: Any, customer: int, received: datetime, closed: datetime | None, **fields: Any) -> None:
    with session_scope(engine) as session:
        opened = open_complaint(session, ROOT, create(customer, received_at=received, **fields), now=_kst(10, 1))
        if closed is not None:  # arranged: closed on that day (the steps are the store's tests' subject)
            session.exec(
                update(Complaint)  # type: ignore[call-overload]
                .where(col(Complaint.id) == opened.complaint.id)
                .values(state="closed", closed_at=closed)
            )


def _september(engine: Any, world: World) -> None:
    seocho, haeundae = world.units["SEOUL-GANGNAM-SEOCHO"], world.units["BUSAN-DONGBU-HAEUNDAE"]
    repeat = add_customer(engine, seocho, policies=IN_FORCE * 3)
    other = add_customer(engine, seocho, name="정민원", policies=IN_FORCE)
    busan = add_customer(engine, haeundae, name="박민원", policies=IN_FORCE)
    _complaint(engine, repeat, _kst(8, 20), _kst(8, 25))
    _complaint(engine, repeat, _kst(9, 1), _kst(9, 8))
    _complaint(engine, repeat, _kst(9, 21), _kst(9, 29), topic="complaint.billing", category="maintenance")
    _complaint(engine, other, _kst(9, 2), _kst(9, 30), topic=None, category="other")
    _complaint(engine, busan, _kst(9, 10), None, channel="fss", topic="complaint.claim_amount")


def test_the_workers_store_the_month_for_every_unit_down_to_the_cities(engine: Any) -> None:
    world = build_world(engine)
    _september(engine, world)
    with session_scope(engine) as session:
        assert not month_reports_done(session, date(2026, 9, 1))
        units = generate_month_reports(session, date(2026, 9, 1), now=_kst(10, 1), actor=ROOT)
        assert month_reports_done(session, date(2026, 9, 1))
    assert set(units) == {world.units[c] for c in ("HQ", "SEOUL", "SEOUL-GANGNAM", "BUSAN", "BUSAN-DONGBU")}


async def test_the_stored_analysis_by_scope_and_corrective_actions_through_the_api(
    aiohttp_client: Any, postgres_url: str, engine: Any, tmp_path: Any
) -> None:
    settings = Settings.from_env(
        {"DATABASE_URL": postgres_url, "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(tmp_path)}
    )
    world = build_world(engine)
    _september(engine, world)
    with session_scope(engine) as session:
        generate_month_reports(session, date(2026, 9, 1), now=_kst(10, 1), actor=ROOT)
    client = await aiohttp_client(create_app(settings, embedded_worker=False))
    path = "/api/v1/complaints/analysis/reports"

    answer = await client.get(path, params={"month": "2026-09"}, headers=world.auth("executive.hq"))
    assert answer.status == 200, await answer.text()
    head = (await answer.json())["analysis"]
    assert (head["contracts"], head["received"], head["fss_referred"], head["closed"]) == (5, 4, 1, 3)
    assert (head["per_100k"], head["own_per_100k"], head["fss_per_100k"]) == (80000.0, 60000.0, 20000.0)
    assert (head["repeat_complainants"], head["overdue"]) == (1, 1)
    assert (head["average_business_days"], head["p90_business_days"]) == (9.0, 18.0)
    assert head["by_category"]["claims_payment"]["received"] == 2
    assert {t["topic"]: t["received"] for t in head["by_topic"]} == {
        "complaint.claim_delay": 1, "complaint.billing": 1, "complaint.claim_amount": 1, "none": 1}  # fmt: skip
    assert [(t["month"], t["received"], t["closed"]) for t in head["trend"]][-1] == ("2026-08", 1, 1)

    seoul = world.auth("center_manager.seoul")
    own = await (await client.get(path, params={"month": "2026-09"}, headers=seoul)).json()
    assert (own["analysis"]["received"], own["analysis"]["contracts"], own["analysis"]["fss_referred"]) == (3, 4, 0)
    busan = {"month": "2026-09", "org_unit_id": str(world.units["BUSAN"])}
    assert (await client.get(path, params=busan, headers=seoul)).status == 404
    assert (await client.get(path, params={"month": "2026-08"}, headers=seoul)).status == 404  # not generated

    actions = "/api/v1/complaints/corrective-actions"
    body = {"month": "2026-09", "org_unit_id": world.units["SEOUL"], "finding": "보상 지연 반복 민원",
            "what": "보상 담당 인력 보강", "owner": "account_manager.gangnam", "due_date": "2026-10-31"}  # fmt: skip
    assert (await client.post(actions, json=body, headers=world.auth("operator.seoul"))).status == 403
    created = await client.post(actions, json=body, headers=seoul)
    assert created.status == 201, await created.text()
    action = (await created.json())["id"]
    owner = world.auth("account_manager.gangnam")
    follow = f"{actions}/{action}"
    refused = await client.post(follow, json={"event": "closed", "note": "종결"}, headers=seoul)
    assert refused.status == 409
    done = await client.post(follow, json={"event": "done", "note": "2명 충원"}, headers=owner)
    assert done.status == 200 and (await done.json())["done_at"].endswith("+09:00")
    assert (await client.post(follow, json={"event": "effect_checked", "note": "x"}, headers=owner)).status == 403
    for event in ("effect_checked", "closed"):
        answer = await client.post(follow, json={"event": event, "note": "10월 지연 민원 절반"}, headers=seoul)
        assert answer.status == 200, await answer.text()
    listed = await (await client.get(actions, params={"open": "true"}, headers=seoul)).json()
    assert listed["items"] == []
    listed = await (await client.get(actions, params={"month": "2026-09"}, headers=seoul)).json()
    assert [a["closed_at"] is not None for a in listed["items"]] == [True]
    assert (await (await client.get(actions, headers=world.auth("operator.busan"))).json())["items"] == []
