"""Account managers' yearly certification: the customer picture says when its manager's certification has lapsed, and
approvers list the managers due for re-certification in their part of the organisation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from crm_store.managers.tables import AccountManager
from crm_store.validation import business_today
from tests.customer_helpers import Org


async def _certify(client: Any, org: Org, username: str, approver: str, days_ago: int) -> None:
    body = {"grade": "junior", "certified_on": (business_today() - timedelta(days=days_ago)).isoformat()}
    path = f"/api/v1/account-managers/{username}/certifications"
    answer = await client.post(path, json=body, headers=org.auth(approver))
    assert answer.status == 201, await answer.text()


async def _managers(client: Any, org: Org, user: str, **query: str) -> dict[str, dict[str, Any]]:
    answer = await client.get("/api/v1/account-managers", params=query, headers=org.auth(user))
    assert answer.status == 200, await answer.text()
    return {m["username"]: m for m in (await answer.json())["items"]}


async def test_the_picture_shows_a_lapsed_certification(client: Any, org: Org, engine: Any) -> None:
    body = {"kind": "individual", "name": "김민준", "phones": ["010-1234-5678"],
            "registration_number": "880315-1234567", "org_unit_id": org.units["SEOUL-GANGNAM-SEOCHO"]}  # fmt: skip
    customer = (await (await client.post("/api/v1/customers", json=body, headers=org.auth("admin"))).json())["id"]
    await _certify(client, org, "am.seocho", "cm.gangnam", days_ago=300)
    answer = await client.put(
        f"/api/v1/customers/{customer}/account-manager", json={"username": "am.seocho"}, headers=org.auth("cm.gangnam")
    )
    assert answer.status == 200, await answer.text()
    picture = await (await client.get(f"/api/v1/customers/{customer}", headers=org.auth("agent.seocho"))).json()
    manager = picture["account_manager"]
    assert manager["certification_lapsed"] is False
    assert manager["certified_on"] == (business_today() - timedelta(days=300)).isoformat()
    assert manager["valid_until"] > business_today().isoformat()

    # A year after the certification, nobody re-certified the manager.
    with Session(engine) as session:
        current = session.get(AccountManager, org.staff["am.seocho"])
        assert current is not None
        current.valid_until = business_today() - timedelta(days=1)
        session.add(current)
        session.commit()
    picture = await (await client.get(f"/api/v1/customers/{customer}", headers=org.auth("agent.seocho"))).json()
    assert picture["account_manager"]["certification_lapsed"] is True
    assert picture["account_manager"]["username"] == "am.seocho"  # still the manager: lapsing changes no assignment


async def test_managers_due_for_recertification_are_listed_first(client: Any, org: Org, engine: Any) -> None:
    await _certify(client, org, "am.seocho", "cm.gangnam", days_ago=10)  # valid for almost a year
    await _certify(client, org, "am.gangnam", "cm.gangnam", days_ago=350)  # ends in about two weeks
    with Session(engine) as session:  # certified long ago (the test organisation has no Busan city approver)
        lapsed_on = business_today() - timedelta(days=35)
        session.add(AccountManager(staff_id=org.staff["am.haeundae"], grade="senior",
                                   certified_on=lapsed_on - timedelta(days=365), valid_until=lapsed_on))  # fmt: skip
        session.commit()
    everyone = await _managers(client, org, "admin")
    assert [(m["username"], m["certification"]) for m in everyone.values()] == [
        ("am.haeundae", "lapsed"), ("am.gangnam", "due"), ("am.seocho", "valid")]  # fmt: skip
    assert everyone["am.haeundae"]["recertification_due"] and not everyone["am.seocho"]["recertification_due"]
    assert everyone["am.gangnam"]["grade"] == "junior" and everyone["am.gangnam"]["customers"] == 0
    assert everyone["am.haeundae"]["valid_until"] == (business_today() - timedelta(days=35)).isoformat()

    # Scope: a branch's approvers see their own managers; `due` keeps those needing a certification.
    assert set(await _managers(client, org, "cm.gangnam", due="true")) == {"am.gangnam"}
    assert set(await _managers(client, org, "cm.gangnam", due="true", within_days="7")) == set()
    assert set(await _managers(client, org, "cm.busan", due="true")) == {"am.haeundae"}
    answer = await client.get("/api/v1/account-managers", params={"due": "maybe"}, headers=org.auth("cm.busan"))
    assert answer.status == 400
    # Never certified: due as well.
    with Session(engine) as session:
        session.delete(session.get(AccountManager, org.staff["am.seocho"]))
        session.commit()
    listed = await _managers(client, org, "cm.gangnam", due="true")
    assert listed["am.seocho"]["certification"] == "uncertified" and listed["am.seocho"]["valid_until"] is None
