"""The workers' side of complaints: a call classified as a complaint opens one (once, whatever reruns), and the
periodic escalation job moves overdue complaints up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from crm_store.calendar import KST
from crm_store.calls.tables import Call
from crm_store.complaints.store import open_complaint
from crm_store.complaints.tables import Complaint, ComplaintCall
from crm_store.db import session_scope
from tests.complaint_helpers import RECEIVED, add_customer, create, viewer
from tests.review_helpers import build_world, call_sid
from workers import jobs
from workers.periodic import escalate_complaints

ANGRY = "몇 번째 전화하는 건지 모르겠어요 보험금 아직도 안 나왔어요 금감원에 민원 넣겠습니다"


def test_a_call_classified_as_a_complaint_opens_one_once(context: Any) -> None:
    world = build_world(context.engine)
    sid = call_sid()
    with session_scope(context.engine) as session:
        customer = add_customer(session, world, "SEOUL-GANGNAM-SEOCHO")
        session.add(Call(call_sid=sid, customer_id=customer, transcript=ANGRY, pipeline_state="transcribed",
                         started_at=RECEIVED))  # fmt: skip
    jobs.classify_call(sid)
    jobs.classify_call(sid)  # a rerun (a re-transcription classifies again)
    with Session(context.engine) as session:
        call = session.exec(select(Call).where(col(Call.call_sid) == sid)).one()
        assert call.type == "complaint"
        [complaint] = session.exec(select(Complaint)).all()
        links = session.exec(select(col(ComplaintCall.call_sid))).all()
    assert (complaint.customer_id, complaint.channel, complaint.state) == (customer, "call", "receipt")
    assert complaint.received_at == RECEIVED and complaint.number == "C-2026-000001"
    assert complaint.topic == call.topic and links == [sid]


def test_the_escalation_job_moves_overdue_complaints_up(context: Any) -> None:
    world = build_world(context.engine)
    with session_scope(context.engine) as session:
        customer = add_customer(session, world, "SEOUL-GANGNAM-SEOCHO")
        opened = open_complaint(session, viewer(world, "agent.seocho"), create(customer), now=RECEIVED)
    assert escalate_complaints(datetime(2026, 9, 21, 12, 0, tzinfo=KST).isoformat()) == []
    assert escalate_complaints(datetime(2026, 9, 22, 9, 0, tzinfo=KST).isoformat()) == [opened.complaint.id]
    with Session(context.engine) as session:
        moved = session.get(Complaint, opened.complaint.id)
        assert moved is not None and moved.org_unit_id == world.units["SEOUL-GANGNAM"]
