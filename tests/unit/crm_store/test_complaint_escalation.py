"""Overdue complaints listed and moved up the organisation, one level per pass and not again before the next
business day is over; a complaint at the head office stays listed there (fixed clock across 추석 2026)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlmodel import Session, col, select

from crm_store.audit import AuditEntry
from crm_store.calendar import KST
from crm_store.complaints.escalation import complaints_due_soon, escalate_overdue_complaints, overdue_complaints
from crm_store.complaints.store import dossier, open_complaint, take_step
from crm_store.complaints.tables import Complaint
from crm_store.db import session_scope
from crm_store.org.scope import CommandLine
from tests.complaint_helpers import RECEIVED, add_customer, create, viewer
from tests.review_helpers import World, build_world

CLI = CommandLine(username="root")


@pytest.fixture
def world(engine: Any) -> World:
    return build_world(engine)


def _escalate(engine: Any, now: datetime) -> list[int]:
    with session_scope(engine) as session:
        return escalate_overdue_complaints(session, now=now)


def _unit_of(engine: Any, complaint_id: int) -> int:
    with Session(engine) as session:
        complaint = session.get(Complaint, complaint_id)
        assert complaint is not None
        return complaint.org_unit_id


def test_an_unacknowledged_complaint_moves_up_once_per_business_day(engine: Any, world: World) -> None:
    with session_scope(engine) as session:
        late = open_complaint(
            session, viewer(world, "agent.seocho"), create(add_customer(session, world, "SEOUL-GANGNAM-SEOCHO")),
            now=RECEIVED,
        ).complaint  # fmt: skip
        on_time = open_complaint(
            session, viewer(world, "agent.seocho"), create(add_customer(session, world, "SEOUL-GANGNAM-SEOCHO")),
            now=RECEIVED,
        ).complaint  # fmt: skip
        take_step(session, viewer(world, "agent.seocho"), on_time.id, "acknowledgement",  # type: ignore[arg-type]
                  {"handler_name": "김상담", "handler_phone": "1588-1234"}, now=RECEIVED)  # fmt: skip
    assert late.id is not None and on_time.id is not None
    # Monday 21 Sep 2026, noon: nothing is late yet.
    assert _escalate(engine, datetime(2026, 9, 21, 12, 0, tzinfo=KST)) == []
    # Tuesday morning: the acknowledgement was due Monday. The acknowledged one's verification is due Tuesday.
    tuesday = datetime(2026, 9, 22, 9, 0, tzinfo=KST)
    assert _escalate(engine, tuesday) == [late.id]
    assert _unit_of(engine, late.id) == world.units["SEOUL-GANGNAM"]
    # Wednesday: moved up less than a business day ago, it stays; the other's verification was due Tuesday.
    assert _escalate(engine, datetime(2026, 9, 23, 10, 0, tzinfo=KST)) == [on_time.id]
    # Thursday 24 Sep (추석 전날), just after midnight: Wednesday is over, up to the province.
    thursday = datetime(2026, 9, 24, 0, 30, tzinfo=KST)
    # The other moved up on Wednesday waits until the next business day after it is over (Monday 28th, past 추석).
    assert _escalate(engine, thursday) == [late.id]
    assert _unit_of(engine, late.id) == world.units["SEOUL"]
    with Session(engine) as session:
        steps = [s for s in dossier(session, CLI, late.id) if s.action == "escalation"]
        assert [(s.form["from_unit_id"], s.form["to_unit_id"], s.form["missed"]) for s in steps] == [
            (world.units["SEOUL-GANGNAM-SEOCHO"], world.units["SEOUL-GANGNAM"], "acknowledge_by"),
            (world.units["SEOUL-GANGNAM"], world.units["SEOUL"], "acknowledge_by"),
        ]
        audit = session.exec(
            select(AuditEntry).where(
                col(AuditEntry.target) == f"complaint:{late.id}", col(AuditEntry.action) == "complaint.escalation"
            )
        ).all()
        assert [a.username for a in audit] == ["workers", "workers"]
        complaint = session.get(Complaint, late.id)
        assert complaint is not None and complaint.escalations == 2
        assert [c.id for c in overdue_complaints(session, now=thursday)] == [late.id, on_time.id]


def test_at_the_head_office_an_overdue_complaint_stays_listed(engine: Any, world: World) -> None:
    with session_scope(engine) as session:
        customer = add_customer(session, world, "HQ")
        complaint = open_complaint(session, viewer(world, "agent.hq"), create(customer), now=RECEIVED).complaint
    after = datetime(2026, 10, 16, 9, 0, tzinfo=KST)  # the resolve limit (15 Oct) has passed
    assert _escalate(engine, after) == []
    with Session(engine) as session:
        assert [c.id for c in overdue_complaints(session, now=after)] == [complaint.id]


def test_complaints_near_a_limit_are_listed_for_a_reminder(engine: Any, world: World) -> None:
    with session_scope(engine) as session:
        customer = add_customer(session, world, "SEOUL-GANGNAM-SEOCHO")
        told = {"handler_name": "김상담", "handler_phone": "1588-1234"}
        complaint = open_complaint(
            session, viewer(world, "agent.seocho"), create(customer, acknowledgement=told), now=RECEIVED
        ).complaint
        for action, form in (
            ("verification", {"facts": "확인"}),
            ("registration", {"category": "claims_payment", "severity": "normal"}),
        ):
            take_step(session, viewer(world, "operator.seocho"), complaint.id, action, form, now=RECEIVED)  # type: ignore[arg-type]  # fmt: skip
    # The transfer is due on the 3rd business day after receipt, Monday 28 Sep (추석 24-26 between).
    with Session(engine) as session:
        # Tuesday 22nd: two business days ahead are the 23rd and, past 추석 and the weekend, the 28th.
        assert [c.id for c in complaints_due_soon(session, now=datetime(2026, 9, 22, 9, 0, tzinfo=KST))] == [
            complaint.id
        ]
        # The horizon of Monday 21st ends on Wednesday 23rd: nothing yet.
        assert complaints_due_soon(session, now=datetime(2026, 9, 21, 11, 0, tzinfo=KST)) == []
        # Overdue (Tuesday 29th) is escalation's business, not a reminder's.
        assert complaints_due_soon(session, now=datetime(2026, 9, 29, 9, 0, tzinfo=KST)) == []
