"""The timers on a fixed clock: time left against the promise and the board's colour, assignments not accepted
in time back on the board, late requests flagged once and escalated to the dispatcher's center manager (audited);
drafts from classified calls and the customer's arrival notice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import Session, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crm_store.audit import AuditEntry
from crm_store.calls.tables import Call
from crm_store.dispatch.assignment import accept, advance, assign
from crm_store.dispatch.duties import escalate_late, return_unaccepted
from crm_store.dispatch.errors import WrongState
from crm_store.dispatch.promises import is_late, minutes_text, time_left, urgency
from crm_store.dispatch.requests import (
    arrival_notice,
    assignment_notice,
    confirm_draft,
    draft_from_call,
    open_dispatch_request,
)
from crm_store.dispatch.tables import DispatchAssignment, DispatchRequest
from crm_store.dispatch.wire import Place
from crm_store.org.tables import Role, Staff
from tests.dispatch_helpers import CONFIG, RULES, SEOLLEUNG, YEOKSAM, World, add_surveyor, kst, survey_at
from tests.fake_clock import FakeClock

Sessions = async_sessionmaker[AsyncSession]


async def _open(sessions: Sessions, world: World, clock: FakeClock) -> DispatchRequest:
    async with sessions() as session:
        request = await open_dispatch_request(
            session, world.viewer("disp.gangnam"), survey_at(customer_id=world.customers["ordinary"]),
            config=CONFIG, rules=RULES, now=clock(),
        )  # fmt: skip
        await session.commit()
        return request


def test_time_left_and_the_board_colour_on_a_fixed_clock() -> None:
    opened = kst()
    request = DispatchRequest(kind="survey", state="open", promise_minutes=30, due_at=opened + timedelta(minutes=30))
    assert time_left(request, opened + timedelta(minutes=10)) == timedelta(minutes=20)
    assert urgency(request, opened + timedelta(minutes=10), CONFIG) == "ok"
    # A quarter of the promise (7.5 minutes) or less left: soon.
    assert urgency(request, opened + timedelta(minutes=23), CONFIG) == "soon"
    assert urgency(request, opened + timedelta(minutes=31), CONFIG) == "late"
    assert minutes_text(time_left(request, opened + timedelta(minutes=35)) or timedelta()) == "5분 지연"
    assert minutes_text(timedelta(minutes=12, seconds=30)) == "12분 남음"
    request.state, request.on_site_at = "on_site", opened + timedelta(minutes=25)
    assert time_left(request, opened + timedelta(minutes=40)) is None
    assert not is_late(request, opened + timedelta(minutes=40))
    assert urgency(request, opened + timedelta(minutes=40), CONFIG) == "closed"
    request.on_site_at = opened + timedelta(minutes=31)
    assert is_late(request, opened + timedelta(minutes=40))


async def test_not_accepted_in_time_comes_back_to_the_board(engine: Any, world: World, sessions: Sessions) -> None:
    clock = FakeClock(kst())
    add_surveyor(engine, world, "kim", at=YEOKSAM)
    request = await _open(sessions, world, clock)
    async with sessions() as session:
        assignment = await assign(
            session, world.viewer("disp.gangnam"), int(request.id or 0), username="kim", config=CONFIG, now=clock()
        )
        await session.commit()
    clock.now = assignment.accept_by - timedelta(seconds=1)
    with Session(engine) as session:
        assert return_unaccepted(session, now=clock()) == []
        session.commit()
    clock.now = assignment.accept_by + timedelta(seconds=1)
    with Session(engine) as session:
        assert return_unaccepted(session, now=clock()) == [request.id]
        session.commit()
    with Session(engine) as session:
        back = session.get(DispatchRequest, request.id)
        ended = session.get(DispatchAssignment, assignment.id)
        assert back is not None and (back.state, back.surveyor_id) == ("open", None)
        assert ended is not None and (ended.outcome, ended.ended_at) == ("expired", clock())
        # Repeating the pass changes nothing.
        assert return_unaccepted(session, now=clock() + timedelta(minutes=1)) == []
    async with sessions() as session:
        with pytest.raises(WrongState):
            await accept(session, world.viewer("kim"), int(request.id or 0), now=clock())
        # The surveyor is free again: the request can be offered anew.
        await assign(
            session, world.viewer("disp.gangnam"), int(request.id or 0), username="kim", config=CONFIG, now=clock()
        )
        await session.commit()


async def test_late_requests_are_flagged_once_and_escalated_to_the_center_manager(
    engine: Any, world: World, sessions: Sessions
) -> None:
    clock = FakeClock(kst())
    late = await _open(sessions, world, clock)
    clock.now += timedelta(minutes=20)
    in_time = await _open(sessions, world, clock)
    clock.now = kst() + timedelta(minutes=30)
    with Session(engine) as session:
        assert escalate_late(session, now=clock()) == []
    clock.now += timedelta(minutes=2)
    with Session(engine) as session:
        escalations = escalate_late(session, now=clock())
        session.commit()
    # The dispatcher works at the Gangnam branch, which has no center manager: the Seoul one above it is told.
    manager = world.staff["cm.seoul"]
    assert [(e.request_id, e.manager, e.manager_id) for e in escalations] == [(late.id, "cm.seoul", manager.id)]
    with Session(engine) as session:
        flagged = session.get(DispatchRequest, late.id)
        assert flagged is not None and (flagged.late_at, flagged.escalated_to_id) == (clock(), manager.id)
        entry = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "dispatch_escalated")).one()
        assert entry.target == f"dispatch:{late.id}" and entry.username == "dispatch-duty"
        assert entry.detail == {"manager": "cm.seoul", "late_minutes": 2, "state": "open"}
        assert escalate_late(session, now=clock() + timedelta(minutes=5)) == []
    assert in_time.due_at is not None and in_time.due_at > clock()


async def test_a_manager_of_the_dispatchers_own_unit_comes_first(engine: Any, world: World, sessions: Sessions) -> None:
    clock = FakeClock(kst())
    with Session(engine) as session:
        session.add(Staff(username="cm.gangnam", full_name="센터장", role=Role.CENTER_MANAGER.value,
                          org_unit_id=world.units["GANGNAM"]))  # fmt: skip
        session.commit()
    await _open(sessions, world, clock)
    with Session(engine) as session:
        assert [e.manager for e in escalate_late(session, now=clock() + timedelta(minutes=31))] == ["cm.gangnam"]


async def test_arriving_after_the_due_time_flags_the_request(engine: Any, world: World, sessions: Sessions) -> None:
    clock = FakeClock(kst())
    add_surveyor(engine, world, "kim", at=YEOKSAM)
    request = await _open(sessions, world, clock)
    request_id = int(request.id or 0)
    async with sessions() as session:
        await assign(session, world.viewer("disp.gangnam"), request_id, username="kim", config=CONFIG, now=clock())
        await accept(session, world.viewer("kim"), request_id, now=clock())
        await advance(session, world.viewer("kim"), request_id, "en_route", now=clock())
        arrived = await advance(
            session, world.viewer("kim"), request_id, "on_site", now=clock() + timedelta(minutes=33)
        )
        await session.commit()
    assert arrived.late_at == clock() + timedelta(minutes=33) and is_late(arrived, clock() + timedelta(hours=1))


def _call(engine: Any, world: World, call_sid: str, call_type: str, topic: str) -> None:
    with Session(engine) as session:
        session.add(
            Call(
                call_sid=call_sid, from_number="+821012345678", customer_id=world.customers["quality"], type=call_type,
                topic=topic, transcript="차가 방전돼서 시동이 안 걸려요",
                entities=[{"kind": "place", "text": "선릉역", "value": "선릉역"},
                          {"kind": "plate", "text": "12가3456", "value": "12가3456"}],
            )
        )  # fmt: skip
        session.commit()


async def test_a_classified_call_drafts_a_request_the_dispatcher_confirms(
    engine: Any, world: World, sessions: Sessions
) -> None:
    sid, inquiry = "CA" + "1" * 32, "CA" + "2" * 32
    _call(engine, world, sid, "dispatch", "dispatch.battery")
    _call(engine, world, inquiry, "inquiry", "inquiry.coverage")
    with Session(engine, expire_on_commit=False) as session:
        draft = draft_from_call(session, sid, now=kst())
        assert draft is not None
        assert draft_from_call(session, inquiry) is None
        session.commit()
    with Session(engine) as session:
        again = draft_from_call(session, sid)
        assert again is not None and again.id == draft.id
    assert (draft.state, draft.kind, draft.rescue_kind, draft.address) == ("draft", "rescue", "battery", "선릉역")
    assert draft.vehicles == [{"plate": "12가3456", "model": None, "ours": True}] and draft.due_at is None
    place = Place(lat=SEOLLEUNG[0], lon=SEOLLEUNG[1], address="")
    async with sessions() as session:
        opened = await confirm_draft(
            session, world.viewer("disp.gangnam"), int(draft.id or 0), place, config=CONFIG, rules=RULES, now=kst()
        )
        await session.commit()
    # A quality auto customer is entitled to roadside rescue: 20 minutes in the city.
    assert (opened.state, opened.address, opened.promise_minutes) == ("open", "선릉역", 20)
    assert opened.due_at == kst() + timedelta(minutes=20)
    async with sessions() as session:
        with pytest.raises(WrongState):
            await confirm_draft(session, world.viewer("disp.gangnam"), int(draft.id or 0), place, config=CONFIG,
                                rules=RULES, now=kst())  # fmt: skip


def test_the_arrival_notice_in_korean_and_korea_time() -> None:
    request = DispatchRequest(id=42, kind="survey", state="en_route")
    text = arrival_notice(request, eta_minutes=9, now=kst(), who="김조사")
    assert text == (
        "[핫라인] 현장 조사 요청이 접수되어 김조사 담당자가 출발했습니다. "
        "약 9분 후 10:09경 도착 예정입니다. (접수번호 42)"
    )


def test_the_assignment_notice_names_the_place_the_deadline_and_the_link() -> None:
    request = DispatchRequest(id=7, kind="tow", state="assigned", address="서울 강남구 선릉로 428")
    text = assignment_notice(request, link="https://hotline.example/s/7", accept_by=kst() + timedelta(minutes=5))
    assert (
        text
        == "[핫라인] 견인 배정 (접수번호 7): 서울 강남구 선릉로 428. 10:05까지 수락해 주세요. https://hotline.example/s/7"
    )
    unnamed = DispatchRequest(id=8, kind="survey", state="assigned", address="", lat=37.5045, lon=127.049)
    assert "37.50450, 127.04900" in assignment_notice(unnamed, link="x", accept_by=kst())
