"""The complaint API on embedded defaults (SQLite): opening (numbered, limits on Korea's calendar in KST, a repeat
answering the open one), reading with the dossier (scope, audit), the queue (filters, order, pages), the steps
(state machine and roles as 409/403/422), and the monthly analysis per 100,000 contracts."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from tests.complaint_api_helpers import PATH, add_customer, complaint_body, open_complaint, step
from tests.customer_helpers import Org

SEOCHO = "SEOUL-GANGNAM-SEOCHO"
HAEUNDAE = "BUSAN-DONGBU-HAEUNDAE"
FIXED_NAMES = ("id", "number", "state", "received_at", "acknowledge_by", "resolve_by")

# The department owning complaints at every level.
OWNER = "customer_management"


async def test_opening_answers_201_with_the_number_and_limits_then_a_repeat_answers_the_open_one(
    client: Any, org: Org, engine: Any
) -> None:
    customer = add_customer(engine, org.units[SEOCHO])
    answer = await open_complaint(client, org.auth("agent.seocho"), customer)
    assert answer.status == 201, await answer.text()
    opened = await answer.json()
    assert all(name in opened for name in FIXED_NAMES)
    assert opened["number"] == "C-2026-000001" and opened["state"] == "receipt" and opened["repeat"] is False
    # Received Monday 21 Sep 2026 (KST): acknowledged that day; resolved by the 14th business day after, past 추석.
    assert opened["received_at"] == "2026-09-21T10:00:00+09:00"
    assert opened["acknowledge_by"] == "2026-09-21T23:59:59+09:00"
    assert opened["resolve_by"] == "2026-10-15T23:59:59+09:00"
    assert answer.headers["Location"] == f"{PATH}/{opened['id']}"
    again = await open_complaint(client, org.auth("am.seocho"), customer, summary="아직도 지급이 안 됐습니다.")
    assert again.status == 200, await again.text()
    repeat = await again.json()
    assert repeat["repeat"] is True and repeat["id"] == opened["id"] and repeat["repeats"] == 1
    other = await open_complaint(client, org.auth("agent.seocho"), customer, topic="complaint.billing",
                                 category="maintenance")  # fmt: skip
    assert other.status == 201 and (await other.json())["number"] == "C-2026-000002"


async def test_opening_refuses_bad_bodies_other_branches_customers_and_roles_that_do_not_receive(
    client: Any, org: Org, engine: Any
) -> None:
    customer = add_customer(engine, org.units[SEOCHO])
    h = org.auth("agent.seocho")
    answer = await client.post(PATH, json={**complaint_body(customer), "channel": "fax", "x": 1}, headers=h)
    assert answer.status == 422 and {"channel", "x"} <= set((await answer.json())["fields"])
    answer = await client.post(PATH, json={**complaint_body(customer), "customer_id": str(customer)}, headers=h)
    assert answer.status == 422 and "customer_id" in (await answer.json())["fields"]
    answer = await open_complaint(client, h, customer, topic="complaint.weather")
    assert answer.status == 422 and "topic" in (await answer.json())["fields"]
    answer = await open_complaint(client, h, customer, received_at="2099-01-01T00:00:00+09:00")
    assert answer.status == 422 and "received_at" in (await answer.json())["fields"]
    assert (await open_complaint(client, org.auth("agent.haeundae"), customer)).status == 404
    assert (await open_complaint(client, org.auth("admin"), customer)).status == 403


async def test_a_complaint_is_read_with_its_dossier_in_scope_only_and_the_read_is_audited(
    client: Any, org: Org, engine: Any
) -> None:
    customer = add_customer(engine, org.units[SEOCHO])
    opened = await (await open_complaint(client, org.auth("agent.seocho"), customer)).json()
    await open_complaint(client, org.auth("agent.seocho"), customer)
    answer = await client.get(f"{PATH}/{opened['id']}", headers=org.auth("cm.gangnam"))
    assert answer.status == 200, await answer.text()
    detail = await answer.json()
    assert [s["action"] for s in detail["steps"]] == ["receipt", "repeat"]
    assert detail["steps"][0]["username"] == "agent.seocho" and detail["steps"][0]["created_at"].endswith("+09:00")
    assert detail["next_step"] == "verification" and detail["overdue"] is True and detail["repeats"] == 1
    assert detail["business_days_left"] < 0 and detail["step_due_at"] == "2026-09-22T23:59:59+09:00"
    for outsider in ("agent.haeundae", "cm.busan"):
        answer = await client.get(f"{PATH}/{opened['id']}", headers=org.auth(outsider))
        assert answer.status == 404
    assert (await client.get(f"{PATH}/999999", headers=org.auth("admin"))).status == 404
    with Session(engine) as session:
        reads = session.exec(
            select(AuditEntry).where(col(AuditEntry.customer_id) == customer, col(AuditEntry.action) == "read")
        ).all()
    assert [(r.username, r.purpose) for r in reads] == [("cm.gangnam", "complaint")]


async def test_the_queue_lists_the_viewer_s_complaints_by_resolve_limit_with_filters_and_pages(
    client: Any, org: Org, engine: Any
) -> None:
    h = org.auth("agent.seocho")
    customers = [add_customer(engine, org.units[SEOCHO], name=f"고객{n}") for n in range(3)]
    # Received later first: the queue still lists the soonest resolve limit first.
    days = ("2026-10-05T09:00:00+09:00", "2026-09-21T09:00:00+09:00", "2026-09-28T09:00:00+09:00")
    ids = []
    for customer, day in zip(customers, days, strict=True):
        ids.append((await (await open_complaint(client, h, customer, received_at=day)).json())["id"])
    busan = add_customer(engine, org.units[HAEUNDAE])
    await open_complaint(client, org.auth("agent.haeundae"), busan)
    answer = await client.get(PATH, headers=org.auth("cm.gangnam"))
    assert answer.status == 200, await answer.text()
    page = await answer.json()
    assert [c["id"] for c in page["items"]] == [ids[1], ids[2], ids[0]] and page["next"] is None
    first = await (await client.get(PATH, params={"limit": "2"}, headers=org.auth("cm.gangnam"))).json()
    assert [c["id"] for c in first["items"]] == [ids[1], ids[2]]
    second = await (await client.get(first["next"], headers=org.auth("cm.gangnam"))).json()
    assert [c["id"] for c in second["items"]] == [ids[0]] and second["next"] is None
    everyone = await (await client.get(PATH, params={"overdue": "true"}, headers=org.auth("admin"))).json()
    assert len(everyone["items"]) == 4 and all(c["overdue"] for c in everyone["items"])
    await step(client, org.auth("cm.gangnam"), ids[0], "verification", facts="지급 지연 확인")
    verified = await (await client.get(PATH, params={"state": "verification"}, headers=h)).json()
    assert [c["id"] for c in verified["items"]] == [ids[0]]
    for bad in ({"state": "lost"}, {"overdue": "maybe"}, {"limit": "0"}, {"after": "x"}):
        answer = await client.get(PATH, params=bad, headers=h)
        assert answer.status == 400 and set(bad) == set((await answer.json())["fields"])


async def test_the_steps_follow_the_state_machine_with_their_forms_and_takers(
    client: Any, org: Org, engine: Any
) -> None:
    customer = add_customer(engine, org.units[SEOCHO])
    complaint = (await (await open_complaint(client, org.auth("agent.seocho"), customer)).json())["id"]
    cm = org.auth("cm.gangnam")
    answer = await step(client, cm, complaint, "handling", decision="지급", upheld=True)
    assert answer.status == 409 and "state" in (await answer.json())["fields"]
    answer = await step(client, org.auth("agent.seocho"), complaint, "verification", facts="확인")
    assert answer.status == 403 and "verification" in (await answer.json())["error"]
    answer = await step(client, cm, complaint, "verification", fact="확인")
    assert answer.status == 422 and {"verification.form.facts", "verification.form.fact"} <= set(
        (await answer.json())["fields"]
    )
    answer = await client.post(f"{PATH}/{complaint}/steps", json={"action": "teleport", "form": {}}, headers=cm)
    assert answer.status == 422
    assert (await step(client, org.auth("cm.busan"), complaint, "verification", facts="확인")).status == 404
    walk: list[tuple[str, dict[str, Any]]] = [
        ("acknowledgement", {"handler_name": "김상담", "handler_phone": "1588-1234"}),
        ("verification", {"facts": "지급 지연 3주 확인", "policy_number": "P-1"}),
        ("registration", {"category": "claims_payment", "topic": "complaint.claim_delay", "severity": "high"}),
        ("transfer", {"to_unit_id": org.units["SEOUL-GANGNAM"], "department": OWNER, "reason": "보상 담당"}),
        ("coordination", {"department": OWNER, "comment": "지급 승인", "agreed": True}),
        ("handling", {"decision": "지연 이자 포함 지급", "upheld": True, "amount": 150000}),
        ("feedback", {"method": "callback", "satisfaction": 4}),
        ("close", {}),
    ]
    for action, form in walk:
        answer = await step(client, cm, complaint, action, **form)
        assert answer.status == 200, (action, await answer.text())
    closed = await answer.json()
    assert closed["state"] == "closed" and closed["next_step"] is None and closed["closed_at"]
    assert closed["org_unit_id"] == org.units["SEOUL-GANGNAM"] and closed["severity"] == "high"
    assert [s["action"] for s in closed["steps"]] == ["receipt"] + [a for a, _ in walk]
    answer = await step(client, cm, complaint, "extension", reason="추가 조사", notice_via="sms")
    assert answer.status == 409


async def test_registering_onto_a_topic_already_open_for_the_customer_is_a_conflict(
    client: Any, org: Org, engine: Any
) -> None:
    customer = add_customer(engine, org.units[SEOCHO])
    h, cm = org.auth("agent.seocho"), org.auth("cm.gangnam")
    await open_complaint(client, h, customer)
    other = (await (await open_complaint(client, h, customer, topic=None, category="other")).json())["id"]
    await step(client, cm, other, "verification", facts="확인")
    answer = await step(client, cm, other, "registration", category="claims_payment", topic="complaint.claim_delay",
                        severity="normal")  # fmt: skip
    assert answer.status == 409 and "topic" in (await answer.json())["fields"]


async def test_the_monthly_analysis_counts_complaints_per_100k_contracts_in_force_by_category(
    client: Any, org: Org, engine: Any
) -> None:
    in_force = ((date(2025, 10, 1), date(2026, 9, 30)), (date(2026, 9, 30), date(2027, 9, 29)))
    lapsed = ((date(2025, 1, 1), date(2026, 8, 31)), (date(2026, 10, 1), date(2027, 9, 30)))
    first = add_customer(engine, org.units[SEOCHO], policies=in_force + lapsed)
    second = add_customer(engine, org.units[SEOCHO], name="이민원", policies=in_force)
    busan = add_customer(engine, org.units[HAEUNDAE], policies=in_force)
    h = org.auth("agent.seocho")
    await open_complaint(client, h, first)
    await open_complaint(client, h, second, topic="complaint.sales_misconduct", category="sales", channel="fss")
    await open_complaint(client, h, second, received_at="2026-10-01T00:30:00+09:00")  # October in Korea
    await open_complaint(client, org.auth("agent.haeundae"), busan)
    answer = await client.get(f"{PATH}/analysis", params={"month": "2026-09"}, headers=org.auth("cm.gangnam"))
    assert answer.status == 200, await answer.text()
    seoul = await answer.json()
    assert (seoul["month"], seoul["contracts"], seoul["received"], seoul["fss_referred"]) == ("2026-09", 4, 2, 1)
    assert seoul["per_100k"] == 50_000.0 and seoul["own_per_100k"] == 25_000.0
    assert seoul["by_category"]["claims_payment"] == {"received": 1, "per_100k": 25_000.0}
    assert seoul["by_category"]["sales"]["received"] == 1 and seoul["by_category"]["other"]["received"] == 0
    everyone = await (await client.get(f"{PATH}/analysis?month=2026-09", headers=org.auth("admin"))).json()
    assert (everyone["contracts"], everyone["received"]) == (6, 3)
    nothing = await (await client.get(f"{PATH}/analysis?month=2020-01", headers=org.auth("admin"))).json()
    assert nothing["contracts"] == 0 and nothing["per_100k"] is None
    for bad in ("2026-13", "26-09", "0001-01"):
        answer = await client.get(f"{PATH}/analysis", params={"month": bad}, headers=h)
        assert answer.status == 400 and "month" in (await answer.json())["fields"]
