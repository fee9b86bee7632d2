"""The board's reads: a dispatcher sees the live requests of their unit and below (late first, then by due time,
drafts last), one request outside their scope is not found, and a request on the wire."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.calls.tables import Call
from crm_store.dispatch.assignment import assign, cancel
from crm_store.dispatch.board import board_requests, dispatch_in_scope
from crm_store.dispatch.errors import DispatchNotFound
from crm_store.dispatch.requests import draft_from_call, open_dispatch_request
from crm_store.org.tables import Role, Staff
from tests.dispatch_helpers import CONFIG, GAPYEONG_SCENE, RULES, YEOKSAM, World, add_surveyor, kst, survey_at

NOW = kst()
Sessions = async_sessionmaker[AsyncSession]


async def _open(sessions: Sessions, world: World, minutes_ago: int, **where: Any) -> int:
    async with sessions() as session:
        request = await open_dispatch_request(
            session, world.viewer("disp.gangnam"), survey_at(**where), config=CONFIG, rules=RULES,
            unit_id=world.units["GANGNAM"], now=NOW - timedelta(minutes=minutes_ago),
        )  # fmt: skip
        await session.commit()
        return int(request.id or 0)


async def test_the_board_of_a_dispatcher_and_of_the_head_office(engine: Any, world: World, sessions: Sessions) -> None:
    add_surveyor(engine, world, "kim", at=YEOKSAM)
    with Session(engine, expire_on_commit=False) as session:
        head_office = Staff(
            username="disp.hq", full_name="본사", role=Role.DISPATCHER.value, org_unit_id=world.units["HQ"]
        )
        session.add(head_office)
        session.add(Call(call_sid="CA" + "3" * 32, type="report", topic="report.auto_accident", transcript="사고"))
        session.commit()
    world.staff["disp.hq"] = head_office
    fresh = await _open(sessions, world, 0)
    soon = await _open(sessions, world, 25)
    late = await _open(sessions, world, 35)
    county = await _open(sessions, world, 0, place=GAPYEONG_SCENE, unit=world.units["GAPYEONG"])
    gone = await _open(sessions, world, 5)
    async with sessions() as session:
        await assign(session, world.viewer("disp.gangnam"), fresh, username="kim", config=CONFIG, now=NOW)
        await cancel(session, world.viewer("disp.gangnam"), gone, reason="중복 접수", now=NOW)
        await session.commit()
    with Session(engine) as session:
        draft = draft_from_call(session, "CA" + "3" * 32, now=NOW)
        assert draft is not None
        draft.org_unit_id = world.units["GANGNAM"]
        session.add(draft)
        session.commit()
        draft_id = draft.id
    async with sessions() as session:
        gangnam = await board_requests(session, world.viewer("disp.gangnam"), config=CONFIG, now=NOW)
        everyone = await board_requests(session, world.viewer("disp.hq"), config=CONFIG, now=NOW)
    assert [(row.request.id, row.urgency) for row in gangnam] == [
        (late, "late"), (soon, "soon"), (fresh, "ok"), (draft_id, "ok")
    ]  # fmt: skip
    assert gangnam[0].time_left == timedelta(minutes=-5) and gangnam[0].request.late
    assert gangnam[2].request.surveyor == "kim" and gangnam[2].request.state == "assigned"
    assert gangnam[3].request.location is None and gangnam[3].time_left is None
    assert {row.request.id for row in everyone} == {late, soon, fresh, county, draft_id}


async def test_a_request_outside_the_scope_is_not_found(world: World, sessions: Sessions) -> None:
    county = await _open(sessions, world, 0, place=GAPYEONG_SCENE, unit=world.units["GAPYEONG"])
    async with sessions() as session:
        with pytest.raises(DispatchNotFound):
            await dispatch_in_scope(session, world.viewer("disp.gangnam"), county, config=CONFIG, now=NOW)
        seen = await dispatch_in_scope(session, world.viewer("cm.hq"), county, config=CONFIG, now=NOW)
    assert (seen.kind, seen.state, seen.region, seen.promise_minutes) == ("survey", "open", "county", 60)
    assert seen.due_at == (NOW + timedelta(minutes=60)).isoformat() and seen.location is not None
