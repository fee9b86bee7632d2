"""Tow and rescue vendors through the API: a center manager registers a vendor for units of their part (its phone
kept whole for the offers, shown masked), a branch dispatcher sees the vendors serving their branch (province-wide
ones too) but not another province's, may change only vendors wholly within their branch; a vendor made inactive is
no longer suggested; the fields are checked. The console's page lists, registers and changes them the same way."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session

from crm_store.dispatch.tables import Vendor
from crm_store.org.tables import Role
from tests.dispatch_api_helpers import add_staff, bearer_headers, dispatch_client, with_passwords
from tests.dispatch_helpers import GANGNAM, SEOLLEUNG, World, build_world
from tests.review_helpers import console_login
from workers.settings import Settings

SCENE = {"lat": SEOLLEUNG[0], "lon": SEOLLEUNG[1], "address": "서울 강남구 선릉역"}


@pytest.fixture
async def scene(aiohttp_client: Any, settings: Settings, engine: Any) -> tuple[World, Any, dict[str, Any]]:
    world = build_world(engine)
    add_staff(engine, world, "disp.chuncheon", Role.DISPATCHER, "CHUNCHEON")
    with_passwords(engine)
    return world, await dispatch_client(aiohttp_client, settings), bearer_headers(engine, world)


def _vendor(world: World, **more: Any) -> dict[str, Any]:
    return {"name": "강남견인", "services": ["tow", "battery"], "service_unit_ids": [world.units["SEOUL"]],
            "phone": "010-6666-0003", "location": {"lat": GANGNAM[0], "lon": GANGNAM[1]}, **more}  # fmt: skip


async def test_registration_scope_and_masking(scene: tuple[World, Any, dict[str, Any]], engine: Any) -> None:
    world, client, headers = scene
    answer = await client.post("/api/v1/vendors", json=_vendor(world), headers=headers["cm.seoul"])
    assert answer.status == 201, await answer.text()
    vendor = await answer.json()
    assert answer.headers["Location"] == f"/api/v1/vendors/{vendor['id']}"
    assert vendor["phone"] == "+8210****0003" and vendor["areas"] == ["서울지역본부"] and vendor["active"] is True
    with Session(engine) as session:
        stored = session.get(Vendor, vendor["id"])
        assert stored is not None and stored.phone == "+821066660003"  # whole, for the offers

    # The Gangnam dispatcher sees the province-wide vendor; Chuncheon's does not; an agent has no business here.
    listed = await (await client.get("/api/v1/vendors", headers=headers["disp.gangnam"])).json()
    assert [v["name"] for v in listed["items"]] == ["강남견인"]
    assert (await (await client.get("/api/v1/vendors", headers=headers["disp.chuncheon"])).json())["items"] == []
    one = f"/api/v1/vendors/{vendor['id']}"
    assert (await client.get(one, headers=headers["disp.chuncheon"])).status == 404
    assert (await client.get("/api/v1/vendors", headers=headers["agent.gangnam"])).status == 403

    # Changing it: not from a branch (it serves the whole province), yes from the province.
    answer = await client.patch(one, json={"active": False}, headers=headers["disp.gangnam"])
    assert answer.status == 403
    answer = await client.patch(one, json={"capacity": 2, "active": False}, headers=headers["cm.seoul"])
    assert answer.status == 200, await answer.text()
    assert ((await answer.json())["capacity"], (await answer.json())["active"]) == (2, False)

    # Registering for a unit outside one's part, a taken name, a bad phone or service: refused.
    outside = _vendor(world, name="춘천견인", service_unit_ids=[world.units["GANGWON"]])
    assert (await client.post("/api/v1/vendors", json=outside, headers=headers["disp.gangnam"])).status == 422
    assert (await client.post("/api/v1/vendors", json=_vendor(world), headers=headers["cm.seoul"])).status == 409
    bad = _vendor(world, name="다른업체", phone="12", services=["taxi"])
    answer = await client.post("/api/v1/vendors", json=bad, headers=headers["cm.seoul"])
    assert answer.status == 422


async def test_an_inactive_vendor_is_not_suggested(scene: tuple[World, Any, dict[str, Any]]) -> None:
    world, client, headers = scene
    vendor = await (await client.post("/api/v1/vendors", json=_vendor(world), headers=headers["cm.seoul"])).json()
    body = {"kind": "tow", "location": SCENE}
    request = await (await client.post("/api/v1/dispatches", json=body, headers=headers["disp.gangnam"])).json()
    suggestions = f"/api/v1/dispatches/{request['id']}/suggestions"
    items = (await (await client.get(suggestions, headers=headers["disp.gangnam"])).json())["items"]
    assert [i.get("vendor_id") for i in items] == [vendor["id"]]
    await client.patch(f"/api/v1/vendors/{vendor['id']}", json={"active": False}, headers=headers["cm.seoul"])
    assert (await (await client.get(suggestions, headers=headers["disp.gangnam"])).json())["items"] == []


async def test_the_console_registers_and_changes_a_vendor(scene: tuple[World, Any, dict[str, Any]]) -> None:
    world, client, _ = scene
    csrf = await console_login(client, "cm.seoul")
    page = await (await client.get("/console/dispatch/vendors")).text()
    assert "협력업체 등록" in page and 'id="no-vendors"' in page and "강남지점" in page and "강원" not in page
    form = [("csrf_token", csrf), ("name", "강남견인"), ("service", "tow"), ("service", "tyre"),
            ("unit", str(world.units["GANGNAM"])), ("phone", "010-6666-0003"), ("lat", str(GANGNAM[0])),
            ("lon", str(GANGNAM[1])), ("capacity", "2"), ("active", "on")]  # fmt: skip
    answer = await client.post("/console/dispatch/vendors", data=form, allow_redirects=False)
    assert answer.status == 303, await answer.text()
    page = await (await client.get("/console/dispatch/vendors")).text()
    assert "강남견인" in page and "견인, 타이어" in page and "+8210****0003" in page and "010-6666" not in page
    vendor_id = answer.headers["Location"].rsplit("-", 1)[1]

    # Stopped: unticking "배정에 사용"; the phone left blank keeps the stored one.
    change = [("csrf_token", csrf), ("service", "tow"), ("unit", str(world.units["GANGNAM"]))]
    answer = await client.post(f"/console/dispatch/vendors/{vendor_id}", data=change, allow_redirects=False)
    assert answer.status == 303, await answer.text()
    page = await (await client.get(f"/console/dispatch/vendors/{vendor_id}")).text()
    assert 'id="vendor-active" checked' not in page and "+8210****0003" in page

    # Refused: no service, with why, in Korean.
    answer = await client.post("/console/dispatch/vendors", data=[("csrf_token", csrf), ("name", "빈업체")])
    assert answer.status == 422 and 'id="form-error"' in await answer.text()
