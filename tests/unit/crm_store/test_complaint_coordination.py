"""Complaints' departments, coordination and follow-up in the store (SQLite): a transfer goes only to a department the
unit has; handling waits until every department agrees and every sub-task is done; sub-tasks are marked by their
owner or a supervisor, not on a closed complaint, each change in the dossier; reminders come once per limit, before it
falls due (a fixed clock); corrective actions are followed in order by those who may; the archive's filters; notices
are written with their step, only when the customer is told by text."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from crm_store.complaints.coordination import (
    DepartmentCreate,
    SubtaskMark,
    add_department,
    departments_of,
    subtasks_of,
)
from crm_store.complaints.escalation import remind_due_soon
from crm_store.complaints.followup import ActionCreate, ActionUpdate, add_action, follow_action
from crm_store.complaints.steps import IllegalTransition
from crm_store.complaints.store import complaints_query, open_complaint, take_step
from crm_store.complaints.subtasks import mark_subtask
from crm_store.complaints.tables import Complaint, ComplaintNotice, ComplaintStep
from crm_store.customers.tables import CustomerPhone
from crm_store.db import session_scope
from crm_store.errors import NotFound
from crm_store.org.scope import CommandLine
from crm_store.validation import Conflict, InvalidInput, NotAllowed
from tests.complaint_helpers import RECEIVED, add_customer, create, viewer
from tests.review_helpers import World, build_world

NOW = RECEIVED + timedelta(minutes=5)
CLI = CommandLine(username="root")
CM = "center_manager.gangnam"


@pytest.fixture
def world(engine: Any) -> World:
    world = build_world(engine)
    with session_scope(engine) as session:
        add_department(session, CLI, DepartmentCreate(org_unit_id=world.units["SEOUL-GANGNAM"], code="claims",
                                                      name="보상부"), now=NOW)  # fmt: skip
    return world


@pytest.fixture
def complaint_id(engine: Any, world: World) -> int:
    """A complaint of a 서초 customer (with a mobile number), registered and transferred to 강남's 보상부."""
    with session_scope(engine) as session:
        customer = add_customer(session, world, "SEOUL-GANGNAM-SEOCHO")
        session.add(CustomerPhone(customer_id=customer, e164="+821055501234"))
        opened = open_complaint(session, CLI, create(customer), now=NOW).complaint
        assert opened.id is not None
        steps = [
            ("operator.seocho", "verification", {"facts": "지급 지연 확인"}),
            ("operator.seocho", "registration", {"category": "claims_payment", "topic": "complaint.claim_delay",
                                                 "severity": "high"}),
            ("center_manager.seocho", "transfer", {"to_unit_id": world.units["SEOUL-GANGNAM"], "department": "claims",
                                                   "reason": "보상 담당 부서 소관"}),
        ]  # fmt: skip
        for who, action, form in steps:
            take_step(session, viewer(world, who), opened.id, action, form, now=NOW)
        return opened.id


def _step(engine: Any, world: World, who: str, complaint_id: int, action: str, form: dict[str, Any]) -> Complaint:
    with session_scope(engine) as session:
        return take_step(session, viewer(world, who), complaint_id, action, form, now=NOW)


def _dossier(engine: Any, complaint_id: int) -> list[ComplaintStep]:
    with session_scope(engine) as session:
        query = select(ComplaintStep).where(col(ComplaintStep.complaint_id) == complaint_id)
        return list(session.exec(query.order_by(col(ComplaintStep.id))).all())


def test_departments_are_data_and_a_transfer_names_one_the_unit_has(
    engine: Any, world: World, complaint_id: int
) -> None:
    with session_scope(engine) as session:
        gangnam = departments_of(session, [world.units["SEOUL-GANGNAM"]])
        seoul = departments_of(session, [world.units["SEOUL"]])
        stored = session.get(Complaint, complaint_id)
        assert stored is not None and stored.department == "claims"
    assert [(d.code, d.name, d.owns_complaints) for d in gangnam] == [
        ("customer_management", "고객관리부", True), ("claims", "보상부", False)]  # fmt: skip
    assert [d.code for d in seoul] == ["customer_management"]  # every level has the owner
    with pytest.raises(InvalidInput) as refused:  # Seoul has no claims department
        _step(engine, world, CM, complaint_id, "transfer",
              {"to_unit_id": world.units["SEOUL"], "department": "claims", "reason": "상향"})  # fmt: skip
    assert "claims" in refused.value.fields["department"]
    upward = {"to_unit_id": world.units["SEOUL"], "department": "customer_management", "reason": "본부 처리"}
    done = _step(engine, world, CM, complaint_id, "transfer", upward)
    assert (done.org_unit_id, done.department) == (world.units["SEOUL"], "customer_management")
    # Who adds departments: a center manager in scope, not an operator, not beyond their part.
    with session_scope(engine) as session, pytest.raises(NotAllowed):
        add_department(session, viewer(world, "operator.gangnam"), DepartmentCreate(
            org_unit_id=world.units["SEOUL-GANGNAM"], code="sales", name="영업부"), now=NOW)  # fmt: skip
    with session_scope(engine) as session, pytest.raises(InvalidInput):
        add_department(session, viewer(world, CM), DepartmentCreate(
            org_unit_id=world.units["BUSAN"], code="sales", name="영업부"), now=NOW)  # fmt: skip
    with session_scope(engine) as session, pytest.raises(Conflict):
        add_department(session, viewer(world, "center_manager.seoul"), DepartmentCreate(
            org_unit_id=world.units["SEOUL-GANGNAM"], code="claims", name="보상2부"), now=NOW)  # fmt: skip


def test_handling_waits_for_every_department_and_sub_task(engine: Any, world: World, complaint_id: int) -> None:
    due = (NOW + timedelta(days=3)).isoformat()
    _step(engine, world, "operator.gangnam", complaint_id, "coordination", {
        "department": "claims", "comment": "지급 결재 필요", "agreed": True,
        "subtasks": [{"what": "지급 결재", "owner": "account_manager.gangnam", "due": due}]})  # fmt: skip
    _step(engine, world, CM, complaint_id, "coordination",
          {"department": "customer_management", "comment": "금액 이견", "agreed": False})  # fmt: skip
    with pytest.raises(InvalidInput):  # a department the complaint's unit does not have
        _step(engine, world, CM, complaint_id, "coordination", {"department": "sales", "comment": "x", "agreed": True})
    handle = {"decision": "지연 이자 포함 지급", "upheld": True}
    with pytest.raises(IllegalTransition) as refused:
        _step(engine, world, CM, complaint_id, "handling", handle)
    assert set(refused.value.fields) == {"agreed", "subtasks"}
    _step(engine, world, CM, complaint_id, "coordination",
          {"department": "customer_management", "comment": "금액 합의", "agreed": True})  # fmt: skip
    with pytest.raises(IllegalTransition) as refused:
        _step(engine, world, CM, complaint_id, "handling", handle)
    assert set(refused.value.fields) == {"subtasks"}

    with session_scope(engine) as session:
        (task,) = subtasks_of(session, complaint_id)
    assert (task.owner, task.department, task.done_at) == ("account_manager.gangnam", "claims", None)
    assert task.due_at == "2026-09-24T10:05:00+09:00"
    mark = SubtaskMark(done=True, note="결재 완료")
    with session_scope(engine) as session, pytest.raises(NotAllowed):  # neither its owner nor a supervisor
        mark_subtask(session, viewer(world, "operator.gangnam"), complaint_id, task.id, mark, now=NOW)
    with session_scope(engine) as session, pytest.raises(NotFound):  # outside their part of the organisation
        mark_subtask(session, viewer(world, "operator.busan"), complaint_id, task.id, mark, now=NOW)
    with session_scope(engine) as session:
        mark_subtask(session, viewer(world, "account_manager.gangnam"), complaint_id, task.id, mark, now=NOW)
    with session_scope(engine) as session, pytest.raises(Conflict):  # already done
        mark_subtask(session, viewer(world, CM), complaint_id, task.id, mark, now=NOW)
    with session_scope(engine) as session:  # a supervisor undoes it, then the owner does it again
        mark_subtask(session, viewer(world, CM), complaint_id, task.id, SubtaskMark(done=False), now=NOW)
        mark_subtask(session, viewer(world, "account_manager.gangnam"), complaint_id, task.id, mark, now=NOW)
    done = _step(engine, world, CM, complaint_id, "handling", handle)
    assert done.state == "handling"
    actions = [entry.action for entry in _dossier(engine, complaint_id)]
    assert actions[-5:] == ["coordination", "subtask_done", "subtask_undone", "subtask_done", "handling"]
    entry = next(e for e in _dossier(engine, complaint_id) if e.action == "subtask_undone")
    assert entry.username == CM and entry.form["subtask_id"] == task.id and entry.form["done"] is False


def test_notices_are_written_with_their_step_only_when_told_by_text(
    engine: Any, world: World, complaint_id: int
) -> None:
    _step(engine, world, CM, complaint_id, "acknowledgement",
          {"handler_name": "김담당", "handler_phone": "02-555-1234", "via": "call"})  # fmt: skip
    _step(engine, world, CM, complaint_id, "extension", {"reason": "외부 손해사정 결과 대기", "notice_via": "sms"})
    with session_scope(engine) as session:
        notices = session.exec(select(ComplaintNotice)).all()
    assert [(n.kind, n.to_phone, n.status) for n in notices] == [("extension", "+821055501234", "pending")]
    assert "외부 손해사정 결과 대기" in notices[0].body and "C-2026-" in notices[0].body


def test_reminders_come_once_before_a_limit_falls_due(engine: Any, world: World, complaint_id: int) -> None:
    _step(
        engine, world, CM, complaint_id, "acknowledgement", {"handler_name": "김담당", "handler_phone": "02-555-1234"}
    )
    with session_scope(engine) as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        step_due = complaint.step_due_at
    early = step_due - timedelta(days=10)
    with session_scope(engine) as session:
        assert remind_due_soon(session, now=early) == []  # not near yet
    near = step_due - timedelta(hours=20)
    with session_scope(engine) as session:
        assert remind_due_soon(session, now=near) == [complaint_id]
    with session_scope(engine) as session:
        assert remind_due_soon(session, now=near + timedelta(hours=1)) == []  # once per limit
    with session_scope(engine) as session:
        assert remind_due_soon(session, now=step_due + timedelta(hours=1)) == []  # overdue: escalation's, not this
    (reminder,) = [e for e in _dossier(engine, complaint_id) if e.action == "reminder"]
    assert reminder.username == "workers" and reminder.form["limit"] in ("step_due_at", "resolve_by")


def test_corrective_actions_are_followed_in_order_by_those_who_may(engine: Any, world: World) -> None:
    data = ActionCreate(
        month="2026-09", org_unit_id=world.units["SEOUL-GANGNAM"], finding="보상 지연 민원 급증",
        what="보상 담당 인력 보강", owner="account_manager.gangnam", due_date=date(2026, 11, 30),
    )  # fmt: skip
    with session_scope(engine) as session, pytest.raises(NotAllowed):
        add_action(session, viewer(world, "operator.gangnam"), data, now=NOW)
    with session_scope(engine) as session, pytest.raises(InvalidInput):
        add_action(session, viewer(world, "center_manager.seocho"), data, now=NOW)  # above their part
    with session_scope(engine) as session:
        action_id = int(add_action(session, viewer(world, CM), data, now=NOW).id or 0)

    def follow(who: str, event: str) -> None:
        with session_scope(engine) as session:
            follow_action(session, viewer(world, who), action_id, ActionUpdate(event=event, note="기록"), now=NOW)

    with pytest.raises(Conflict):
        follow(CM, "effect_checked")  # not done yet
    with pytest.raises(NotAllowed):
        follow("agent.gangnam", "done")  # not its owner
    with pytest.raises(NotFound):
        follow("operator.busan", "done")
    follow("account_manager.gangnam", "done")
    with pytest.raises(NotAllowed):
        follow("account_manager.gangnam", "effect_checked")  # the owner does not judge its own effect
    with pytest.raises(Conflict):
        follow(CM, "closed")  # effect not checked
    follow(CM, "effect_checked")
    follow("center_manager.seoul", "closed")
    with pytest.raises(Conflict):
        follow(CM, "done")


def test_the_archive_finds_by_customer_department_and_period(engine: Any, world: World, complaint_id: int) -> None:
    head = viewer(world, "center_manager.seoul")

    def found(**filters: Any) -> list[int]:
        with session_scope(engine) as session:
            return [c.id for c in session.exec(complaints_query(head, now=NOW, **filters)).all()]  # type: ignore[misc]

    with session_scope(engine) as session:
        customer = session.get(Complaint, complaint_id).customer_id  # type: ignore[union-attr]
    assert found(department="claims") == [complaint_id] and found(department="sales") == []
    assert found(customer="최민") == [complaint_id] and found(customer="김") == []
    assert found(customer=str(customer)) == [complaint_id]
    day = datetime(2026, 9, 21, tzinfo=RECEIVED.tzinfo)
    assert found(received=(day, day + timedelta(days=1))) == [complaint_id]
    assert found(received=(day + timedelta(days=1), None)) == []
