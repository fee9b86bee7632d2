"""Changes after creation: the segment rules' inputs, name, phones and profile of a customer, and a claim's status,
amount paid and closing date. The segment follows at once with its reason, the aggregates stay equal to a rebuild
from the rows, every change is audited, and invalid or out-of-scope requests change nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import select

from crm_store.audit import AuditEntry
from crm_store.customers.stats import rebuild_stats
from crm_store.customers.tables import CustomerEvent
from crm_store.db import session_scope
from crm_store.validation import business_today
from tests.customer_helpers import Org, customer_body


async def _send(client: Any, org: Org, user: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    answer = await client.request(method, path, json=body, headers=org.auth(user))
    return answer.status, await answer.json()


async def _customer(client: Any, org: Org, **body: Any) -> dict[str, Any]:
    body = customer_body(org, "SEOUL-GANGNAM-SEOCHO", **body)
    status, created = await _send(client, org, "agent.seocho", "POST", "/api/v1/customers", body)
    assert status == 201, created
    return dict(created)


async def _quality_customer(client: Any, org: Org) -> int:
    """Four claim-free years of premium: quality."""
    cid = (await _customer(client, org))["id"]
    start = business_today().replace(month=1, day=1) - timedelta(days=4 * 365)
    end = start + timedelta(days=5 * 365)
    status, body = await _send(
        client, org, "agent.seocho", "POST", f"/api/v1/customers/{cid}/policies",
        {"line": "auto", "premium": 1_000_000, "start_date": str(start), "end_date": str(end)},
    )  # fmt: skip
    assert status == 201 and body["segment"] == "quality", body
    return int(cid)


async def _open_claim(client: Any, org: Org) -> tuple[int, dict[str, Any]]:
    """A customer with a year's auto policy that began 200 days ago and a claim on it, 30 days old and still open;
    the customer's id and the claim."""
    cid = (await _customer(client, org))["id"]
    start = business_today() - timedelta(days=200)
    _, policy = await _send(
        client, org, "agent.seocho", "POST", f"/api/v1/customers/{cid}/policies",
        {"line": "auto", "premium": 1_000_000, "start_date": str(start), "end_date": str(start + timedelta(days=365))},
    )  # fmt: skip
    _, claim = await _send(
        client, org, "agent.seocho", "POST", f"/api/v1/customers/{cid}/claims",
        {"policy_id": policy["id"], "occurred_on": str(business_today() - timedelta(days=30)), "status": "open"},
    )  # fmt: skip
    return int(cid), dict(claim)


def _changes(engine: Any, customer_id: int) -> list[AuditEntry]:
    with session_scope(engine) as session:
        return list(
            session.exec(
                select(AuditEntry)
                .where(AuditEntry.customer_id == customer_id, AuditEntry.action != "read")
                .order_by(AuditEntry.id)  # type: ignore[arg-type]
            ).all()
        )


def _aggregates(engine: Any) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        stats = conn.execute(
            text("SELECT customer_id, policy_count, premium_total, claim_count, open_claims, paid_total "
                 "FROM customer_stats ORDER BY customer_id")
        ).all()  # fmt: skip
        years = conn.execute(text("SELECT * FROM customer_year_stats ORDER BY customer_id, year")).all()
    return [tuple(r) for r in stats] + [tuple(r) for r in years]


async def test_rule_inputs_change_the_segment_at_once(client: Any, org: Org, engine: Any) -> None:
    cid = await _quality_customer(client, org)
    path = f"/api/v1/customers/{cid}"
    status, picture = await _send(client, org, "agent.seocho", "PATCH", path, {"late_payments": 1})
    assert status == 200 and picture["segment"] == "ordinary"
    status, picture = await _send(client, org, "agent.seocho", "PATCH", path, {"late_payments": 0})
    assert picture["segment"] == "quality"
    status, picture = await _send(client, org, "cm.gangnam", "PATCH", path, {"fraud_marker": True})
    assert status == 200 and picture["segment"] == "inferior" and picture["segment_reason"] == "보험사기 표지"
    latest = picture["segment_history"][0]
    assert (latest["from"], latest["to"], latest["by"]) == ("quality", "inferior", "cm.gangnam")
    assert latest["reason"] == "보험사기 표지" and latest["at"]
    status, picture = await _send(
        client, org, "cm.gangnam", "PATCH", path, {"fraud_marker": False, "key_account": "group"}
    )
    assert picture["segment"] == "key" and picture["key_account"] == "group"
    assert "key_customer" in {a["kind"] for a in picture["alerts"]}
    status, picture = await _send(client, org, "cm.gangnam", "PATCH", path, {"key_account": None})
    assert picture["segment"] == "quality" and picture["key_account"] is None
    history = [(h["from"], h["to"]) for h in picture["segment_history"]]
    assert history[:5] == [("key", "quality"), ("inferior", "key"), ("quality", "inferior"), ("ordinary", "quality"),
                           ("quality", "ordinary")]  # fmt: skip

    changes = _changes(engine, cid)
    assert [c.action for c in changes] == ["customer.changed"] * 5
    assert changes[2].username == "cm.gangnam" and changes[2].target == f"customer:{cid}"
    assert changes[2].detail == {"fraud_marker": {"from": False, "to": True}, "segment": "inferior"}
    assert changes[3].detail["key_account"] == {"from": None, "to": "group"}  # type: ignore[index]
    # The same value again is no change: nothing audited.
    await _send(client, org, "cm.gangnam", "PATCH", path, {"late_payments": 0})
    assert len(_changes(engine, cid)) == 5


async def test_invalid_or_out_of_scope_changes_change_nothing(client: Any, org: Org, engine: Any) -> None:
    cid = (await _customer(client, org))["id"]
    other = (await _customer(client, org, phones=["010-2222-3333"], registration_number="900101-2345678"))["id"]
    path = f"/api/v1/customers/{cid}"
    status, body = await _send(
        client, org, "agent.seocho", "PATCH", path,
        {"late_payments": -1, "fraud_marker": "yes", "key_account": "vip", "registration_number": "1", "name": None},
    )  # fmt: skip
    assert status == 422
    assert set(body["fields"]) == {"late_payments", "fraud_marker", "key_account", "registration_number", "name"}
    assert (await _send(client, org, "agent.seocho", "PATCH", path, {}))[0] == 422
    status, body = await _send(client, org, "agent.seocho", "PATCH", path, {"phones": ["010-2222-3333"]})
    assert status == 409 and "phones" in body["fields"] and "2222-3333" not in body["fields"]["phones"]
    assert (await _send(client, org, "agent.haeundae", "PATCH", path, {"late_payments": 3}))[0] == 404
    assert (await _send(client, org, "cm.busan", "PATCH", path, {"fraud_marker": True}))[0] == 404
    assert (await _send(client, org, "agent.seocho", "PATCH", "/api/v1/customers/999999", {"late_payments": 1}))[
        0
    ] == 404
    status, picture = await _send(client, org, "agent.seocho", "GET", path)
    assert picture["segment"] == "ordinary" and picture["phones"] == [{"number": "+821012345678", "label": "mobile"}]
    assert _changes(engine, cid) == [] and _changes(engine, other) == []


async def test_phones_and_name_change_and_the_lookup_follows(client: Any, org: Org, engine: Any) -> None:
    cid = (await _customer(client, org))["id"]
    status, picture = await _send(
        client, org, "agent.seocho", "PATCH", f"/api/v1/customers/{cid}",
        {"name": " 김민준2 ", "phones": ["010 1234 5678", "02-555-1234"]},
    )  # fmt: skip
    assert status == 200 and picture["name"] == "김민준2"
    assert picture["phones"] == [
        {"number": "+821012345678", "label": "mobile"},
        {"number": "+8225551234", "label": "phone"},
    ]
    status, _ = await _send(
        client, org, "agent.seocho", "PATCH", f"/api/v1/customers/{cid}", {"phones": ["02-555-1234"]}
    )
    lookup = await client.get(
        "/api/v1/customers/lookup", params={"phone": "02-555-1234"}, headers=org.auth("agent.seocho")
    )
    assert lookup.status == 200 and (await lookup.json())["id"] == cid
    gone = await client.get(
        "/api/v1/customers/lookup", params={"phone": "010-1234-5678"}, headers=org.auth("agent.seocho")
    )
    assert gone.status == 404
    first, second = _changes(engine, cid)
    assert first.detail == {"name": {"from": "김민준", "to": "김민준2"}, "segment": "ordinary",
                            "phones": {"added": ["+82****1234"], "removed": []}}  # fmt: skip
    assert second.detail["phones"] == {"added": [], "removed": ["+8210****5678"]}  # type: ignore[index]


async def test_a_new_number_matching_a_listing_is_reported(client: Any, org: Org, engine: Any) -> None:
    listed = (await _customer(client, org, phones=["010-7777-8888"], registration_number="900101-2345678"))["id"]
    status, _ = await _send(
        client, org, "cm.gangnam", "POST", "/api/v1/blacklist", {"customer_id": listed, "reason": "보험사기"}
    )
    assert status == 201
    cid = (await _customer(client, org))["id"]
    # The listing's keys hold the number it was listed with; the listed customer gives it up first.
    await _send(client, org, "agent.seocho", "PATCH", f"/api/v1/customers/{listed}", {"phones": ["010-7777-9999"]})
    status, picture = await _send(
        client, org, "agent.seocho", "PATCH", f"/api/v1/customers/{cid}", {"phones": ["010-1234-5678", "010-7777-8888"]}
    )
    assert status == 200 and picture["blacklisted"] and picture["segment"] == "inferior"
    with session_scope(engine) as session:
        events = session.exec(select(CustomerEvent).where(CustomerEvent.customer_id == cid)).all()
    assert "blacklist_match" in {e.kind for e in events}


async def test_claim_changes_keep_the_aggregates_and_the_segment_current(client: Any, org: Org, engine: Any) -> None:
    cid, claim = await _open_claim(client, org)
    today, occurred = business_today(), date.fromisoformat(claim["occurred_on"])
    assert claim["closed_on"] is None
    path = f"/api/v1/claims/{claim['id']}"

    status, paid = await _send(client, org, "agent.seocho", "PATCH", path, {"status": "paid", "paid_amount": 3_500_000})
    assert status == 200, paid
    assert paid["status"] == "paid" and paid["paid_amount"] == 3_500_000 and paid["closed_on"] == str(today)
    assert paid["segment"] == "inferior" and {a["kind"] for a in paid["alerts"]} == {"high_loss_ratio"}
    _, picture = await _send(client, org, "agent.seocho", "GET", f"/api/v1/customers/{cid}")
    assert picture["open_claims"] == 0 and picture["paid_total"] == 3_500_000 and picture["claim_count"] == 1
    assert picture["claims"][0]["closed_on"] == str(today) and picture["segment_history"][0]["by"] == "agent.seocho"
    assert next(y for y in picture["years"] if y["year"] == occurred.year)["paid"] == 3_500_000
    incremental = _aggregates(engine)
    rebuild_stats(engine)
    assert _aggregates(engine) == incremental

    status, reopened = await _send(client, org, "agent.seocho", "PATCH", path, {"status": "open", "paid_amount": 0})
    assert reopened["closed_on"] is None and reopened["segment"] == "ordinary" and reopened["alerts"] == []
    _, picture = await _send(client, org, "agent.seocho", "GET", f"/api/v1/customers/{cid}")
    assert picture["open_claims"] == 1 and picture["paid_total"] == 0 and picture["loss_ratio"] == 0
    status, closed = await _send(
        client,
        org,
        "agent.seocho",
        "PATCH",
        path,
        {"status": "closed", "paid_amount": 200_000, "closed_on": str(today - timedelta(days=3))},
    )
    assert closed["closed_on"] == str(today - timedelta(days=3)) and closed["segment"] == "ordinary"
    incremental = _aggregates(engine)
    rebuild_stats(engine)
    assert _aggregates(engine) == incremental

    changes = [c.detail for c in _changes(engine, cid) if c.action == "claim.changed"]
    assert changes[0] == {
        "status": {"from": "open", "to": "paid"},
        "paid_amount": {"from": 0, "to": 3_500_000},
        "closed_on": {"from": None, "to": str(today)},
    }
    assert len(changes) == 3
    with session_scope(engine) as session:
        raised = session.exec(
            select(CustomerEvent).where(CustomerEvent.customer_id == cid, CustomerEvent.kind == "high_loss_ratio")
        ).all()
    assert len(raised) == 1 and "지급액 변경" in raised[0].reason


async def test_invalid_claim_changes_are_refused(client: Any, org: Org, engine: Any) -> None:
    cid, claim = await _open_claim(client, org)
    today, occurred = business_today(), date.fromisoformat(claim["occurred_on"])
    path = f"/api/v1/claims/{claim['id']}"
    before = _aggregates(engine)
    refused = (
        ({}, "body"),
        ({"status": "lost"}, "status"),
        ({"paid_amount": -5}, "paid_amount"),
        ({"paid_amount": "5"}, "paid_amount"),
        ({"status": None}, "status"),
        ({"closed_on": str(today)}, "closed_on"),  # still open
        ({"status": "rejected", "paid_amount": 10}, "paid_amount"),
        ({"status": "closed", "closed_on": str(occurred - timedelta(days=1))}, "closed_on"),
        ({"status": "closed", "closed_on": str(today + timedelta(days=1))}, "closed_on"),
        ({"status": "closed", "closed_on": None}, "closed_on"),
        ({"status": "paid", "policy_id": 3}, "policy_id"),
    )
    for body, field in refused:
        status, answer = await _send(client, org, "agent.seocho", "PATCH", path, body)
        assert status == 422 and field in answer["fields"], (body, answer)
    assert (await _send(client, org, "agent.haeundae", "PATCH", path, {"status": "paid"}))[0] == 404
    assert (await _send(client, org, "agent.seocho", "PATCH", "/api/v1/claims/999999", {"status": "paid"}))[0] == 404
    assert _aggregates(engine) == before
    assert [c for c in _changes(engine, cid) if c.action == "claim.changed"] == []


async def test_profiles_are_validated_on_create_and_change(client: Any, org: Org, engine: Any) -> None:
    invalid = {"family": [{"relation": "배우자", "name": "김영희", "phone": "999"}], "industry": "제조업"}
    new = customer_body(org, "SEOUL-GANGNAM-SEOCHO", profile=invalid)
    status, body = await _send(client, org, "agent.seocho", "POST", "/api/v1/customers", new)
    assert status == 422 and set(body["fields"]) == {"profile.family.0.phone", "profile.industry"}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customer")).scalar() == 0
    created = await _customer(
        client, org, profile={"family": [{"relation": "배우자", "name": "김영희", "phone": "010 2345 6789"}]}
    )
    assert created["profile"] == {"family": [{"relation": "배우자", "name": "김영희", "phone": "+821023456789"}]}
    path = f"/api/v1/customers/{created['id']}"
    status, picture = await _send(client, org, "agent.seocho", "PATCH", path, {"profile": {"occupation": "교사"}})
    assert status == 200 and picture["profile"]["occupation"] == "교사" and picture["profile"]["family"]
    status, body = await _send(client, org, "agent.seocho", "PATCH", path, {"profile": {"contacts": []}})
    assert status == 422 and set(body["fields"]) == {"profile.contacts"}
    status, picture = await _send(client, org, "agent.seocho", "PATCH", path, {"profile": {"family": None}})
    assert picture["profile"] == {"occupation": "교사"}
    details = [c.detail for c in _changes(engine, created["id"])]
    assert details == [{"profile": {"changed": ["occupation"]}, "segment": "ordinary"},
                       {"profile": {"changed": ["family"]}, "segment": "ordinary"}]  # fmt: skip
    assert "김영희" not in str(details)  # what changed, not the contents

    company = await _customer(
        client, org, kind="corporate", name="(주)한빛물산", phones=["02-777-8888"], registration_number="123-45-67890",
        profile={"industry": "제조업", "size": {"employees": 120, "revenue_band": "10b_100b"},
                 "financial_notes": "최근 2년 영업이익 흑자",
                 "contacts": [{"name": "박총무", "title": "총무팀장", "phone": "02)555-1234"}]},
    )  # fmt: skip
    assert company["profile"]["contacts"][0]["phone"] == "+8225551234"
    # Graded: the business situation is for cleared staff only (clearance 3; the org's staff have it).
    assert company["profile"]["financial_notes"] == "최근 2년 영업이익 흑자"
    with engine.begin() as conn:
        conn.execute(text("UPDATE staff SET clearance = 1 WHERE username = 'agent.hq'"))  # not signed in yet
    _, picture = await _send(client, org, "agent.hq", "GET", f"/api/v1/customers/{company['id']}")
    assert picture["profile"]["financial_notes"] == "●●●●" and "profile.financial_notes" in picture["masked_fields"]
    assert picture["profile"]["industry"] == "제조업"
