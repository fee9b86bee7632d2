"""The desk's API on embedded defaults: the agent's own state (choices, refusals, roles) and customer search by phone,
plate, policy number and name (scope, masking, paging, audit)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, col, select, update

from crm_store.audit import AuditEntry
from crm_store.desk.agent_tables import DeskAgent
from crm_store.org.tables import Staff
from tests.customer_helpers import Org

SEARCH = "/api/v1/customers/search"
STATE = "/api/v1/agents/me/state"
# name, unit, phone, plate, registration number
PEOPLE = (
    ("김민준", "SEOUL-GANGNAM-SEOCHO", "010-1234-5678", "12가3456", "880315-1234567"),
    ("김민서", "BUSAN-DONGBU-HAEUNDAE", "010-9999-8888", "34나5678", "900101-2345678"),
    ("이서연", "SEOUL-GANGNAM", "02-555-1234", "56다7890", "920202-2345678"),
)


@pytest.fixture
async def people(client: Any, org: Org) -> dict[str, dict[str, Any]]:
    """The customers above, made by an administrator, each with an auto policy; name to id and policy number."""
    made: dict[str, dict[str, Any]] = {}
    admin = org.auth("admin")
    for name, unit, phone, plate, registration in PEOPLE:
        body = {
            "kind": "individual",
            "name": name,
            "org_unit_id": org.units[unit],
            "phones": [phone],
            "vehicles": [plate],
            "registration_number": registration,
        }
        answer = await client.post("/api/v1/customers", json=body, headers=admin)
        assert answer.status == 201, await answer.text()
        customer_id = (await answer.json())["id"]
        policy = {"line": "auto", "premium": 900_000, "start_date": "2026-01-01", "end_date": "2027-01-01"}
        answer = await client.post(f"/api/v1/customers/{customer_id}/policies", json=policy, headers=admin)
        assert answer.status == 201, await answer.text()
        made[name] = {"id": customer_id, "policy": (await answer.json())["policy_number"]}
    return made


async def _search(client: Any, org: Org, user: str, q: str, **params: str) -> Any:
    return await client.get(SEARCH, params={"q": q, **params}, headers=org.auth(user))


async def _found(client: Any, org: Org, user: str, q: str) -> list[tuple[str, str]]:
    answer = await _search(client, org, user, q)
    assert answer.status == 200, await answer.text()
    return [(item["name"], item["matched_on"]) for item in (await answer.json())["items"]]


@pytest.mark.parametrize(
    ("q", "matched_on"),
    [
        ("010-1234-5678", "phone"),
        ("01012345678", "phone"),
        ("+82 10 1234 5678", "phone"),
        ("(010) 1234.5678", "phone"),
        ("010–1234–5678", "phone"),  # en dashes, as a word processor writes them
        ("０１０-1234-5678", "phone"),  # full-width digits
        ("12가 3456", "plate"),
        ("12가-3456", "plate"),
        ("12가–3456", "plate"),
        ("김민", "name"),
        ("김민준", "name"),
    ],
)
async def test_search_by_phone_plate_or_name_within_scope(
    client: Any, org: Org, people: dict[str, Any], q: str, matched_on: str
) -> None:
    # 김민서 belongs to Busan: outside the Seocho agent's scope, so never found by them.
    assert await _found(client, org, "agent.seocho", q) == [("김민준", matched_on)]


async def test_search_by_policy_number_in_any_case(client: Any, org: Org, people: dict[str, Any]) -> None:
    number = people["김민준"]["policy"]
    assert await _found(client, org, "agent.seocho", number.lower()) == [("김민준", "policy")]
    assert await _found(client, org, "agent.haeundae", number) == []


async def test_search_pages_newest_first_and_audits_each_read(
    client: Any, org: Org, people: dict[str, Any], engine: Any
) -> None:
    answer = await _search(client, org, "agent.hq", "김민", limit="1")
    page = await answer.json()
    assert [i["name"] for i in page["items"]] == ["김민서"] and page["next"]
    assert page["items"][0]["phones"] == ["+821099998888"]
    assert page["items"][0]["org_unit_name"] == "해운대구지점"
    answer = await client.get(page["next"], headers=org.auth("agent.hq"))
    page = await answer.json()
    assert [i["name"] for i in page["items"]] == ["김민준"] and page["next"] is None
    with Session(engine) as session:
        reads = session.exec(select(AuditEntry).where(col(AuditEntry.purpose) == "search")).all()
    assert sorted(e.customer_id for e in reads) == sorted([people["김민서"]["id"], people["김민준"]["id"]])
    assert {e.username for e in reads} == {"agent.hq"} and "registration_number" in reads[0].fields


async def test_search_masks_by_clearance(client: Any, org: Org, people: dict[str, Any], engine: Any) -> None:
    shown = (await (await _search(client, org, "agent.seocho", "김민준")).json())["items"][0]
    assert shown["registration_number"] == "880315-1******" and shown["masked_fields"] == []
    with Session(engine) as session:
        session.exec(update(Staff).where(col(Staff.username) == "agent.hq").values(clearance=1))  # type: ignore[call-overload]
        session.commit()
    hidden = (await (await _search(client, org, "agent.hq", "김민준")).json())["items"][0]
    assert hidden["registration_number"] == "●●●●" and hidden["masked_fields"] == ["registration_number"]
    with Session(engine) as session:
        last = session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc())).first()
    assert last is not None and last.username == "agent.hq" and "registration_number" not in last.fields


@pytest.mark.parametrize("q", ["", "  ", "김", "1234", "010-12", "x" * 65, "100%"])
async def test_search_refuses_what_it_cannot_look_up(client: Any, org: Org, people: dict[str, Any], q: str) -> None:
    answer = await _search(client, org, "agent.seocho", q)
    if q == "100%":  # a name start with a wildcard is taken literally: nobody
        assert answer.status == 200 and (await answer.json())["items"] == []
        return
    assert answer.status == 400, q
    assert "q" in (await answer.json())["fields"]


async def test_the_agent_chooses_a_state(client: Any, org: Org) -> None:
    answer = await client.put(STATE, json={"state": "available"}, headers=org.auth("agent.seocho"))
    assert answer.status == 200, await answer.text()
    body = await answer.json()
    assert body["state"] == "available" and body["since"].endswith("+00:00") and body["username"] == "agent.seocho"
    assert body["skills"] == [] and body["endpoint"] is None
    answer = await client.put(STATE, json={"state": "break"}, headers=org.auth("agent.seocho"))
    assert (await answer.json())["state"] == "break"
    # Center managers have a desk too; account managers do not.
    assert (await client.put(STATE, json={"state": "offline"}, headers=org.auth("cm.seoul"))).status == 200
    assert (await client.put(STATE, json={"state": "available"}, headers=org.auth("am.seocho"))).status == 403


@pytest.mark.parametrize("body", [{"state": "on_call"}, {"state": "wrap_up"}, {"state": "Available"}, {}, {"x": 1}])
async def test_the_desk_states_are_not_the_agents_to_choose(client: Any, org: Org, body: dict[str, Any]) -> None:
    answer = await client.put(STATE, json=body, headers=org.auth("agent.seocho"))
    assert answer.status == 422


@pytest.mark.parametrize("held", ["offered", "on_call"])
async def test_no_break_while_a_call_is_offered_or_connected(client: Any, org: Org, engine: Any, held: str) -> None:
    assert (await client.put(STATE, json={"state": "available"}, headers=org.auth("agent.seocho"))).status == 200
    with Session(engine) as session:
        session.exec(update(DeskAgent).values(state=held, call_sid="CA" + "0" * 32))  # type: ignore[call-overload]
        session.commit()
    answer = await client.put(STATE, json={"state": "break"}, headers=org.auth("agent.seocho"))
    assert answer.status == 409
    body = await answer.json()
    assert held in body["error"] and "통화" in body["fields"]["state"]


async def test_search_shows_a_blacklist_match_as_the_picture_does(
    client: Any, org: Org, people: dict[str, Any]
) -> None:
    # 김민준 is listed with 이서연's plate as evidence: the listing matches 이서연, whose own record is not listed.
    admin = org.auth("admin")
    body = {"customer_id": people["김민준"]["id"], "reason": "허위 사고 접수", "plates": ["56다7890"]}
    answer = await client.post("/api/v1/blacklist", json=body, headers=admin)
    assert answer.status == 201, await answer.text()
    entry_id = (await answer.json())["id"]
    answer = await client.post(f"/api/v1/blacklist/{entry_id}/approve", headers=admin)
    assert answer.status == 200, await answer.text()
    answer = await client.get(f"/api/v1/customers/{people['이서연']['id']}", headers=org.auth("agent.hq"))
    assert (await answer.json())["blacklisted"] is True
    for q in ("56다7890", "이서연", "02-555-1234"):
        items = (await (await _search(client, org, "agent.hq", q)).json())["items"]
        assert [(i["name"], i["blacklisted"]) for i in items] == [("이서연", True)], q
    items = (await (await _search(client, org, "agent.hq", "김민")).json())["items"]
    assert {i["name"]: i["blacklisted"] for i in items} == {"김민서": False, "김민준": True}
