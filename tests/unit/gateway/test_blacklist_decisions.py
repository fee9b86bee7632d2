"""Blacklist proposals match nothing until a center manager approves them; approval and revocation do everything at
once (flag, matches company-wide, segments, events, audit); center managers see entries due for review."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from crm_store.calls.store import find_caller
from crm_store.customers.tables import CustomerEvent
from crm_store.db import async_session_factory, make_async_engine
from crm_store.org.tables import Staff
from crm_store.validation import business_today
from tests.customer_helpers import Org
from workers.settings import Settings

RRN = "880315-1234567"
REASON = "보험사기 혐의 (허위 사고 접수)"


async def _create(client: Any, org: Org, user: str, unit: str, phone: str, rrn: str = RRN) -> int:
    body = {"kind": "individual", "name": "박정호", "phones": [phone], "registration_number": rrn,
            "org_unit_id": org.units[unit]}  # fmt: skip
    answer = await client.post("/api/v1/customers", json=body, headers=org.auth(user))
    assert answer.status == 201, await answer.text()
    return int((await answer.json())["id"])


async def _picture(client: Any, org: Org, user: str, customer_id: int) -> dict[str, Any]:
    answer = await client.get(f"/api/v1/customers/{customer_id}", headers=org.auth(user))
    assert answer.status == 200, await answer.text()
    return dict(await answer.json())


async def _caller(settings: Settings, number: str) -> Any:
    engine = make_async_engine(settings.async_db_url)
    try:
        async with async_session_factory(engine)() as session:
            return await find_caller(session, number)
    finally:
        await engine.dispose()


def _events(engine: Any, customer_id: int) -> list[CustomerEvent]:
    """The customer's blacklist events (segment changes and the missing-manager notice aside)."""
    with Session(engine) as session:
        query = select(CustomerEvent).where(CustomerEvent.customer_id == customer_id).order_by(col(CustomerEvent.id))
        return [e for e in session.exec(query).all() if e.kind not in ("segment_changed", "no_account_manager")]


async def _trail(client: Any, org: Org, customer_id: int) -> list[dict[str, Any]]:
    answer = await client.get("/api/v1/audit", params={"customer_id": str(customer_id)}, headers=org.auth("cm.gangnam"))
    assert answer.status == 200, await answer.text()
    return [e for e in (await answer.json())["items"] if e["action"] != "read"]


async def test_a_proposal_matches_nothing_until_a_center_manager_approves(
    client: Any, org: Org, settings: Settings, engine: Any
) -> None:
    listed = await _create(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO", "010-1111-2222")
    twin = await _create(client, org, "agent.haeundae", "BUSAN-DONGBU-HAEUNDAE", "010-3333-4444")  # same person
    answer = await client.post(
        "/api/v1/blacklist",
        json={"customer_id": listed, "reason": REASON, "phones": ["010-7777-8888"]},
        headers=org.auth("agent.seocho"),
    )
    assert answer.status == 201, await answer.text()
    entry = await answer.json()
    assert (entry["state"], entry["approved"]) == ("pending", False)

    # Pending: no flag, no alert, no match at another branch or on a call, no inferior segment, no event.
    for user, customer in (("agent.seocho", listed), ("agent.haeundae", twin)):
        picture = await _picture(client, org, user, customer)
        assert not picture["blacklisted"] and not picture["blacklist"] and picture["segment"] != "inferior"
        assert "blacklist" not in {a["kind"] for a in picture["alerts"]}
    for number in ("+821011112222", "+821033334444", "+821077778888"):
        assert not (await _caller(settings, number)).blacklisted, number
    assert [e.kind for e in _events(engine, listed)] == []

    # Center managers see the proposal to decide; nobody else lists the blacklist.
    answer = await client.get("/api/v1/blacklist", params={"state": "pending"}, headers=org.auth("cm.gangnam"))
    [item] = (await answer.json())["items"]
    assert (item["id"], item["proposed_by"], item["approved_by"], item["reason"]) == (
        entry["id"], "agent.seocho", None, REASON)  # fmt: skip
    assert (await client.get("/api/v1/blacklist", headers=org.auth("agent.seocho"))).status == 403
    assert (await client.get("/api/v1/blacklist", headers=org.auth("cm.busan"))).status == 200
    assert (await (await client.get("/api/v1/blacklist", headers=org.auth("cm.busan"))).json())["items"] == []

    approve = f"/api/v1/blacklist/{entry['id']}/approve"
    assert (await client.post(approve, headers=org.auth("cm.busan"))).status == 404  # not their customer
    assert (await client.post(approve, headers=org.auth("agent.seocho"))).status == 403
    answer = await client.post(approve, headers=org.auth("cm.gangnam"))
    assert answer.status == 200 and (await answer.json())["state"] == "in_force"

    # Approved: everything at once, company-wide.
    own = await _picture(client, org, "agent.seocho", listed)
    assert own["blacklisted"] and own["blacklist"][0]["own_entry"] and own["segment"] == "inferior"
    elsewhere = await _picture(client, org, "agent.haeundae", twin)
    assert elsewhere["blacklisted"] and elsewhere["segment"] == "inferior"
    assert elsewhere["blacklist"][0]["matched_on"] == "registration"
    for number in ("+821011112222", "+821033334444", "+821077778888"):
        assert (await _caller(settings, number)).blacklisted, number
    [event] = _events(engine, listed)
    assert event.kind == "blacklisted" and f"#{entry['id']}" in event.reason and REASON not in event.reason
    trail = await _trail(client, org, listed)
    assert [(e["action"], e["username"]) for e in trail] == [
        ("blacklist_approve", "cm.gangnam"), ("blacklist_propose", "agent.seocho")]  # fmt: skip
    assert all(REASON not in str(e["detail"]) for e in trail)
    # Approving again changes nothing.
    assert (await client.post(approve, headers=org.auth("cm.gangnam"))).status == 200
    assert len(_events(engine, listed)) == 1


async def test_revocation_lifts_the_listing_everywhere_and_is_audited(
    client: Any, org: Org, settings: Settings, engine: Any
) -> None:
    listed = await _create(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO", "010-1111-2222")
    twin = await _create(client, org, "agent.haeundae", "BUSAN-DONGBU-HAEUNDAE", "010-3333-4444")
    answer = await client.post(
        "/api/v1/blacklist", json={"customer_id": listed, "reason": REASON}, headers=org.auth("cm.gangnam")
    )
    first = await answer.json()
    assert first["state"] == "in_force"  # a center manager's own listing is approved at once
    second = await (
        await client.post(
            "/api/v1/blacklist", json={"customer_id": listed, "reason": "두 번째 등재"}, headers=org.auth("admin")
        )
    ).json()

    revoke = f"/api/v1/blacklist/{first['id']}/revoke"
    why = {"reason": "수사 결과 무혐의"}
    assert (await client.post(revoke, json=why, headers=org.auth("agent.seocho"))).status == 403
    assert (await client.post(revoke, json=why, headers=org.auth("cm.busan"))).status == 404
    assert (await client.post(revoke, json={"reason": " "}, headers=org.auth("cm.gangnam"))).status == 422
    answer = await client.post(revoke, json=why, headers=org.auth("cm.gangnam"))
    assert answer.status == 200 and (await answer.json())["state"] == "revoked"
    # Still listed by the other entry in force.
    assert (await _picture(client, org, "agent.seocho", listed))["blacklisted"]

    answer = await client.post(f"/api/v1/blacklist/{second['id']}/revoke", json=why, headers=org.auth("cm.seoul"))
    assert answer.status == 200
    own = await _picture(client, org, "agent.seocho", listed)
    assert not own["blacklisted"] and own["segment"] == "ordinary"
    elsewhere = await _picture(client, org, "agent.haeundae", twin)
    assert not elsewhere["blacklisted"] and elsewhere["segment"] == "ordinary"
    assert not (await _caller(settings, "+821011112222")).blacklisted
    kinds = [e.kind for e in _events(engine, listed)]
    assert kinds == ["blacklisted", "blacklisted", "blacklist_revoked", "blacklist_revoked"]

    assert (await client.post(revoke, json=why, headers=org.auth("cm.gangnam"))).status == 409
    assert (await client.post(f"/api/v1/blacklist/{first['id']}/approve", headers=org.auth("cm.gangnam"))).status == 409
    revocations = [e for e in await _trail(client, org, listed) if e["action"] == "blacklist_revoke"]
    assert [(e["username"], e["detail"]["revocation_reason"]) for e in revocations] == [
        ("cm.seoul", why["reason"]), ("cm.gangnam", why["reason"])]  # fmt: skip
    answer = await client.get("/api/v1/blacklist", params={"state": "revoked"}, headers=org.auth("cm.seoul"))
    items = {i["id"]: i for i in (await answer.json())["items"]}
    assert (items[first["id"]]["revoked_by"], items[first["id"]]["revocation_reason"]) == ("cm.gangnam", why["reason"])
    assert (await (await client.get("/api/v1/blacklist", headers=org.auth("cm.seoul"))).json())["items"] == []


async def test_entries_due_for_review_are_shown_to_center_managers_masked_by_clearance(
    client: Any, org: Org, engine: Any
) -> None:
    with Session(engine) as session:  # before cm.seoul's first request (tokens are cached with the clearance)
        staff = session.get(Staff, org.staff["cm.seoul"])
        assert staff is not None
        staff.clearance = 2
        session.add(staff)
        session.commit()
    due = await _create(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO", "010-1111-2222")
    later = await _create(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO", "010-5555-6666", "900101-2345678")
    today = business_today()
    for customer, review_on in ((due, today - timedelta(days=1)), (later, today + timedelta(days=30))):
        body = {"customer_id": customer, "reason": REASON, "review_on": review_on.isoformat()}
        assert (await client.post("/api/v1/blacklist", json=body, headers=org.auth("cm.gangnam"))).status == 201
    answer = await client.get("/api/v1/blacklist", headers=org.auth("cm.gangnam"))
    flags = {i["customer_id"]: i["review_due"] for i in (await answer.json())["items"]}
    assert flags == {due: True, later: False}
    answer = await client.get("/api/v1/blacklist", params={"state": "review_due"}, headers=org.auth("cm.gangnam"))
    [item] = (await answer.json())["items"]
    assert (item["customer_id"], item["approved_by"], item["reason"]) == (due, "cm.gangnam", REASON)
    assert (await client.get("/api/v1/blacklist", params={"state": "soon"}, headers=org.auth("cm.seoul"))).status == 400

    # A center manager below the blacklist reason's grade (cm.seoul here) sees the entry, not the reason.
    answer = await client.get("/api/v1/blacklist", params={"state": "review_due"}, headers=org.auth("cm.seoul"))
    [item] = (await answer.json())["items"]
    assert item["reason"] != REASON and REASON not in await answer.text() and "reason" in item["masked_fields"]
    # Each listing is an audited read of the customers shown.
    trail = await client.get("/api/v1/audit", params={"customer_id": str(due)}, headers=org.auth("cm.gangnam"))
    reads = [e for e in (await trail.json())["items"] if e["purpose"] == "blacklist"]
    assert {e["username"] for e in reads} == {"cm.gangnam", "cm.seoul"} and reads[0]["fields"] == ["blacklist"]
