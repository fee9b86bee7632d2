"""The forms of a live call on PostgreSQL, through the gateway: each makes its record at once and an entry on the
call, read back with the call; who may write (the agent holding the call, a supervisor in scope) and the refusals
(422 with the fields, 403 for another agent, 404 for an unknown or unseen call); the transfer redirects the live
call through Twilio's REST API (a stand-in) to the queue's <Enqueue>; the wrap-up makes the agent available."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.calls.tables import Call
from crm_store.complaints.tables import Complaint
from crm_store.customers.tables import Claim
from crm_store.db import make_engine
from crm_store.desk.call_work import CallWork
from crm_store.desk.tables import WaitingCall
from crm_store.dispatch.tables import DispatchRequest
from gateway.app import create_app
from gateway.twilio_stand_in import TwilioStandIn
from tests.customer_helpers import SECRET
from tests.desk_call_helpers import accident, agent_state, hold, policy_of, unknown_call
from tests.desk_helpers import install_default_menu, queue_id
from tests.fake_clock import business_day
from tests.review_helpers import World, add_customers_and_calls, build_world, console_login
from workers.settings import Settings

pytestmark = pytest.mark.integration

DAY = date(2026, 12, 7)
MASK = "●●●●"


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Any]:
    engine = make_engine(postgres_url, pool_size=5)
    yield engine
    engine.dispose()


@dataclass
class Desk:
    world: World
    client: Any
    engine: Any
    twilio: TwilioStandIn

    def url(self, sid: str, form: str) -> str:
        return f"/api/v1/desk/calls/{sid}/{form}"

    async def post(self, username: str, sid: str, form: str, body: Any) -> tuple[int, dict[str, Any]]:
        answer = await self.client.post(self.url(sid, form), json=body, headers=self.world.auth(username))
        return answer.status, await answer.json()

    def staff_id(self, username: str) -> int:
        return int(self.world.staff[username]["id"])


@pytest.fixture
async def desk(aiohttp_client: Any, postgres_url: str, engine: Any, tmp_path: Any) -> AsyncIterator[Desk]:
    with business_day(DAY):
        settings = Settings.from_env(
            {"DATABASE_URL": postgres_url, "HOTLINE_SECRET_KEY": SECRET, "HOTLINE_DATA_DIR": str(tmp_path)}
        )
        twilio = TwilioStandIn(settings.twilio_account_sid, settings.twilio_auth_token)
        base = await twilio.start()
        settings = settings.model_copy(update={"twilio_api_base": base})
        world = build_world(engine)
        client = await aiohttp_client(create_app(settings, embedded_worker=False))
        await add_customers_and_calls(client, world, engine)
        install_default_menu(engine)
        try:
            yield Desk(world, client, engine, twilio)
        finally:
            await twilio.stop()


async def test_each_form_makes_its_record_and_is_read_with_the_call(desk: Desk) -> None:
    world, engine = desk.world, desk.engine
    agent = desk.staff_id("agent.seocho")
    sid = unknown_call(engine)
    hold(engine, agent, sid)
    inside, outside = world.customers["inside"], world.customers["outside"]

    # An unknown caller: the forms that need a customer say so; a customer out of scope is not found.
    status, body = await desk.post("agent.seocho", sid, "complaint", {"category": "other", "summary": "지연"})
    assert status == 422 and "customer" in body["fields"]
    assert (await desk.post("agent.seocho", sid, "customer", {"customer_id": outside}))[0] == 404
    status, body = await desk.post("agent.seocho", sid, "customer", {"customer_id": inside})
    assert status == 201, body
    assert body["entry"]["kind"] == "link" and body["agent_state"] == "on_call"
    with Session(engine) as session:
        assert session.exec(select(Call.customer_id).where(col(Call.call_sid) == sid)).one() == inside
        linked = session.exec(select(AuditEntry).where(col(AuditEntry.action) == "desk.caller_linked")).one()
        assert (linked.customer_id, linked.username) == (inside, "agent.seocho")

    # The accident report: bad fields are named; a policy of another customer is refused; then the claim notice and
    # the dispatch request at once.
    status, body = await desk.post("agent.seocho", sid, "accident-report", {"place": ""})
    assert status == 422 and {"occurred_at", "place", "what_happened", "policy_id"} <= set(body["fields"])
    foreign_policy, _ = policy_of(engine, outside)
    policy, day = policy_of(engine, inside)
    status, body = await desk.post("agent.seocho", sid, "accident-report", accident(foreign_policy, day))
    assert status == 422 and "policy_id" in body["fields"]
    bad_dispatch = accident(policy, day, dispatch={"kind": "tow", "lat": 10.0, "lon": 127.0})
    status, body = await desk.post("agent.seocho", sid, "accident-report", bad_dispatch)
    assert status == 422 and "dispatch.lat" in body["fields"]
    rescue_of_nothing = accident(policy, day, dispatch={"kind": "rescue", "lat": 37.5, "lon": 127.0})
    status, body = await desk.post("agent.seocho", sid, "accident-report", rescue_of_nothing)
    assert status == 422 and list(body["fields"]) == ["dispatch.rescue_kind"], body
    dispatch = {"kind": "tow", "lat": 37.5, "lon": 127.0}
    status, body = await desk.post("agent.seocho", sid, "accident-report", accident(policy, day, dispatch=dispatch))
    assert status == 201, body
    records = body["entry"]["records"]
    with Session(engine) as session:
        claim = session.get(Claim, records["claim_id"])
        assert claim is not None and (claim.customer_id, claim.status, claim.occurred_on) == (inside, "open", day)
        assert claim.claim_number == records["claim_number"]
        request = session.get(DispatchRequest, records["dispatch_id"])
        assert request is not None and (request.call_sid, request.kind, request.customer_id) == (sid, "tow", inside)
        assert request.address == "서울시 서초구 반포대로 58 교차로"

    # A complaint, then a repeat on the same topic linked to it (the complaint store's rule).
    intake = {"category": "claims_payment", "summary": "보험금 지급 지연", "topic": "complaint.claim_delay"}
    status, body = await desk.post("agent.seocho", sid, "complaint", intake)
    assert status == 201, body
    first = body["entry"]["records"]
    status, body = await desk.post("agent.seocho", sid, "complaint", intake)
    assert status == 201 and body["entry"]["records"]["complaint_id"] == first["complaint_id"]
    assert body["entry"]["records"]["repeat"] is True and first["repeat"] is False
    with Session(engine) as session:
        complaint = session.get(Complaint, first["complaint_id"])
        assert complaint is not None and complaint.customer_id == inside and complaint.channel == "call"

    # A change notification is a proposed change for the operator's review, kept when the call is classified.
    status, body = await desk.post("agent.seocho", sid, "change", {"field": "address", "value": "서울시 강남구 1"})
    assert status == 201, body
    assert (await desk.post("agent.seocho", sid, "change", {"field": "shoe_size", "value": "270"}))[0] == 422
    with Session(engine) as session:
        call = session.exec(select(Call).where(col(Call.call_sid) == sid)).one()
        proposed = (call.classification or {})["proposed_changes"]
        assert proposed[-1]["field"] == "address" and proposed[-1]["source"] == "desk"
        assert proposed[-1]["value"] == "서울시 강남구 1"

    inquiry = {"question": "자차 보험 처리 기준", "answer": "과실 비율에 따라 처리됨을 안내"}
    assert (await desk.post("agent.seocho", sid, "inquiry", inquiry))[0] == 201
    assert (await desk.post("agent.seocho", sid, "inquiry", {"question": "빈 답"}))[0] == 422
    assert (await desk.post("agent.seocho", sid, "notes", {"text": "고객 흥분 상태"}))[0] == 201
    # A supervisor who sees the call writes too.
    assert (await desk.post("center_manager.seocho", sid, "notes", {"text": "센터장 확인"}))[0] == 201

    # Everything entered is read with the call, in order; the injured person's condition masked below its grade.
    answer = await desk.client.get(f"/api/v1/calls/{sid}", headers=world.auth("agent.seocho"))
    assert answer.status == 200, await answer.text()
    work = (await answer.json())["desk_work"]
    assert [w["kind"] for w in work] == [
        "link", "accident_report", "complaint", "complaint", "change", "inquiry", "note", "note",
    ]  # fmt: skip
    assert [w["by"] for w in work][-2:] == ["agent.seocho", "center_manager.seocho"]
    assert work[1]["detail"]["injured"][0]["condition"] == MASK
    cleared = await (await desk.client.get(f"/api/v1/calls/{sid}", headers=world.auth("admin.hq"))).json()
    assert cleared["desk_work"][1]["detail"]["injured"][0]["condition"] == "목 통증"

    # The screen pop's open cases show the complaint and the dispatch request just made; outside scope nothing.
    answer = await desk.client.get(
        f"/api/v1/customers/{inside}/open-cases", params={"call_sid": sid}, headers=world.auth("agent.seocho")
    )
    assert answer.status == 200, await answer.text()
    cases = await answer.json()
    assert [c["number"] for c in cases["complaints"]] == [first["complaint_number"]]
    assert [d["id"] for d in cases["dispatches"]] == [records["dispatch_id"]]
    outside_cases = f"/api/v1/customers/{outside}/open-cases"
    assert (await desk.client.get(outside_cases, headers=world.auth("agent.seocho"))).status == 404


async def test_only_the_agent_holding_the_call_or_a_supervisor_writes(desk: Desk) -> None:
    world, engine = desk.world, desk.engine
    sid = world.calls["inside"]
    hold(engine, desk.staff_id("agent.seocho"), sid)
    note = {"text": "메모"}
    # Another agent who sees the call: 403; one of another role: 403; the call's customer out of scope: 404.
    assert (await desk.post("agent.gangnam", sid, "notes", note))[0] == 403
    assert (await desk.post("operator.seocho", sid, "notes", note))[0] == 403
    assert (await desk.post("center_manager.seocho", world.calls["outside"], "notes", note))[0] == 404
    assert (await desk.post("agent.seocho", world.calls["outside"], "notes", note))[0] == 404
    # Every form alike: another agent 403, an unknown call 404, both before the body is read; the holder 422.
    for form in ("customer", "accident-report", "complaint", "change", "inquiry", "notes", "transfer", "wrap-up"):
        assert (await desk.post("agent.gangnam", sid, form, {}))[0] == 403, form
        assert (await desk.post("agent.seocho", "CA" + "0" * 32, form, {}))[0] == 404, form
        status, body = await desk.post("agent.seocho", sid, form, {"unexpected": 1})
        assert status == 422 and "unexpected" in body["fields"], form
    # Offered is not yet holding: accept first.
    hold(engine, desk.staff_id("agent.seocho"), sid, "offered")
    assert (await desk.post("agent.seocho", sid, "notes", note))[0] == 403
    hold(engine, desk.staff_id("agent.seocho"), sid, "on_call")
    assert (await desk.post("agent.seocho", sid, "notes", note))[0] == 201
    with Session(engine) as session:
        assert len(session.exec(select(CallWork).where(col(CallWork.call_sid) == sid)).all()) == 1


async def test_wrap_up_ends_the_after_call_work(desk: Desk) -> None:
    agent = desk.staff_id("agent.seocho")
    sid = desk.world.calls["inside"]
    hold(desk.engine, agent, sid, "on_call")
    status, body = await desk.post("agent.seocho", sid, "wrap-up", {"disposition": "resolved"})
    assert status == 409 and "call_sid" in body["fields"]  # still connected
    hold(desk.engine, agent, sid, "wrap_up")
    status, body = await desk.post("agent.seocho", sid, "wrap-up", {"disposition": "no_such_code"})
    assert status == 422 and "disposition" in body["fields"]
    status, body = await desk.post("agent.seocho", sid, "wrap-up", {"disposition": "report_taken", "note": "끝"})
    assert status == 201, body
    assert body["agent_state"] == "available" and body["entry"]["records"]["disposition"] == "report_taken"
    assert agent_state(desk.engine, agent) == ("available", None)
    # The call is no longer theirs.
    assert (await desk.post("agent.seocho", sid, "notes", {"text": "늦은 메모"}))[0] == 403


def _live(engine: Any, sid: str) -> None:
    """The call still going: the caller on the line."""
    with Session(engine) as session:
        call = session.exec(select(Call).where(col(Call.call_sid) == sid)).one()
        call.status, call.ended_at = "in-progress", None
        session.add(call)
        session.commit()


async def test_a_transfer_redirects_the_live_call_to_the_queue(desk: Desk) -> None:
    agent = desk.staff_id("agent.seocho")
    sid = desk.world.calls["inside"]
    _live(desk.engine, sid)
    desk.twilio.add_call(sid)
    with Session(desk.engine) as session:
        session.add(
            WaitingCall(call_sid=sid, queue_id=queue_id(desk.engine, "consult"), priority=10, state="connected")
        )
        session.commit()
    hold(desk.engine, agent, sid, "on_call")
    status, body = await desk.post("agent.seocho", sid, "transfer", {"queue": "nowhere", "note": "이관"})
    assert status == 422 and "queue" in body["fields"] and not desk.twilio.requests
    desk.twilio.fail_next(500)
    status, body = await desk.post("agent.seocho", sid, "transfer", {"queue": "complaint", "note": "민원 이관"})
    assert status == 409 and agent_state(desk.engine, agent)[0] == "on_call"

    status, body = await desk.post("agent.seocho", sid, "transfer", {"queue": "complaint", "note": "민원 이관"})
    assert status == 201, body
    redirect = desk.twilio.requests[-1]
    assert redirect.method == "POST" and redirect.path.endswith(f"/Calls/{sid}.json")
    assert "<Enqueue" in redirect.params["Twiml"] and ">complaint</Enqueue>" in redirect.params["Twiml"]
    assert agent_state(desk.engine, agent) == ("wrap_up", sid)
    with Session(desk.engine) as session:
        waiting = session.exec(select(WaitingCall).where(col(WaitingCall.call_sid) == sid)).one()
        assert (waiting.state, waiting.queue_id, waiting.priority, waiting.unit_id) == (
            "waiting", queue_id(desk.engine, "complaint"), 10, None)  # fmt: skip


async def test_a_transfer_to_a_level_leaves_the_call_to_that_units_agents(desk: Desk) -> None:
    agent = desk.staff_id("agent.seocho")
    sid = desk.world.calls["inside"]
    _live(desk.engine, sid)
    desk.twilio.add_call(sid)
    with Session(desk.engine) as session:
        session.add(WaitingCall(call_sid=sid, queue_id=queue_id(desk.engine, "consult"), state="connected"))
        session.commit()
    hold(desk.engine, agent, sid, "on_call")
    wrong = {"queue": "consult", "note": "본부 이관", "unit": "NOWHERE"}
    status, body = await desk.post("agent.seocho", sid, "transfer", wrong)
    assert status == 422 and "unit" in body["fields"] and not desk.twilio.requests
    status, body = await desk.post("agent.seocho", sid, "transfer", {**wrong, "unit": "SEOUL"})
    assert status == 201, body
    assert body["entry"]["records"]["unit_name"] == "서울지역본부"
    with Session(desk.engine) as session:
        waiting = session.exec(select(WaitingCall).where(col(WaitingCall.call_sid) == sid)).one()
        assert (waiting.state, waiting.unit_id) == ("waiting", desk.world.units["SEOUL"])


async def test_the_review_page_shows_what_the_desk_entered(desk: Desk) -> None:
    world = desk.world
    sid = world.calls["inside"]
    hold(desk.engine, desk.staff_id("agent.seocho"), sid)
    policy, day = policy_of(desk.engine, world.customers["inside"])
    assert (await desk.post("agent.seocho", sid, "accident-report", accident(policy, day)))[0] == 201
    assert (await desk.post("agent.seocho", sid, "change", {"field": "email", "value": "kim@example.com"}))[0] == 201
    await console_login(desk.client, "operator.seocho")
    page = await (await desk.client.get(f"/console/items/{world.items['inside']}")).text()
    assert "통화 중 상담원 입력" in page and "사고 접수" in page and "변경 신고" in page
    assert "사고 장소: 서울시 서초구 반포대로 58 교차로" in page and "사고 접수번호: CL-" in page
    assert "목 통증" not in page and f"운전자: {MASK} (병원 이송)" in page  # grade 4 at clearance 2
    assert "12가3456 소나타 (당사 차량)" in page and "변경 항목: 이메일" in page
    # The desk's proposed change waits for the operator with the classifier's own.
    assert 'data-field="email"' in page and 'data-field="address"' in page


async def test_a_form_of_nothing_but_spaces_is_refused_and_nothing_written(desk: Desk) -> None:
    world, engine = desk.world, desk.engine
    sid = world.calls["inside"]
    hold(engine, desk.staff_id("agent.seocho"), sid)
    policy, day = policy_of(engine, world.customers["inside"])
    blank = "  \n "
    with Session(engine) as session:
        claims = len(session.exec(select(Claim).where(col(Claim.policy_id) == policy)).all())
    forms = [
        ("accident-report", accident(policy, day, place=blank), "place"),
        ("accident-report", accident(policy, day, what_happened=blank), "what_happened"),
        ("complaint", {"category": "other", "summary": blank}, "summary"),
        ("change", {"field": "address", "value": blank}, "value"),
        ("inquiry", {"question": blank, "answer": "약관 안내"}, "question"),
        ("inquiry", {"question": "보장 범위", "answer": blank}, "answer"),
        ("notes", {"text": blank}, "text"),
        ("transfer", {"queue": "consult", "note": blank}, "note"),
    ]
    for form, body, field in forms:
        status, answer = await desk.post("agent.seocho", sid, form, body)
        assert status == 422 and list(answer["fields"]) == [field], (form, answer)
    with Session(engine) as session:
        assert session.exec(select(CallWork).where(col(CallWork.call_sid) == sid)).all() == []
        assert len(session.exec(select(Claim).where(col(Claim.policy_id) == policy)).all()) == claims
    # Text around the words is dropped, not refused.
    status, answer = await desk.post("agent.seocho", sid, "notes", {"text": "  고객 재통화 요청 "})
    assert status == 201 and answer["entry"]["detail"]["text"] == "고객 재통화 요청", answer


async def test_personal_numbers_typed_in_a_form_are_never_shown_back(desk: Desk) -> None:
    world, engine = desk.world, desk.engine
    sid = world.calls["inside"]
    hold(engine, desk.staff_id("agent.seocho"), sid)
    typed = "주민번호 880315-1234567 카드 1234-5678-9012-3456 계좌 110-123-456789, 재통화 010-2222-3333"
    shown = "주민번호 [주민번호] 카드 [카드번호] 계좌 [계좌번호], 재통화 010-2222-3333"
    status, body = await desk.post("agent.seocho", sid, "notes", {"text": typed})
    assert status == 201 and body["entry"]["detail"]["text"] == shown, body
    question = {"question": f"환급 계좌 확인: {typed}", "answer": "확인했습니다"}
    status, body = await desk.post("agent.seocho", sid, "inquiry", question)
    assert status == 201 and body["entry"]["detail"]["question"] == f"환급 계좌 확인: {shown}", body
    for username in ("agent.seocho", "center_manager.seocho", "operator.seocho"):
        answer = await desk.client.get(f"/api/v1/calls/{sid}", headers=world.auth(username))
        text = await answer.text()
        assert answer.status == 200 and "1234567" not in text and "9012" not in text and "456789" not in text, text
    with Session(engine) as session:
        stored = session.exec(select(CallWork.detail).where(col(CallWork.call_sid) == sid)).all()
    assert "880315" not in str(stored)


async def test_a_new_phone_plate_or_email_told_is_checked_and_kept_in_its_normal_form(desk: Desk) -> None:
    world, engine = desk.world, desk.engine
    sid = world.calls["inside"]
    hold(engine, desk.staff_id("agent.seocho"), sid)
    for field, value in (("phone", "없는 번호"), ("phone", "1234"), ("vehicle_plate", "ABC-123"), ("email", "kim")):
        status, body = await desk.post("agent.seocho", sid, "change", {"field": field, "value": value})
        assert status == 422 and list(body["fields"]) == ["value"], (field, value, body)
    with Session(engine) as session:
        assert session.exec(select(CallWork).where(col(CallWork.call_sid) == sid)).all() == []
    told = (
        ("phone", "010 9876 5432", "+821098765432"),
        ("vehicle_plate", "34나 5678", "34나5678"),
        ("email", " kim@example.com ", "kim@example.com"),
        ("address", "서울 서초구 반포대로 58", None),
    )
    for field, value, kept in told:
        status, body = await desk.post("agent.seocho", sid, "change", {"field": field, "value": value})
        assert status == 201 and body["entry"]["detail"]["value"] == (kept or value), body


async def test_a_call_that_has_ended_is_not_transferred(desk: Desk) -> None:
    agent = desk.staff_id("agent.seocho")
    sid = desk.world.calls["inside"]  # completed: the caller hung up
    desk.twilio.add_call(sid)
    with Session(desk.engine) as session:
        session.add(WaitingCall(call_sid=sid, queue_id=queue_id(desk.engine, "consult"), state="connected"))
        session.commit()
    hold(desk.engine, agent, sid, "wrap_up")
    status, body = await desk.post("agent.seocho", sid, "transfer", {"queue": "complaint", "note": "민원 이관"})
    assert status == 409 and "call_sid" in body["fields"], body
    assert not desk.twilio.requests and agent_state(desk.engine, agent)[0] == "wrap_up"
    with Session(desk.engine) as session:
        waiting = session.exec(select(WaitingCall).where(col(WaitingCall.call_sid) == sid)).one()
        assert waiting.state == "connected"  # not waiting again for an agent: nobody is on the line
        assert session.exec(select(CallWork).where(col(CallWork.call_sid) == sid)).all() == []
