"""The dispatch API on embedded defaults (SQLite): surveyors' profiles (their own status and position, the board's
any in scope), requests opened with their promise, the board with the time left, suggestions best first, one
assignment per request (409 on a second), the surveyor's answers and steps, and scope (404 outside it)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.org.tables import Role
from tests.dispatch_api_helpers import NOW, add_staff, bearer_headers, dispatch_client
from tests.dispatch_helpers import (
    GANGNAM,
    GAPYEONG_SCENE,
    GWANGHWAMUN,
    SEOLLEUNG,
    YEOKSAM,
    World,
    add_surveyor,
    build_world,
)
from workers.settings import Settings

Headers = dict[str, dict[str, str]]


@pytest.fixture
def world(engine: Any) -> World:
    world = build_world(engine)
    add_surveyor(engine, world, "kim", at=YEOKSAM)
    add_surveyor(engine, world, "lee", at=GANGNAM)
    add_surveyor(engine, world, "park", at=GWANGHWAMUN)
    add_staff(engine, world, "new.surveyor", Role.SURVEYOR, "GANGNAM")
    return world


@pytest.fixture
def auth(engine: Any, world: World) -> Headers:
    return bearer_headers(engine, world)


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings, world: World) -> Any:
    return await dispatch_client(aiohttp_client, settings)


def _survey(place: tuple[float, float] = SEOLLEUNG, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "survey",
        "skill": "auto",
        "location": {"lat": place[0], "lon": place[1], "address": "선릉역"},
        **extra,
    }


async def _open(client: Any, auth: Headers, user: str = "disp.gangnam", **extra: Any) -> dict[str, Any]:
    answer = await client.post("/api/v1/dispatches", json=_survey(**extra), headers=auth[user])
    assert answer.status == 201, await answer.text()
    return dict(await answer.json())


async def test_a_surveyor_profile_by_the_board_and_by_the_surveyor(client: Any, auth: Headers) -> None:
    body = {"skills": ["auto", "injury"], "status": "available", "location": {"lat": 37.5, "lon": 127.03}}
    answer = await client.put("/api/v1/surveyors/new.surveyor", json=body, headers=auth["disp.gangnam"])
    assert answer.status == 200, await answer.text()
    profile = await answer.json()
    assert profile["skills"] == ["auto", "injury"] and profile["status"] == "available"
    assert profile["location"] == {"lat": 37.5, "lon": 127.03} and profile["position_at"].endswith("+00:00")
    own = await client.put("/api/v1/surveyors/new.surveyor", json={"status": "en_route"}, headers=auth["new.surveyor"])
    assert own.status == 200 and (await own.json())["status"] == "en_route"
    assert (await own.json())["skills"] == ["auto", "injury"]  # fields not given keep their value
    refused = await client.put(
        "/api/v1/surveyors/new.surveyor", json={"skills": ["cargo"]}, headers=auth["new.surveyor"]
    )
    assert refused.status == 403 and "skills" in (await refused.json())["error"]
    other = await client.put("/api/v1/surveyors/kim", json={"status": "off_duty"}, headers=auth["new.surveyor"])
    assert other.status == 403
    agent = await client.put("/api/v1/surveyors/kim", json={"status": "off_duty"}, headers=auth["agent.gangnam"])
    assert agent.status == 403
    # A role that may not is refused whatever it sends (not told what is wrong with the body).
    for junk in ({"status": "asleep"}, {"x": 1}):
        agent = await client.put("/api/v1/surveyors/kim", json=junk, headers=auth["agent.gangnam"])
        assert agent.status == 403, junk
    not_a_surveyor = await client.put("/api/v1/surveyors/agent.gangnam", json={}, headers=auth["disp.gangnam"])
    assert not_a_surveyor.status == 404
    for wrong in ({"status": "asleep"}, {"location": {"lat": 51.5, "lon": 0.0}}, {"skills": ["auto"], "x": 1}):
        answer = await client.put("/api/v1/surveyors/kim", json=wrong, headers=auth["disp.gangnam"])
        assert answer.status == 422, wrong


async def test_open_suggest_assign_accept_and_step_to_done(client: Any, auth: Headers, engine: Any) -> None:
    opened = await _open(client, auth)
    assert opened["state"] == "open" and opened["promise_minutes"] == 30
    assert datetime.fromisoformat(opened["due_at"]) == NOW + timedelta(minutes=30)
    assert opened["due_at"].endswith("+00:00") and opened["time_left_minutes"] == 30
    request_id = opened["id"]
    seen = await client.get(f"/api/v1/dispatches/{request_id}", headers=auth["cm.seoul"])
    assert seen.status == 200 and (await seen.json())["urgency"] == "ok"

    answer = await client.get(f"/api/v1/dispatches/{request_id}/suggestions", headers=auth["disp.gangnam"])
    assert answer.status == 200, await answer.text()
    items = (await answer.json())["items"]
    assert [c["username"] for c in items] == ["kim", "lee", "park"]
    assert items[0]["eta_minutes"] <= items[1]["eta_minutes"] and items[0]["distance_km"] < 2
    assert any("예상 도착" in reason for reason in items[0]["reasons"])

    answer = await client.post(
        f"/api/v1/dispatches/{request_id}/assign", json={"username": "kim"}, headers=auth["disp.gangnam"]
    )
    assert answer.status == 200, await answer.text()
    offer = await answer.json()
    assert (offer["request_id"], offer["username"], offer["state"]) == (request_id, "kim", "assigned")
    assert datetime.fromisoformat(offer["accept_by"]) == NOW + timedelta(minutes=5)
    again = await client.post(
        f"/api/v1/dispatches/{request_id}/assign", json={"username": "lee"}, headers=auth["disp.gangnam"]
    )
    assert again.status == 409
    problem = await again.json()
    assert "not open" in problem["error"] and problem["fields"] == {"state": "assigned"}

    mine = await client.get("/api/v1/dispatches", headers=auth["kim"])
    assert [r["id"] for r in (await mine.json())["items"]] == [request_id]
    assert (await client.post(f"/api/v1/dispatches/{request_id}/accept", headers=auth["lee"])).status == 404
    accepted = await client.post(f"/api/v1/dispatches/{request_id}/accept", headers=auth["kim"])
    assert accepted.status == 200 and (await accepted.json())["state"] == "accepted"
    for step in ("en_route", "on_site", "reporting", "done"):
        answer = await client.post(f"/api/v1/dispatches/{request_id}/steps", json={"step": step}, headers=auth["kim"])
        assert answer.status == 200, await answer.text()
        assert (await answer.json())["state"] == step
    late_step = await client.post(
        f"/api/v1/dispatches/{request_id}/steps", json={"step": "on_site"}, headers=auth["kim"]
    )
    assert late_step.status == 409 and (await late_step.json())["fields"] == {"state": "done"}
    with Session(engine) as session:
        actions = session.exec(
            select(col(AuditEntry.action)).where(col(AuditEntry.target) == f"dispatch:{request_id}")
        ).all()
    assert actions[:3] == ["dispatch_opened", "dispatch_assigned", "dispatch_accepted"]


async def test_a_role_off_the_board_is_refused_before_its_body_is_read(client: Any, auth: Headers) -> None:
    for body in ({}, _survey(kind="boat"), _survey()):
        answer = await client.post("/api/v1/dispatches", json=body, headers=auth["agent.gangnam"])
        assert answer.status == 403, body


async def test_an_invalid_request_names_the_bad_field(client: Any, auth: Headers) -> None:
    for body, field in (
        (_survey(kind="rescue"), "rescue_kind"),
        (_survey(rescue_kind="fuel"), "rescue_kind"),
        (_survey(location={"lat": 200, "lon": 127.0}), "location.lat"),
        (_survey(skill="marine"), "skill"),
        (_survey(call_sid="CA" + "0" * 32), "call_sid"),  # no such call stored
    ):
        answer = await client.post("/api/v1/dispatches", json=body, headers=auth["disp.gangnam"])
        assert answer.status == 422, body
        assert list((await answer.json())["fields"]) == [field], body
    rescue = await client.post(
        "/api/v1/dispatches", json=_survey(kind="rescue", rescue_kind="fuel"), headers=auth["disp.gangnam"]
    )
    assert rescue.status == 201 and (await rescue.json())["rescue_kind"] == "fuel"


async def test_decline_puts_it_back_on_the_board_and_a_busy_surveyor_is_refused(client: Any, auth: Headers) -> None:
    first, second = await _open(client, auth), await _open(client, auth)
    for request_id in (first["id"], second["id"]):
        assert (await client.get(f"/api/v1/dispatches/{request_id}", headers=auth["kim"])).status == 404
    assign = await client.post(
        f"/api/v1/dispatches/{first['id']}/assign", json={"username": "kim"}, headers=auth["disp.gangnam"]
    )
    assert assign.status == 200
    busy = await client.post(
        f"/api/v1/dispatches/{second['id']}/assign", json={"username": "kim"}, headers=auth["disp.gangnam"]
    )
    assert busy.status == 409 and "as many assignments" in (await busy.json())["error"]
    # The board's dispatcher cannot answer for the surveyor.
    assert (await client.post(f"/api/v1/dispatches/{first['id']}/decline", headers=auth["disp.gangnam"])).status == 403
    declined = await client.post(f"/api/v1/dispatches/{first['id']}/decline", headers=auth["kim"])
    assert declined.status == 200
    assert (await declined.json())["state"] == "open" and (await declined.json())["surveyor"] is None
    board = await client.get("/api/v1/dispatches", params={"state": "open"}, headers=auth["disp.gangnam"])
    assert {r["id"] for r in (await board.json())["items"]} == {first["id"], second["id"]}


async def test_the_board_is_scoped_paged_and_ordered_by_time_left(client: Any, auth: Headers, world: World) -> None:
    county = await _open(client, auth, "cm.hq", place=GAPYEONG_SCENE, org_unit_id=world.units["GAPYEONG"])
    ours = [await _open(client, auth) for _ in range(3)]
    assert county["promise_minutes"] == 60
    for path in ("", "/suggestions"):
        answer = await client.get(f"/api/v1/dispatches/{county['id']}{path}", headers=auth["disp.gangnam"])
        assert answer.status == 404
    outside = await client.post(
        f"/api/v1/dispatches/{county['id']}/assign", json={"username": "kim"}, headers=auth["disp.gangnam"]
    )
    assert outside.status == 404
    unit_outside = await client.post(
        "/api/v1/dispatches", json=_survey(org_unit_id=world.units["GAPYEONG"]), headers=auth["disp.gangnam"]
    )
    assert unit_outside.status == 422 and "org_unit_id" in (await unit_outside.json())["fields"]
    page = await client.get("/api/v1/dispatches", params={"limit": "2"}, headers=auth["cm.hq"])
    body = await page.json()
    assert [r["id"] for r in body["items"]] == [ours[0]["id"], ours[1]["id"]]  # 30 minutes left before 60
    assert body["next"] is not None
    rest = await (await client.get(body["next"], headers=auth["cm.hq"])).json()
    assert [r["id"] for r in rest["items"]] == [ours[2]["id"], county["id"]] and rest["next"] is None
    assert (await client.get("/api/v1/dispatches", headers=auth["agent.gangnam"])).status == 403
    bad = await client.get("/api/v1/dispatches", params={"state": "lost"}, headers=auth["cm.hq"])
    assert bad.status == 400
    cancelled = await client.post(
        f"/api/v1/dispatches/{ours[0]['id']}/cancel", json={"reason": "고객 취소"}, headers=auth["disp.gangnam"]
    )
    assert cancelled.status == 200 and (await cancelled.json())["state"] == "cancelled"
