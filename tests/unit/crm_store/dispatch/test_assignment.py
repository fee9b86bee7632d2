"""Assignment and the steps of a request: one live assignment per request, surveyors within capacity, acceptance
by the one assigned only, the surveyor's steps in order with their status following, cancellation."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import AuditEntry
from crm_store.dispatch.assignment import accept, advance, assign, cancel, decline
from crm_store.dispatch.errors import NotAvailable, NotYours, SurveyorNotFound, WrongState
from crm_store.dispatch.requests import open_dispatch_request
from crm_store.dispatch.surveyors import put_surveyor, surveyors_of_province
from crm_store.dispatch.tables import DispatchAssignment, DispatchRequest, SurveyorProfile
from crm_store.dispatch.wire import DispatchCreate, SurveyorUpdate
from tests.dispatch_helpers import CONFIG, GWANGHWAMUN, RULES, SEOLLEUNG, YEOKSAM, World, add_surveyor, kst, survey_at

NOW = kst()
Sessions = async_sessionmaker[AsyncSession]


async def _open(sessions: Sessions, world: World, data: DispatchCreate | None = None) -> int:
    async with sessions() as session:
        request = await open_dispatch_request(
            session, world.viewer("disp.gangnam"), data or survey_at(), config=CONFIG, rules=RULES,
            unit_id=world.units["GANGNAM"], now=NOW,
        )  # fmt: skip
        await session.commit()
        return int(request.id or 0)


async def _assign(sessions: Sessions, world: World, request_id: int, username: str) -> DispatchAssignment:
    async with sessions() as session:
        assignment = await assign(
            session, world.viewer("disp.gangnam"), request_id, username=username, config=CONFIG, now=NOW
        )
        await session.commit()
        return assignment


async def _step(sessions: Sessions, world: World, who: str, request_id: int, to: str, minutes: int) -> DispatchRequest:
    async with sessions() as session:
        moment = NOW.replace(minute=minutes)
        if to == "accepted":
            request = await accept(session, world.viewer(who), request_id, now=moment)
        else:
            request = await advance(session, world.viewer(who), request_id, to, now=moment)
        await session.commit()
        return request


def _status(engine: Any, staff_id: int) -> str:
    with Session(engine) as session:
        profile = session.get(SurveyorProfile, staff_id)
        assert profile is not None
        return profile.status


async def test_a_survey_from_assignment_to_done(engine: Any, world: World, sessions: Sessions) -> None:
    kim = add_surveyor(engine, world, "kim", at=YEOKSAM)
    request_id = await _open(sessions, world)
    assignment = await _assign(sessions, world, request_id, "kim")
    assert assignment.accept_by == NOW.replace(minute=5) and assignment.surveyor_id == kim
    steps = [("accepted", 1, "available"), ("en_route", 2, "en_route"), ("on_site", 12, "on_site"),
             ("reporting", 40, "reporting"), ("done", 55, "available")]  # fmt: skip
    for state, minute, status in steps:
        request = await _step(sessions, world, "kim", request_id, state, minute)
        assert request.state == state and _status(engine, kim) == status
    assert request.on_site_at == NOW.replace(minute=12) and request.late_at is None
    with Session(engine) as session:
        ended = session.get(DispatchAssignment, assignment.id)
        assert ended is not None and (ended.outcome, ended.ended_at) == ("done", NOW.replace(minute=55))
        actions = session.exec(select(AuditEntry.action).order_by(col(AuditEntry.id))).all()
    assert actions == ["dispatch_opened", "dispatch_assigned", "dispatch_accepted", "dispatch_en_route",
                       "dispatch_on_site", "dispatch_reporting", "dispatch_done"]  # fmt: skip


async def test_steps_out_of_order_or_by_someone_else_are_refused(engine: Any, world: World, sessions: Sessions) -> None:
    add_surveyor(engine, world, "kim", at=YEOKSAM)
    add_surveyor(engine, world, "lee", at=GWANGHWAMUN)
    request_id = await _open(sessions, world)
    await _assign(sessions, world, request_id, "kim")
    with pytest.raises(NotYours):
        await _step(sessions, world, "lee", request_id, "accepted", 1)
    with pytest.raises(WrongState):
        await _step(sessions, world, "kim", request_id, "on_site", 1)
    await _step(sessions, world, "kim", request_id, "accepted", 1)
    await _step(sessions, world, "kim", request_id, "en_route", 2)
    await _step(sessions, world, "kim", request_id, "on_site", 10)
    # A survey is reported before it is done.
    with pytest.raises(WrongState):
        await _step(sessions, world, "kim", request_id, "done", 20)


async def test_a_tow_is_done_on_site_without_a_report(world: World, sessions: Sessions) -> None:
    from crm_store.dispatch.surveyors import add_vendor
    from crm_store.dispatch.wire import Position

    async with sessions() as session:
        vendor = await add_vendor(
            session, world.viewer("disp.gangnam"), name="강남견인", services=["tow"],
            service_unit_ids=[world.units["SEOUL"]], position=Position(lat=YEOKSAM[0], lon=YEOKSAM[1]),
            org_unit_id=world.units["SEOUL"], now=NOW,
        )  # fmt: skip
        await session.commit()
    place = {"lat": SEOLLEUNG[0], "lon": SEOLLEUNG[1]}
    request_id = await _open(sessions, world, DispatchCreate.model_validate({"kind": "tow", "location": place}))
    async with sessions() as session:
        with pytest.raises(NotAvailable):
            await assign(session, world.viewer("disp.gangnam"), request_id, username="kim", config=CONFIG, now=NOW)
        await assign(session, world.viewer("disp.gangnam"), request_id, vendor_id=vendor.id, config=CONFIG, now=NOW)
        await session.commit()
    dispatcher = "disp.gangnam"  # accepts on the vendor's behalf, and records its steps
    for state, minute in (("accepted", 1), ("en_route", 2), ("on_site", 20)):
        await _step(sessions, world, dispatcher, request_id, state, minute)
    with pytest.raises(WrongState):
        await _step(sessions, world, dispatcher, request_id, "reporting", 21)
    assert (await _step(sessions, world, dispatcher, request_id, "done", 30)).state == "done"


async def test_one_live_assignment_per_request_and_surveyors_within_capacity(
    engine: Any, world: World, sessions: Sessions
) -> None:
    add_surveyor(engine, world, "kim", at=YEOKSAM)
    add_surveyor(engine, world, "lee", at=YEOKSAM)
    add_surveyor(engine, world, "park", at=YEOKSAM, skills=("property",))
    add_surveyor(engine, world, "choi", at=YEOKSAM, status="off_duty")
    first, second = await _open(sessions, world), await _open(sessions, world)
    await _assign(sessions, world, first, "kim")
    with pytest.raises(WrongState):
        await _assign(sessions, world, first, "lee")
    with pytest.raises(NotAvailable, match="as many assignments"):
        await _assign(sessions, world, second, "kim")
    with pytest.raises(NotAvailable, match="skill"):
        await _assign(sessions, world, second, "park")
    with pytest.raises(NotAvailable, match="off duty"):
        await _assign(sessions, world, second, "choi")
    with pytest.raises(SurveyorNotFound):
        await _assign(sessions, world, second, "agent.gangnam")
    await _assign(sessions, world, second, "lee")
    with Session(engine) as session:
        live = session.exec(select(DispatchAssignment).where(col(DispatchAssignment.ended_at).is_(None))).all()
    assert sorted((a.request_id, a.surveyor_id) for a in live) == sorted(
        [(first, world.staff["kim"].id), (second, world.staff["lee"].id)]
    )


async def test_declined_goes_back_to_the_board_and_cancelled_frees_the_surveyor(
    engine: Any, world: World, sessions: Sessions
) -> None:
    kim = add_surveyor(engine, world, "kim", at=YEOKSAM)
    request_id = await _open(sessions, world)
    await _assign(sessions, world, request_id, "kim")
    async with sessions() as session:
        request = await decline(session, world.viewer("kim"), request_id, now=NOW.replace(minute=1))
        await session.commit()
    assert (request.state, request.surveyor_id) == ("open", None)
    await _assign(sessions, world, request_id, "kim")
    await _step(sessions, world, "kim", request_id, "accepted", 2)
    await _step(sessions, world, "kim", request_id, "en_route", 3)
    async with sessions() as session:
        request = await cancel(
            session, world.viewer("disp.gangnam"), request_id, reason="고객 취소", now=NOW.replace(minute=4)
        )
        await session.commit()
    assert request.state == "cancelled" and _status(engine, kim) == "available"
    with pytest.raises(WrongState):
        await _step(sessions, world, "kim", request_id, "on_site", 5)


async def test_a_surveyor_profile_through_put_and_the_board_list(engine: Any, world: World, sessions: Sessions) -> None:
    from crm_store.org.tables import Role, Staff

    with Session(engine) as session:
        session.add(Staff(username="new.surveyor", full_name="신입", role=Role.SURVEYOR.value,
                          org_unit_id=world.units["GANGNAM"]))  # fmt: skip
        session.commit()
    actor = world.viewer("disp.gangnam")
    update = SurveyorUpdate.model_validate(
        {"skills": ["injury", "auto", "auto"], "status": "available", "location": {"lat": 37.5, "lon": 127.03}}
    )
    async with sessions() as session:
        profile = await put_surveyor(session, actor, "new.surveyor", update, config=CONFIG, now=NOW)
        with pytest.raises(SurveyorNotFound):
            await put_surveyor(session, actor, "agent.gangnam", update, config=CONFIG, now=NOW)
        await session.commit()
    assert (profile.skills, profile.status, profile.province_unit_id) == (
        ["auto", "injury"],
        "available",
        world.units["SEOUL"],
    )
    async with sessions() as session:
        await put_surveyor(session, actor, "new.surveyor", SurveyorUpdate(status="off_duty"), config=CONFIG, now=NOW)
        await session.commit()
        board = await surveyors_of_province(session, world.units["SEOUL"])
    assert [(s.username, s.status, s.skills, s.open_assignments) for s in board] == [
        ("new.surveyor", "off_duty", ["auto", "injury"], 0)
    ]


async def test_a_draft_of_an_unknown_caller_is_cancelled_in_the_dispatchers_unit(
    engine: Any, world: World, sessions: Sessions
) -> None:
    from crm_store.calls.tables import Call
    from crm_store.dispatch.errors import InvalidDispatch
    from crm_store.dispatch.requests import draft_from_call

    sid = "CA" + "4" * 32
    with Session(engine, expire_on_commit=False) as session:
        session.add(Call(call_sid=sid, type="dispatch", topic="dispatch.towing", transcript="견인 부탁드려요"))
        session.flush()
        draft = draft_from_call(session, sid, now=NOW)
        session.commit()
    assert draft is not None and draft.org_unit_id is None
    actor = world.viewer("disp.gangnam")
    async with sessions() as session:
        with pytest.raises(InvalidDispatch):
            await cancel(session, actor, int(draft.id or 0), reason="장난 전화", now=NOW)
        await session.rollback()
        cancelled = await cancel(session, actor, int(draft.id or 0), reason="장난 전화", unit_id=world.units["GANGNAM"])
        await session.commit()
    assert (cancelled.state, cancelled.org_unit_id) == ("cancelled", world.units["GANGNAM"])
    with Session(engine) as session:
        entry = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "dispatch_cancelled")).one()
    assert (entry.org_unit_id, entry.detail) == (world.units["GANGNAM"], {"reason": "장난 전화"})
