"""A customer moves to another branch: who may move whom where, the account manager, the trail, the segment."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.customers.tables import CustomerEvent
from crm_store.managers.tables import AccountAssignment, AccountManager, ManagerGrade, ServiceTask
from tests.customer_helpers import Org, create_customer


async def _certify(client: Any, org: Org, manager: str, approver: str) -> None:
    body = {"grade": "junior", "certified_on": str(date.today())}
    answer = await client.post(
        f"/api/v1/account-managers/{manager}/certifications", json=body, headers=org.auth(approver)
    )
    assert answer.status == 201, await answer.text()


async def _move(client: Any, org: Org, user: str, customer: int, unit: str, reason: str = "주소 이전") -> Any:
    return await client.post(
        f"/api/v1/customers/{customer}/transfer",
        json={"org_unit_id": org.units[unit], "reason": reason},
        headers=org.auth(user),
    )


async def test_a_customer_moves_between_branches_with_the_manager_trail_and_segment(
    client: Any, org: Org, engine: Any
) -> None:
    await _certify(client, org, "am.seocho", "cm.gangnam")
    with Session(engine) as session:  # Busan-Dongbu has no center manager in this organisation to approve it
        year = {"certified_on": date.today(), "valid_until": date.today() + timedelta(days=365)}
        session.add(AccountManager(staff_id=org.staff["am.haeundae"], grade=ManagerGrade.JUNIOR, **year))
        session.commit()
    cid = (await create_customer(client, org, "agent.seocho", "SEOUL-GANGNAM-SEOCHO"))["id"]
    with Session(engine) as session:
        session.add(ServiceTask(customer_id=cid, account_manager_id=org.staff["am.seocho"], kind="key_visit",
                                due_on=date.today()))  # fmt: skip
        session.commit()

    # Who may: not an agent (403); not a city center for a unit of another province (422, the unit is unknown to
    # it); not anyone who cannot see the customer (404); bad bodies 422. Nothing moves on any of them.
    assert (await _move(client, org, "agent.seocho", cid, "SEOUL-GANGNAM-SEOCHO")).status == 403
    assert (await _move(client, org, "cm.gangnam", cid, "BUSAN-DONGBU-HAEUNDAE")).status == 422
    assert (await _move(client, org, "cm.busan", cid, "BUSAN-DONGBU-HAEUNDAE")).status == 404
    assert (await _move(client, org, "admin", cid, "BUSAN-DONGBU-HAEUNDAE", reason="")).status == 422
    bad = await client.post(f"/api/v1/customers/{cid}/transfer", json={"org_unit_id": 999}, headers=org.auth("admin"))
    assert bad.status == 422
    same = await _move(client, org, "cm.gangnam", cid, "SEOUL-GANGNAM-SEOCHO")
    assert same.status == 200 and (await same.json())["moved"] is False

    # Up to the city branch: a county manager does not reach a city-branch customer, and the city's own manager
    # holds no certification, so the customer goes without one (and the supervisors are told).
    moved = await _move(client, org, "cm.gangnam", cid, "SEOUL-GANGNAM")
    assert moved.status == 200, await moved.text()
    body = await moved.json()
    assert body["moved"] and body["to"]["id"] == org.units["SEOUL-GANGNAM"]
    assert body["account_manager"] is None  # am.gangnam holds no certification

    # Head office moves the customer to Busan: Haeundae's certified manager takes over, with the open duty.
    answer = await _move(client, org, "admin", cid, "BUSAN-DONGBU-HAEUNDAE", reason="부산으로 이사")
    assert answer.status == 200, await answer.text()
    assert (await answer.json())["account_manager"] == "am.haeundae"
    picture = await (await client.get(f"/api/v1/customers/{cid}", headers=org.auth("agent.haeundae"))).json()
    assert picture["org_unit_id"] == org.units["BUSAN-DONGBU-HAEUNDAE"]
    assert picture["account_manager"]["username"] == "am.haeundae"
    # Seocho no longer sees the customer; Busan's agent does (above).
    assert (await client.get(f"/api/v1/customers/{cid}", headers=org.auth("agent.seocho"))).status == 404

    with Session(engine) as session:
        current = session.exec(
            select(AccountAssignment).where(
                AccountAssignment.customer_id == cid, col(AccountAssignment.ended_at).is_(None)
            )
        ).all()
        assert [a.account_manager_id for a in current] == [org.staff["am.haeundae"]]
        duty = session.exec(select(ServiceTask).where(ServiceTask.customer_id == cid)).one()
        assert duty.account_manager_id == org.staff["am.haeundae"]
        trail = session.exec(
            select(AuditEntry).where(AuditEntry.customer_id == cid, AuditEntry.action == "customer.transferred")
        ).all()
        assert [(e.username, e.detail["account_manager"]) for e in trail] == [  # type: ignore[index]
            ("cm.gangnam", ["am.seocho", None]),
            ("admin", [None, "am.haeundae"]),
        ]
        assert trail[1].detail["reason"] == "부산으로 이사"  # type: ignore[index]
        kinds = [e.kind for e in session.exec(select(CustomerEvent).where(CustomerEvent.customer_id == cid)).all()]
        assert "transferred" in kinds and kinds.count("no_account_manager") == 1
