"""The customer API on embedded defaults (SQLite): picture, validation, scope, audit, cross-branch blacklist,
account managers (grades, the one-manager constraint)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from crm_store.audit import AuditEntry
from crm_store.calls.store import find_caller
from crm_store.db import async_session_factory, make_async_engine, session_scope
from crm_store.managers.tables import AccountAssignment
from tests.customer_helpers import RRN, Org, create_customer, post_customer
from tests.fake_clock import business_day
from workers.settings import Settings

OTHER_RRN = "900101-2345678"
# The fixed policy, claim and certification dates below are reckoned from this day (loss-ratio and claim windows,
# yearly certification).
AS_OF = date(2026, 11, 25)


async def lookup(client: Any, org: Org, user: str, phone: str, **params: str) -> Any:
    return await client.get("/api/v1/customers/lookup", params={"phone": phone, **params}, headers=org.auth(user))


@business_day(AS_OF)
async def test_picture_in_one_answer_with_the_fixed_names(client: Any, org: Org) -> None:
    created = await create_customer(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO", vehicles=["12가 3456"])
    cid = created["id"]
    h = org.auth("agent.seocho")
    answer = await client.post(
        f"/api/v1/customers/{cid}/policies",
        headers=h,
        json={"line": "auto", "premium": 1_000_000, "start_date": "2024-01-01", "end_date": "2025-01-01"},
    )
    assert answer.status == 201, await answer.text()
    policy = await answer.json()
    answer = await client.post(
        f"/api/v1/customers/{cid}/claims",
        headers=h,
        json={"policy_id": policy["id"], "occurred_on": "2024-05-01", "paid_amount": 3_500_000, "status": "paid"},
    )
    assert answer.status == 201, await answer.text()
    claim = await answer.json()
    assert claim["segment"] == "inferior" and claim["alerts"][0]["kind"] == "high_loss_ratio"
    for phone in ("010-1234-5678", "01012345678", "+82 10 1234 5678", "+821012345678"):
        answer = await lookup(client, org, "agent.seocho", phone)
        assert answer.status == 200, phone
    picture = await answer.json()
    for name in (
        "id",
        "name",
        "kind",
        "org_unit_id",
        "segment",
        "blacklisted",
        "alerts",
        "loss_ratio",
        "account_manager",
        "policies",
        "claims",
    ):
        assert name in picture
    assert picture["segment"] == "inferior" and picture["blacklisted"] is False
    assert picture["loss_ratio"] == 3.5 and picture["claim_count"] == 1 and picture["paid_total"] == 3_500_000
    assert picture["policies"][0]["line"] == "auto" and picture["claims"][0]["paid_amount"] == 3_500_000
    assert picture["segment_history"][0]["to"] == "inferior" and picture["segment_history"][0]["reason"]
    text = await answer.text()
    assert picture["registration_number"] == "880315-1******" and RRN not in text and "8803151234567" not in text
    assert picture["vehicles"] == ["12가3456"]
    assert {a["kind"] for a in picture["alerts"]} == {"high_loss_ratio"}
    detail = await (await client.get(f"/api/v1/customers/{cid}", headers=h)).json()
    assert detail["id"] == cid and detail["alerts"] == picture["alerts"]


async def test_validation_errors_name_the_fields(client: Any, org: Org) -> None:
    h = org.auth("agent.seocho")
    answer = await client.post(
        "/api/v1/customers",
        headers=h,
        json={
            "kind": "alien",
            "name": "",
            "phones": ["12"],
            "registration_number": "880315-99",
            "org_unit_id": "4",
            "x": 1,
        },
    )
    assert answer.status == 422
    body = await answer.json()
    assert body["error"] and set(body["fields"]) == {
        "kind",
        "name",
        "phones",
        "registration_number",
        "org_unit_id",
        "x",
    }
    assert "880315-99" not in await answer.text()
    answer = await client.post("/api/v1/customers", headers=h, data=b"{not json")
    assert answer.status == 422 and "fields" in await answer.json()
    answer = await post_customer(client, org, "agent.seocho", "BUSAN-DONGBU-HAEUNDAE", name="김")
    assert answer.status == 422 and "org_unit_id" in (await answer.json())["fields"]
    cid = (await create_customer(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO"))["id"]
    answer = await client.post(
        f"/api/v1/customers/{cid}/policies",
        headers=h,
        json={"line": "spaceship", "premium": -1, "start_date": "2025-01-01", "end_date": "2024-01-01"},
    )
    assert answer.status == 422 and {"line", "premium"} <= set((await answer.json())["fields"])
    answer = await client.post(
        f"/api/v1/customers/{cid}/claims",
        headers=h,
        json={"policy_id": 999, "occurred_on": "2024-05-01", "paid_amount": 0, "status": "open"},
    )
    assert answer.status == 422 and (await answer.json())["fields"] == {"policy_id": "no such policy of this customer"}
    answer = await client.post(
        "/api/v1/customers/999999/claims",
        headers=h,
        json={"policy_id": 1, "occurred_on": "2024-05-01", "paid_amount": 0, "status": "open"},
    )
    assert answer.status == 404
    assert (await client.get("/api/v1/customers/999999", headers=h)).status == 404
    answer = await lookup(client, org, "agent.seocho", "hello")
    assert answer.status == 400 and "phone" in (await answer.json())["fields"]
    assert (await lookup(client, org, "agent.seocho", "010-1234-5678", call_sid="nope")).status == 400
    assert (await lookup(client, org, "agent.seocho", "010-9876-5432")).status == 404
    answer = await post_customer(
        client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO", name="김", registration_number=OTHER_RRN
    )
    assert answer.status == 409 and "phones" in (await answer.json())["fields"]
    assert (await client.get("/api/v1/customers/lookup?phone=01012345678")).status == 401


async def test_scope_county_staff_cannot_read_another_province(client: Any, org: Org) -> None:
    cid = (await create_customer(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO"))["id"]
    for user, status in (
        ("agent.haeundae", 404),
        ("cm.busan", 404),
        ("agent.seocho", 200),
        ("cm.seoul", 200),
        ("cm.gangnam", 200),
        ("agent.hq", 200),
        ("admin", 200),
    ):
        assert (await client.get(f"/api/v1/customers/{cid}", headers=org.auth(user))).status == status, user
        assert (await lookup(client, org, user, "010-1234-5678")).status == status, user
    answer = await client.post(
        f"/api/v1/customers/{cid}/policies",
        headers=org.auth("agent.haeundae"),
        json={"line": "auto", "premium": 1, "start_date": "2024-01-01", "end_date": "2025-01-01"},
    )
    assert answer.status == 404
    assert (await client.get(f"/api/v1/audit?customer_id={cid}", headers=org.auth("agent.haeundae"))).status == 403
    assert (await client.get(f"/api/v1/audit?customer_id={cid}", headers=org.auth("cm.busan"))).status == 404
    staff = await (await client.get("/api/v1/staff", headers=org.auth("cm.busan"))).json()
    assert {s["username"] for s in staff["items"]} == {"cm.busan", "agent.haeundae", "am.haeundae"}
    assert all("password_hash" not in s for s in staff["items"])
    units = await (await client.get("/api/v1/org-units", headers=org.auth("agent.seocho"))).json()
    assert {"id", "code", "name", "level", "parent_id"} <= set(units["items"][0])


async def test_every_read_is_audited(client: Any, org: Org, engine: Any) -> None:
    cid = (await create_customer(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO"))["id"]
    sid = "CA" + "0" * 32
    await lookup(client, org, "cm.gangnam", "010-1234-5678", call_sid=sid)
    await client.get(f"/api/v1/customers/{cid}", headers=org.auth("admin"))
    await lookup(client, org, "agent.haeundae", "010-1234-5678")  # out of scope: nothing read, nothing audited
    answer = await client.get(f"/api/v1/audit?customer_id={cid}", headers=org.auth("admin"))
    entries = (await answer.json())["items"]
    assert [e["username"] for e in entries] == ["admin", "cm.gangnam", "agent.seocho"]
    assert entries[1]["call_sid"] == sid and entries[1]["purpose"] == "lookup" and entries[1]["remote_addr"]
    assert "registration_number" in entries[0]["fields"] and entries[0]["at"]
    with Session(engine) as session:
        assert len(session.exec(select(AuditEntry)).all()) == 3


async def test_blacklist_matches_across_branches(client: Any, org: Org, settings: Settings) -> None:
    listed = await create_customer(
        client,
        org,
        "agent.seocho",
        "SEOUL-GANGNAM-SEOCHO",
        phones=["010-1111-2222", "02-555-1234"],
        vehicles=["12가3456"],
    )
    answer = await client.post(
        "/api/v1/blacklist",
        headers=org.auth("agent.seocho"),
        json={
            "customer_id": listed["id"],
            "reason": "보험사기 혐의 (허위 사고 접수)",
            "phones": ["010-7777-8888", "010-2222-9999"],
        },
    )
    assert answer.status == 201, await answer.text()
    entry = await answer.json()
    assert entry["approved"] is False
    answer = await client.post(f"/api/v1/blacklist/{entry['id']}/approve", headers=org.auth("agent.seocho"))
    assert answer.status == 403
    answer = await client.post(f"/api/v1/blacklist/{entry['id']}/approve", headers=org.auth("cm.gangnam"))
    assert answer.status == 200 and (await answer.json())["approved"] is True
    # The same person at a Busan branch: the same registration number, another phone.
    same_person = await create_customer(
        client,
        org,
        "agent.haeundae",
        "BUSAN-DONGBU-HAEUNDAE",
        phones=["010-3333-4444"],
        registration_number="880315 1234567",
    )
    # A Busan customer calling from a number the listing names as evidence.
    evidence_phone = await create_customer(
        client, org, "agent.haeundae", "BUSAN-DONGBU-HAEUNDAE", phones=["010-7777-8888"], registration_number=OTHER_RRN
    )
    # A Busan customer insuring the listed customer's car.
    same_car = await create_customer(
        client,
        org,
        "agent.haeundae",
        "BUSAN-DONGBU-HAEUNDAE",
        phones=["010-5555-6666"],
        registration_number="7001011234560",
        vehicles=["12 가 3456"],
    )
    for created, phone, matched_on in (
        (same_person, "010-3333-4444", "registration"),
        (evidence_phone, "010-7777-8888", "phone"),
        (same_car, "010-5555-6666", "plate"),
    ):
        assert created["blacklisted"] is True
        picture = await (await lookup(client, org, "agent.haeundae", phone)).json()
        assert picture["blacklisted"] is True and picture["segment"] == "inferior", matched_on
        alert = picture["alerts"][0]
        assert alert["kind"] == "blacklist" and alert["level"] == "critical" and "서초구지점" in alert["reason"]
        assert picture["blacklist"][0]["matched_on"] == matched_on and not picture["blacklist"][0]["own_entry"]
    # The listed customer's own second number, and the incoming-call path.
    own = await (await lookup(client, org, "agent.seocho", "02-555-1234")).json()
    assert own["blacklisted"] and own["blacklist"][0]["own_entry"]
    engine = make_async_engine(settings.async_db_url)
    try:
        async with async_session_factory(engine)() as session:
            for number in ("+821033334444", "+821077778888", "+821055556666", "+8225551234"):
                caller = await find_caller(session, number)
                assert caller.blacklisted and "blacklist" in caller.alerts and caller.blacklist_reason, number
            # An unknown caller dialling from the evidence number of a listing is flagged too.
            unknown = await find_caller(session, "+821022229999")
            assert unknown.customer_id is None and unknown.blacklisted
            assert not (await find_caller(session, "+821099998888")).blacklisted
    finally:
        await engine.dispose()


@business_day(AS_OF)
async def test_account_managers_grades_and_one_manager_per_customer(client: Any, org: Org, engine: Any) -> None:
    cid = (await create_customer(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO"))["id"]
    senior = {"grade": "senior", "certified_on": "2026-03-01", "evaluation": "A"}
    junior = {"grade": "junior", "certified_on": "2026-03-01"}
    path = "/api/v1/account-managers/{}/certifications"
    assert (await client.post(path.format("am.seocho"), json=senior, headers=org.auth("cm.gangnam"))).status == 403
    assert (await client.post(path.format("am.seocho"), json=senior, headers=org.auth("cm.seoul"))).status == 201
    assert (await client.post(path.format("am.gangnam"), json=junior, headers=org.auth("cm.seoul"))).status == 403
    assert (await client.post(path.format("am.gangnam"), json=junior, headers=org.auth("cm.gangnam"))).status == 201
    assert (await client.post(path.format("am.haeundae"), json=junior, headers=org.auth("cm.gangnam"))).status == 404
    profile = await (await client.get("/api/v1/account-managers/am.seocho", headers=org.auth("cm.seoul"))).json()
    assert profile["grade"] == "senior" and profile["certifications"][0]["approved_by"] == "cm.seoul"
    h = org.auth("cm.gangnam")
    url = f"/api/v1/customers/{cid}/account-manager"
    assert (await client.put(url, json={"username": "am.haeundae"}, headers=org.auth("admin"))).status == 422
    assert (await client.put(url, json={"username": "am.seocho", "reason": "신규"}, headers=h)).status == 200
    assert (await client.put(url, json={"username": "am.gangnam", "reason": "교체"}, headers=h)).status == 200
    history = (await (await client.get(f"{url}/history", headers=h)).json())["items"]
    assert [(a["username"], a["current"]) for a in history] == [("am.gangnam", True), ("am.seocho", False)]
    picture = await (await client.get(f"/api/v1/customers/{cid}", headers=h)).json()
    assert picture["account_manager"]["username"] == "am.gangnam" and picture["account_manager"]["grade"] == "junior"
    # The database itself refuses a second current manager.
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(AccountAssignment(customer_id=cid, account_manager_id=org.staff["am.seocho"]))
    with Session(engine) as session:
        current = session.exec(
            select(AccountAssignment).where(AccountAssignment.customer_id == cid, AccountAssignment.ended_at.is_(None))
        ).all()  # type: ignore[union-attr]
        assert len(current) == 1
    report = await client.get("/api/v1/account-managers/am.gangnam/report?month=2026-11", headers=h)
    assert report.status == 200 and "customers_by_segment" in await report.json()
    assert (await client.get("/api/v1/account-managers/am.gangnam/report?month=2026-13", headers=h)).status == 400
    events = await client.get("/api/v1/account-managers/am.gangnam/events", headers=h)
    assert events.status == 200


async def test_openapi_documents_every_customer_route(client: Any) -> None:
    document = await (await client.get("/api/v1/openapi.json")).json()
    routes = {
        (r.method.lower(), r.resource.canonical.removeprefix("/api/v1"))  # type: ignore[union-attr]
        for r in client.app.router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith("/api/v1/")
        and r.method != "HEAD"
        and r.resource.canonical != "/api/v1/openapi.json"
    }
    documented = {(m, path) for path, item in document["paths"].items() for m in item}
    assert routes <= documented, routes - documented


async def test_a_new_customer_gets_its_account_manager_at_once(client: Any, org: Org, engine: Any) -> None:
    """The nearest branch's certified manager with the fewest customers; the one asked for; or, with no certified
    manager in reach, none and a notice the branch's supervisors see."""
    path = "/api/v1/account-managers/{}/certifications"
    certified = {"grade": "junior", "certified_on": str(date.today())}
    h = org.auth("cm.gangnam")

    # No certified manager yet: no manager, and the customer is listed to the supervisors as unaddressed.
    orphan = (await create_customer(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO"))["id"]
    assert (await (await client.get(f"/api/v1/customers/{orphan}", headers=h)).json())["account_manager"] is None
    unaddressed = await client.get("/api/v1/customer-events", params={"unaddressed": "true"}, headers=h)
    assert unaddressed.status == 200, await unaddressed.text()
    notices = [e for e in (await unaddressed.json())["items"] if e["kind"] == "no_account_manager"]
    assert [e["customer_id"] for e in notices] == [orphan]

    # A city-branch manager is in reach of the county branch's customers; the county's own manager comes first.
    assert (await client.post(path.format("am.gangnam"), json=certified, headers=h)).status == 201
    first = (await create_customer(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO", phones=["010-2000-0001"]))["id"]
    assert (await client.post(path.format("am.seocho"), json=certified, headers=h)).status == 201
    second = (await create_customer(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO", phones=["010-2000-0002"]))[
        "id"
    ]
    at_city = (await create_customer(client, org, "cm.gangnam", "SEOUL-GANGNAM", phones=["010-2000-0003"]))["id"]
    asked = (
        await create_customer(
            client, org, "cm.gangnam", "SEOUL-GANGNAM-SEOCHO", phones=["010-2000-0004"], account_manager="am.gangnam"
        )  # fmt: skip
    )["id"]

    async def manager(cid: int) -> str:
        picture = await (await client.get(f"/api/v1/customers/{cid}", headers=h)).json()
        return str(picture["account_manager"]["username"])

    assert [await manager(c) for c in (first, second, at_city, asked)] == [
        "am.gangnam",  # the only certified one in reach then
        "am.seocho",  # the county's own manager before the city branch's
        "am.gangnam",  # a city-branch customer: the county manager is not in reach
        "am.gangnam",  # asked for by name
    ]
    history = await (await client.get(f"/api/v1/customers/{second}/account-manager/history", headers=h)).json()
    assert history["items"][0]["reason"].startswith("신규 고객 자동 배정")
    # One asked for out of reach is refused like any assignment, and nothing is created.
    answer = await post_customer(
        client,
        org,
        "admin",
        "SEOUL-GANGNAM-SEOCHO",
        name="박부산",
        phones=["010-2000-0005"],
        account_manager="am.haeundae",
    )
    assert answer.status == 422 and "username" in await answer.text()
    assert (await lookup(client, org, "admin", "010-2000-0005")).status == 404
