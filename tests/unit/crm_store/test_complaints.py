"""Complaints in the store (SQLite): numbering, the repeat link, the seven steps and who may take them, illegal
transitions, the extension, disputes, the append-only dossier, the audit trail, opening from a classified call."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.calls.tables import Call
from crm_store.complaints.steps import IllegalTransition, check_transition
from crm_store.complaints.store import (
    ComplaintNotFound,
    complaint_public,
    complaints_query,
    dossier,
    get_complaint,
    open_complaint,
    open_complaint_from_call,
    take_step,
)
from crm_store.complaints.tables import Complaint
from crm_store.complaints.wire import State
from crm_store.db import async_session_factory, async_session_scope, make_async_engine, run_async, session_scope
from crm_store.errors import CustomerNotFound
from crm_store.org.scope import CommandLine
from crm_store.validation import InvalidInput, NotAllowed
from tests.complaint_helpers import RECEIVED, add_customer, create, viewer
from tests.review_helpers import World, build_world, call_sid

NOW = RECEIVED + timedelta(minutes=5)
# The department owning complaints at every level.
OWNER = "customer_management"
CLI = CommandLine(username="root")
VERIFY = {"facts": "사고 접수 후 21일 경과, 손해사정 미배정 확인", "policy_number": "AU-2026-0001"}
REGISTER = {"category": "claims_payment", "topic": "complaint.claim_delay", "severity": "high"}
COORDINATE = {"department": OWNER, "comment": "담당자 배정 후 3일 내 지급 가능", "agreed": True}
HANDLE = {"decision": "지연 이자 포함 지급", "upheld": True, "remedy": "사과 및 지연 이자", "amount": 1_250_000}
SATISFIED = {"method": "callback", "satisfaction": 4}


@pytest.fixture
def world(engine: Any) -> World:
    return build_world(engine)


@pytest.fixture
def customers(engine: Any, world: World) -> dict[str, int]:
    with session_scope(engine) as session:
        return {
            "seocho": add_customer(session, world, "SEOUL-GANGNAM-SEOCHO"),
            "seocho2": add_customer(session, world, "SEOUL-GANGNAM-SEOCHO", "정재민원"),
            "haeundae": add_customer(session, world, "BUSAN-DONGBU-HAEUNDAE"),
        }


def _open(
    engine: Any, world: World, customer_id: int, who: str = "agent.seocho", now: datetime = NOW, **fields: Any
) -> Complaint:
    with session_scope(engine) as session:
        return open_complaint(session, viewer(world, who), create(customer_id, **fields), now=now).complaint


def _step(engine: Any, world: World, who: str, complaint_id: int, action: str, form: dict[str, Any]) -> Complaint:
    with session_scope(engine) as session:
        return take_step(session, viewer(world, who), complaint_id, action, form, now=NOW)


def test_complaints_are_numbered_per_year_with_their_limits(engine: Any, world: World, customers: Any) -> None:
    first = _open(engine, world, customers["seocho"])
    second = _open(engine, world, customers["seocho2"], topic=None)
    next_year = _open(
        engine, world, customers["haeundae"], who="agent.hq", now=NOW.replace(year=2027), received_at=None
    )
    assert (first.number, second.number) == ("C-2026-000001", "C-2026-000002")
    assert next_year.number == "C-2027-000001"
    assert first.state == "receipt" and first.org_unit_id == world.units["SEOUL-GANGNAM-SEOCHO"]
    with Session(engine) as session:
        shown = complaint_public(session, session.get(Complaint, first.id)).model_dump(mode="json")
    # Received Monday 21 Sep 2026: acknowledged that day; resolved by the 14th business day after it, past 추석.
    assert shown["acknowledge_by"] == "2026-09-21T23:59:59+09:00"
    assert shown["resolve_by"] == "2026-10-15T23:59:59+09:00"
    assert shown["received_at"] == "2026-09-21T10:00:00+09:00"


def test_a_repeat_links_to_the_open_complaint_instead_of_a_duplicate(engine: Any, world: World, customers: Any) -> None:
    sids = [call_sid(), call_sid()]
    with session_scope(engine) as session:
        for sid in sids:
            session.add(Call(call_sid=sid, customer_id=customers["seocho"]))
    first = _open(engine, world, customers["seocho"], call_sid=sids[0])
    with session_scope(engine) as session:
        again = open_complaint(
            session, viewer(world, "agent.hq"), create(customers["seocho"], call_sid=sids[1]), now=NOW
        )
    assert again.repeat and again.complaint.id == first.id and again.complaint.repeats == 1
    other_topic = _open(engine, world, customers["seocho"], topic="complaint.billing", category="maintenance")
    assert other_topic.id != first.id
    with Session(engine) as session:
        assert complaint_public(session, session.get(Complaint, first.id)).calls == sids
        actions = [s.action for s in dossier(session, CLI, first.id)]  # type: ignore[arg-type]
    assert actions == ["receipt", "repeat"]


def _walk_to(engine: Any, world: World, complaint_id: int, last: str) -> None:
    path = [
        ("operator.seocho", "verification", VERIFY),
        ("operator.seocho", "registration", REGISTER),
        ("center_manager.seocho", "transfer", {"to_unit_id": world.units["SEOUL-GANGNAM"], "department": OWNER,
                                                "reason": "보상 지연은 시 지점 보상부 소관"}),
        ("operator.gangnam", "coordination", COORDINATE),
        ("center_manager.gangnam", "handling", HANDLE),
        ("agent.gangnam", "feedback", SATISFIED),
        ("operator.gangnam", "close", {"note": "고객 만족"}),
    ]  # fmt: skip
    for who, action, form in path:
        _step(engine, world, who, complaint_id, action, form)
        if action == last:
            return


def test_the_seven_steps_to_closed_each_in_the_dossier_and_the_audit_trail(
    engine: Any, world: World, customers: Any
) -> None:
    complaint = _open(engine, world, customers["seocho"])
    _step(engine, world, "agent.seocho", complaint.id, "acknowledgement",
          {"handler_name": "김상담", "handler_phone": "1588-1234"})  # fmt: skip
    _walk_to(engine, world, complaint.id, "close")  # type: ignore[arg-type]
    with Session(engine) as session:
        done = session.get(Complaint, complaint.id)
        assert done is not None and done.state == "closed" and done.closed_at == NOW
        assert done.org_unit_id == world.units["SEOUL-GANGNAM"] and done.department == OWNER
        steps = dossier(session, CLI, complaint.id)  # type: ignore[arg-type]
        audit = session.exec(
            select(AuditEntry).where(col(AuditEntry.target) == f"complaint:{complaint.id}").order_by(col(AuditEntry.id))
        ).all()
    assert [(s.action, s.to_state) for s in steps] == [
        ("receipt", "receipt"), ("acknowledgement", "receipt"), ("verification", "verification"),
        ("registration", "registration"), ("transfer", "transfer"), ("coordination", "coordination"),
        ("handling", "handling"), ("feedback", "feedback"), ("close", "closed"),
    ]  # fmt: skip
    assert steps[6].form["amount"] == 1_250_000 and steps[6].username == "center_manager.gangnam"
    assert [a.action for a in audit] == [f"complaint.{s.action}" for s in steps]
    assert all(a.customer_id == customers["seocho"] for a in audit)


@pytest.mark.parametrize(
    ("state", "action"),
    [("receipt", "handling"), ("receipt", "close"), ("receipt", "reopen"), ("verification", "verification"),
     ("handling", "close"), ("closed", "feedback"), ("closed", "extension"), ("registration", "handling")],
)  # fmt: skip
def test_illegal_transitions_are_refused_naming_what_may_follow(state: str, action: str) -> None:
    with pytest.raises(IllegalTransition) as refused:
        check_transition(state, action)
    assert f"{action} cannot follow {state}" in refused.value.fields["state"]


def test_an_illegal_step_changes_nothing(engine: Any, world: World, customers: Any) -> None:
    complaint = _open(engine, world, customers["seocho"])
    with pytest.raises(IllegalTransition):
        _step(engine, world, "center_manager.seocho", complaint.id, "handling", HANDLE)  # type: ignore[arg-type]
    with Session(engine) as session:
        assert session.get(Complaint, complaint.id).state == "receipt"  # type: ignore[union-attr]
        assert [s.action for s in dossier(session, CLI, complaint.id)] == ["receipt"]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("who", "action", "form"),
    [("agent.seocho", "verification", VERIFY), ("surveyor.seocho", "verification", VERIFY),
     ("admin.seocho", "verification", VERIFY), ("dispatcher.seocho", "acknowledgement",
                                                   {"handler_name": "x", "handler_phone": "1588"})],
)  # fmt: skip
def test_roles_that_may_not_take_a_step_are_refused(
    engine: Any, world: World, customers: Any, who: str, action: str, form: dict[str, Any]
) -> None:
    complaint = _open(engine, world, customers["seocho"])
    with pytest.raises(NotAllowed, match=f"may not take the {action} step"):
        _step(engine, world, who, complaint.id, action, form)  # type: ignore[arg-type]


def test_handling_takes_a_manager_and_outside_staff_do_not_see_the_complaint(
    engine: Any, world: World, customers: Any
) -> None:
    complaint = _open(engine, world, customers["seocho"])
    _walk_to(engine, world, complaint.id, "coordination")  # type: ignore[arg-type]
    with pytest.raises(NotAllowed):
        _step(engine, world, "operator.gangnam", complaint.id, "handling", HANDLE)  # type: ignore[arg-type]
    # Busan's operators, and 서초 below the unit it was transferred to, see no such complaint.
    for outsider in ("operator.busan", "operator.seocho"):
        with pytest.raises(ComplaintNotFound), Session(engine) as session:
            get_complaint(session, viewer(world, outsider), complaint.id)  # type: ignore[arg-type]
    # The head office sees it and may handle it.
    _step(engine, world, "center_manager.hq", complaint.id, "handling", HANDLE)  # type: ignore[arg-type]


def test_an_fss_referral_is_owned_and_handled_at_the_province_or_above(
    engine: Any, world: World, customers: Any
) -> None:
    complaint = _open(engine, world, customers["seocho"], channel="fss", fss_reference="FSS-2026-77")
    assert complaint.org_unit_id == world.units["SEOUL"]
    assert complaint.mediation_by is not None
    with session_scope(engine) as session:
        complaint = session.get(Complaint, complaint.id)  # type: ignore[assignment]
        complaint.state = "coordination"  # arranged: straight to the step in question
        session.add(complaint)
    with pytest.raises(ComplaintNotFound):  # the city branch does not see a province's complaint
        _step(engine, world, "center_manager.gangnam", complaint.id, "handling", HANDLE)  # type: ignore[arg-type]
    _step(engine, world, "center_manager.seoul", complaint.id, "handling", HANDLE)  # type: ignore[arg-type]
    with pytest.raises(IllegalTransition, match="no extension"):
        _step(engine, world, "center_manager.seoul", complaint.id, "extension",  # type: ignore[arg-type]
              {"reason": "자료 보완", "notice_via": "letter"})  # fmt: skip


def test_a_county_manager_may_not_handle_an_fss_referral_transferred_down(
    engine: Any, world: World, customers: Any
) -> None:
    complaint = _open(engine, world, customers["seocho"], channel="fss")
    with session_scope(engine) as session:
        row = session.get(Complaint, complaint.id)
        assert row is not None
        row.state, row.org_unit_id = "coordination", world.units["SEOUL-GANGNAM-SEOCHO"]
        session.add(row)
    with pytest.raises(NotAllowed, match="level 1 or above"):
        _step(engine, world, "center_manager.seocho", complaint.id, "handling", HANDLE)  # type: ignore[arg-type]


def test_forms_require_their_fields(engine: Any, world: World, customers: Any) -> None:
    complaint = _open(engine, world, customers["seocho"])
    with pytest.raises(ValidationError, match="facts"):
        _step(engine, world, "operator.seocho", complaint.id, "verification", {"policy_number": "AU-1"})  # type: ignore[arg-type]
    _walk_to(engine, world, complaint.id, "registration")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="reason"):
        _step(engine, world, "center_manager.seocho", complaint.id, "transfer",  # type: ignore[arg-type]
              {"to_unit_id": world.units["SEOUL"], "department": OWNER})  # fmt: skip
    with pytest.raises(InvalidInput) as refused:  # Busan is outside 서초's part and not above it
        _step(engine, world, "center_manager.seocho", complaint.id, "transfer",  # type: ignore[arg-type]
              {"to_unit_id": world.units["BUSAN"], "department": OWNER, "reason": "x"})  # fmt: skip
    assert "outside your part" in refused.value.fields["to_unit_id"]
    _step(engine, world, "center_manager.seocho", complaint.id, "transfer",  # type: ignore[arg-type]
          {"to_unit_id": world.units["SEOUL-GANGNAM"], "department": OWNER, "reason": "소관"})  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        _step(engine, world, "operator.gangnam", complaint.id, "coordination",  # type: ignore[arg-type]
              {**COORDINATE, "subtasks": [{"what": "지급 결재", "owner": "nobody.gangnam"}]})  # fmt: skip
    assert "nobody.gangnam" in refused.value.fields["subtasks"]


def test_one_extension_with_a_reason(engine: Any, world: World, customers: Any) -> None:
    complaint = _open(engine, world, customers["seocho"])
    extended = _step(engine, world, "center_manager.seocho", complaint.id, "extension",  # type: ignore[arg-type]
                     {"reason": "외부 손해사정 결과 대기", "notice_via": "sms"})  # fmt: skip
    # 15 Oct 2026 + 10 business days (한글날 already behind): 29 October.
    assert extended.resolve_by.date().isoformat() == "2026-10-29" and extended.extensions == 1
    with pytest.raises(IllegalTransition, match="already extended"):
        _step(engine, world, "center_manager.seocho", complaint.id, "extension",  # type: ignore[arg-type]
              {"reason": "다시", "notice_via": "sms"})  # fmt: skip
    with pytest.raises(NotAllowed):
        _step(engine, world, "operator.seocho", complaint.id, "extension",  # type: ignore[arg-type]
              {"reason": "x", "notice_via": "sms"})  # fmt: skip


def test_a_disputed_outcome_cannot_be_closed_and_is_reopened(engine: Any, world: World, customers: Any) -> None:
    complaint = _open(engine, world, customers["seocho"])
    _walk_to(engine, world, complaint.id, "handling")  # type: ignore[arg-type]
    _step(engine, world, "agent.gangnam", complaint.id, "feedback",  # type: ignore[arg-type]
          {"method": "callback", "satisfaction": 1, "disputed": True})  # fmt: skip
    with pytest.raises(IllegalTransition, match="disputed"):
        _step(engine, world, "operator.gangnam", complaint.id, "close", {})  # type: ignore[arg-type]
    reopened = _step(engine, world, "agent.gangnam", complaint.id, "reopen", {"reason": "지연 이자 계산 이의"})  # type: ignore[arg-type]
    assert reopened.state == "reopened" and reopened.reopened == 1
    _step(engine, world, "center_manager.gangnam", complaint.id, "handling", HANDLE)  # type: ignore[arg-type]


def test_a_closed_complaint_makes_way_for_a_new_one_on_the_same_topic(
    engine: Any, world: World, customers: Any
) -> None:
    complaint = _open(engine, world, customers["seocho"])
    _walk_to(engine, world, complaint.id, "close")  # type: ignore[arg-type]
    later = _open(engine, world, customers["seocho"])
    assert later.id != complaint.id and later.number == "C-2026-000002"
    with pytest.raises(IllegalTransition, match="another complaint on this topic is open"):
        _step(engine, world, "agent.gangnam", complaint.id, "reopen", {"reason": "이의"})  # type: ignore[arg-type]


def test_opening_is_refused_for_customers_out_of_sight_unknown_topics_and_future_receipt(
    engine: Any, world: World, customers: Any
) -> None:
    with pytest.raises(CustomerNotFound):
        _open(engine, world, customers["haeundae"], who="agent.seocho")
    with pytest.raises(InvalidInput):
        _open(engine, world, customers["seocho"], topic="complaint.weather")
    with pytest.raises(InvalidInput):
        _open(engine, world, customers["seocho"], received_at=NOW + timedelta(hours=1))
    with pytest.raises(NotAllowed, match="may not open complaints"):
        _open(engine, world, customers["seocho"], who="surveyor.seocho")
    with pytest.raises(ValidationError):
        create(customers["seocho"], channel="fax")


def test_the_dossier_is_append_only(engine: Any, world: World, customers: Any) -> None:
    _open(engine, world, customers["seocho"])
    with Session(engine) as session:
        for statement in ("UPDATE complaint_step SET username = 'x'", "DELETE FROM complaint_step"):
            with pytest.raises(DatabaseError, match="append-only"):
                session.exec(text(statement))  # type: ignore[call-overload]
            session.rollback()


def test_a_call_classified_as_a_complaint_opens_one_once(engine: Any, world: World, customers: Any) -> None:
    sid, inquiry, unknown = call_sid(), call_sid(), call_sid()
    with session_scope(engine) as session:
        session.add(Call(call_sid=sid, customer_id=customers["seocho"], type="complaint", topic="complaint.billing",
                         transcript="자동이체가 두 번 출금됐어요", started_at=RECEIVED))  # fmt: skip
        session.add(Call(call_sid=inquiry, customer_id=customers["seocho"], type="inquiry", topic="inquiry.coverage"))
        session.add(Call(call_sid=unknown, type="complaint", topic="complaint.billing"))
    with session_scope(engine) as session:
        opened = open_complaint_from_call(session, sid, now=NOW)
        assert opened is not None and not opened.repeat
        assert open_complaint_from_call(session, inquiry, now=NOW) is None
        assert open_complaint_from_call(session, unknown, now=NOW) is None
    with session_scope(engine) as session:
        again = open_complaint_from_call(session, sid, now=NOW)  # a rerun of the job
        assert again is not None and again.complaint.id == opened.complaint.id
        shown = complaint_public(session, again.complaint)
    assert shown.category == "maintenance" and shown.channel == "call" and shown.calls == [sid]
    assert shown.summary == "자동이체가 두 번 출금됐어요" and shown.received_at == RECEIVED.isoformat()


def test_the_agent_s_form_acknowledges_at_once(engine: Any, world: World, customers: Any) -> None:
    told = {"handler_name": "김상담", "handler_phone": "1588-1234", "via": "call"}
    complaint = _open(engine, world, customers["seocho"], acknowledgement=told)
    assert complaint.acknowledged_at == NOW
    with pytest.raises(IllegalTransition, match="already acknowledged"):
        _step(engine, world, "agent.seocho", complaint.id, "acknowledgement", told)  # type: ignore[arg-type]
    with Session(engine) as session:
        [receipt] = dossier(session, CLI, complaint.id)  # type: ignore[arg-type]
    assert receipt.form["acknowledgement"]["handler_name"] == "김상담"


def test_the_queue_lists_complaints_in_the_viewer_s_scope_and_the_overdue_ones(
    engine: Any, world: World, customers: Any
) -> None:
    seocho = _open(engine, world, customers["seocho"])
    told = {"handler_name": "김상담", "handler_phone": "1588-1234"}
    acknowledged = _open(engine, world, customers["seocho2"], acknowledgement=told)
    busan = _open(engine, world, customers["haeundae"], who="agent.hq")
    # Tuesday morning: the first was not acknowledged on Monday; the other's verification is due by Tuesday night.
    tuesday = RECEIVED + timedelta(days=1)

    def ids(who: str, **wanted: Any) -> list[int]:
        with Session(engine) as session:
            return [c.id for c in session.exec(complaints_query(viewer(world, who), now=tuesday, **wanted)).all()]

    assert ids("operator.seocho") == [seocho.id, acknowledged.id]
    assert ids("operator.seocho", overdue=True) == [seocho.id]
    assert ids("operator.busan") == [busan.id]
    assert sorted(ids("executive.hq")) == sorted([seocho.id, acknowledged.id, busan.id])
    assert ids("operator.seocho", state=State.VERIFICATION) == []
    with Session(engine) as session:
        assert complaint_public(session, session.get(Complaint, seocho.id), now=tuesday).overdue  # type: ignore[arg-type]
        assert not complaint_public(session, session.get(Complaint, acknowledged.id), now=tuesday).overdue  # type: ignore[arg-type]


async def test_the_gateway_runs_the_store_on_its_asynchronous_session(
    settings: Any, engine: Any, world: World, customers: Any
) -> None:
    async_engine = make_async_engine(settings.sync_db_url)
    try:
        async with async_session_scope(async_session_factory(async_engine)) as session:
            opened = await run_async(session, open_complaint, viewer(world, "agent.seocho"),
                                     create(customers["seocho"]), now=NOW)  # fmt: skip
            shown = await run_async(session, complaint_public, opened.complaint)
    finally:
        await async_engine.dispose()
    assert shown.number == "C-2026-000001"
    with Session(engine) as session:
        assert session.get(Complaint, shown.id) is not None
