"""Customer notices of complaints sent by the workers through Twilio's REST API (the stand-in of
gateway/twilio_stand_in.py): the receipt acknowledgement with the handler's name and number, the extension notice
with its reason, the feedback message with the decision; from the hotline number of the complaint's unit to the
customer's mobile; a failure Twilio may recover from is retried later with back-off, a refusal is given up; each
notice sent or given up is a dossier entry with the number masked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from crm_store.complaints.store import open_complaint, take_step
from crm_store.complaints.tables import ComplaintNotice, ComplaintStep
from crm_store.customers.tables import CustomerPhone
from crm_store.db import session_scope
from crm_store.org.scope import CommandLine
from gateway.twilio_stand_in import TwilioStandIn
from telephony.twilio_rest import TwilioRest
from tests.complaint_helpers import RECEIVED, add_customer, create, viewer
from tests.review_helpers import World, build_world
from workers.complaint_jobs import send_notices

ACCOUNT, TOKEN = "AC" + "1" * 32, "t" * 32
NOW = RECEIVED + timedelta(minutes=5)
MOBILE = "+821055501234"
ACK = {"handler_name": "김담당", "handler_phone": "02-555-1234", "via": "sms"}


@pytest.fixture
async def stand_in() -> AsyncIterator[TwilioStandIn]:
    twilio = TwilioStandIn(ACCOUNT, TOKEN)
    await twilio.start()
    yield twilio
    await twilio.stop()


def _opened(engine: Any, world: World, **fields: Any) -> int:
    with session_scope(engine) as session:
        customer = add_customer(session, world, "SEOUL-GANGNAM-SEOCHO")
        session.add(CustomerPhone(customer_id=customer, e164=MOBILE))
        session.flush()
        opened = open_complaint(session, CommandLine(username="root"), create(customer, **fields), now=NOW)
        return int(opened.complaint.id or 0)


async def _send(engine: Any, stand_in: TwilioStandIn, at: Any) -> dict[str, int]:
    client = TwilioRest(account_sid=ACCOUNT, auth_token=TOKEN, base_url=stand_in.base_url)
    try:  # the blocking client in a thread, as a worker runs it; the stand-in on this loop
        return await asyncio.to_thread(send_notices, engine, client, now=at)
    finally:
        client.close()


def _entries(engine: Any, complaint_id: int, action: str) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        query = select(ComplaintStep).where(col(ComplaintStep.complaint_id) == complaint_id)
        return [e.form for e in session.exec(query.order_by(col(ComplaintStep.id))).all() if e.action == action]


async def test_the_receipt_acknowledgement_goes_by_text_with_the_handler(engine: Any, stand_in: TwilioStandIn) -> None:
    world = build_world(engine)
    complaint_id = _opened(engine, world, acknowledgement=ACK)
    assert await _send(engine, stand_in, NOW) == {"sent": 1, "retry": 0, "failed": 0}
    (message,) = stand_in.messages
    assert message["to"] == MOBILE and message["from"] == "+8225551000"  # 강남 지점's number serves 서초
    assert "김담당" in message["body"] and "02-555-1234" in message["body"] and "C-2026-000001" in message["body"]
    (entry,) = _entries(engine, complaint_id, "notice")
    assert entry["kind"] == "receipt" and entry["status"] == "sent" and entry["message_sid"] == message["sid"]
    assert MOBILE not in str(entry) and entry["to"].endswith("1234")
    assert await _send(engine, stand_in, NOW + timedelta(hours=1)) == {"sent": 0, "retry": 0, "failed": 0}


async def test_a_failed_send_is_retried_later_and_a_refusal_given_up(engine: Any, stand_in: TwilioStandIn) -> None:
    world = build_world(engine)
    complaint_id = _opened(engine, world)
    cm = viewer(world, "center_manager.seocho")
    with session_scope(engine) as session:
        take_step(session, cm, complaint_id, "extension", {"reason": "외부 감정 대기", "notice_via": "sms"}, now=NOW)
    stand_in.fail_next(503, code=20503, message="Service Unavailable")
    assert await _send(engine, stand_in, NOW) == {"sent": 0, "retry": 1, "failed": 0}
    assert stand_in.messages == [] and _entries(engine, complaint_id, "notice") == []
    assert await _send(engine, stand_in, NOW + timedelta(seconds=30)) == {"sent": 0, "retry": 0, "failed": 0}
    assert await _send(engine, stand_in, NOW + timedelta(seconds=61)) == {"sent": 1, "retry": 0, "failed": 0}
    (message,) = stand_in.messages
    assert "외부 감정 대기" in message["body"] and "연장" in message["body"]
    (entry,) = _entries(engine, complaint_id, "notice")
    assert (entry["kind"], entry["status"], entry["attempts"]) == ("extension", "sent", 2)

    # The feedback message carries the decision; Twilio refusing it (a bad number) is not tried again.
    steps = [
        ("operator.seocho", "verification", {"facts": "확인"}),
        ("operator.seocho", "registration", {"category": "claims_payment", "topic": "complaint.claim_delay",
                                             "severity": "normal"}),
        ("center_manager.seocho", "transfer", {"to_unit_id": world.units["SEOUL-GANGNAM-SEOCHO"],
                                               "department": "customer_management", "reason": "자체 처리"}),
        ("center_manager.seocho", "coordination", {"department": "customer_management", "comment": "동의",
                                                   "agreed": True}),
        ("center_manager.seocho", "handling", {"decision": "지연 이자 포함 지급", "upheld": True}),
        ("operator.seocho", "feedback", {"method": "message", "satisfaction": 4}),
    ]  # fmt: skip
    with session_scope(engine) as session:
        for who, action, form in steps:
            take_step(session, viewer(world, who), complaint_id, action, form, now=NOW)
        pending = session.exec(select(ComplaintNotice).where(col(ComplaintNotice.status) == "pending")).one()
        assert pending.kind == "feedback" and "지연 이자 포함 지급" in pending.body
    stand_in.fail_next(400, code=21211, message="Invalid 'To' Phone Number")
    assert await _send(engine, stand_in, NOW + timedelta(minutes=5)) == {"sent": 0, "retry": 0, "failed": 1}
    failed = _entries(engine, complaint_id, "notice")[-1]
    assert (failed["kind"], failed["status"]) == ("feedback", "failed") and "21211" not in failed.get("message_sid", "")
    assert await _send(engine, stand_in, NOW + timedelta(days=1)) == {"sent": 0, "retry": 0, "failed": 0}
