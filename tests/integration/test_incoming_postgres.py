"""Incoming calls on PostgreSQL: grouped into one statement, each stored once, blacklist matched company-wide."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlmodel import Session, func, select

from crm_store.calls.incoming import IncomingCallWriter, incoming_call
from crm_store.calls.tables import Call, CallEvent, OutboxJob
from crm_store.customers.tables import BlacklistEntry, BlacklistKey, Customer, CustomerPhone, Vehicle
from crm_store.db import async_session_factory, make_async_engine, make_engine, session_scope
from crm_store.org.tables import OrgUnit
from crm_store.types import utcnow
from tests.twilio_helpers import call_sid
from workers.queueing import CALL_ALERTS

LISTED, CAR_OWNER, LISTED_UNKNOWN, STRANGER = "+821011110000", "+821022220000", "+821033330000", "+821044440000"
PROPOSED, REVOKED = "+821055550000", "+821066660000"  # keys of a pending proposal and of a revoked entry


def seed(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with session_scope(engine) as session:
        seoul = OrgUnit(code="SEL", name="서울지역본부", level=1, path="/")
        busan = OrgUnit(code="PUS", name="부산경남지역본부", level=1, path="/")
        session.add_all([seoul, busan])
        session.flush()
        listed = Customer(kind="individual", name="박정호", org_unit_id=busan.id, blacklisted=True)
        owner = Customer(kind="individual", name="이서연", org_unit_id=seoul.id, segment="key")
        session.add_all([listed, owner])
        session.flush()
        session.add_all(
            [
                CustomerPhone(customer_id=listed.id, e164=LISTED),
                CustomerPhone(customer_id=owner.id, e164=CAR_OWNER),
                Vehicle(customer_id=owner.id, plate="12가3456"),
            ]
        )
        now = utcnow()
        entry = BlacklistEntry(customer_id=listed.id, reason="보험사기 혐의", approved_at=now)
        proposal = BlacklistEntry(customer_id=listed.id, reason="제보 (승인 대기)")
        revoked = BlacklistEntry(customer_id=listed.id, reason="해제", approved_at=now, revoked_at=now)
        session.add_all([entry, proposal, revoked])
        session.flush()
        session.add_all(
            [
                BlacklistKey(entry_id=entry.id, kind="phone", value=LISTED),
                BlacklistKey(entry_id=entry.id, kind="phone", value=LISTED_UNKNOWN),
                BlacklistKey(entry_id=entry.id, kind="plate", value="12가3456"),
                BlacklistKey(entry_id=proposal.id, kind="phone", value=PROPOSED),
                BlacklistKey(entry_id=revoked.id, kind="phone", value=REVOKED),
            ]
        )
        ids = {"listed": int(listed.id), "owner": int(owner.id), "entry": int(entry.id)}  # type: ignore[arg-type]
    engine.dispose()
    return ids


def fields(caller: str) -> dict[str, Any]:
    return {
        "account_sid": "AC" + "0" * 32,
        "from_number": caller,
        "to_number": "+8215881234",
        "direction": "inbound",
        "status": "ringing",
    }


@pytest.mark.integration
async def test_concurrent_incoming_calls_are_grouped_and_each_stored_once(postgres_url: str) -> None:
    ids = seed(postgres_url)
    engine = make_async_engine(postgres_url)
    writer = IncomingCallWriter(engine, async_session_factory(engine), alert_job=CALL_ALERTS)
    sync = make_engine(postgres_url)
    status_first = call_sid()
    with session_scope(sync) as session:  # a status callback opened this call before the voice webhook
        session.add(Call(call_sid=status_first, status="completed", status_sequence=3, duration=40))
    try:
        callers = [LISTED, CAR_OWNER, LISTED_UNKNOWN, STRANGER, PROPOSED, REVOKED] * 5
        sids = [call_sid() for _ in callers]
        sids[-1] = status_first
        calls = [
            incoming_call(
                call_sid=sid,
                caller_e164=caller,
                call_fields=fields(caller),
                dedup_key=f"voice:{sid}:token",
                payload={"CallSid": sid, "From": caller},
            )
            for sid, caller in zip(sids, callers, strict=True)
        ]
        # a redelivery of the first webhook arrives in the same batch
        results = await asyncio.gather(*(writer.open(c) for c in [*calls, calls[0]]))
        by_sid = dict(zip([*sids, sids[0]], results, strict=True))

        assert by_sid[sids[0]].customer_id == ids["listed"] and by_sid[sids[0]].blacklisted
        owner = by_sid[sids[1]]
        assert owner.customer_id == ids["owner"] and owner.segment == "key"
        assert owner.blacklisted and "plate" in (owner.blacklist_reason or "")  # another branch's listing
        assert "부산경남지역본부" in (owner.blacklist_reason or "")
        unknown = by_sid[sids[2]]
        assert unknown.customer_id is None and unknown.blacklisted  # the number itself is listed
        assert not by_sid[sids[3]].blacklisted and by_sid[sids[3]].customer_id is None
        # Only entries in force match: not a proposal nobody approved, not a revoked entry.
        assert not by_sid[sids[4]].blacklisted and not by_sid[sids[5]].blacklisted

        with Session(sync) as session:
            assert session.exec(select(func.count()).select_from(Call)).one() == len(sids)
            assert session.exec(select(func.count()).select_from(CallEvent)).one() == len(sids)
            first = session.exec(select(Call).where(Call.call_sid == status_first)).one()
            assert first.status == "completed" and first.duration == 40  # not overwritten by "ringing"
            assert first.from_number == callers[-1] and first.started_at is not None
            # The same statement promised the alert job of each blacklisted or key caller's call, once each
            # (the redelivery in the batch included); none for the others.
            alerting = {CALL_ALERTS.job_id(sid) for sid, c in zip(sids, callers, strict=True)
                        if c in (LISTED, CAR_OWNER, LISTED_UNKNOWN)}  # fmt: skip
            jobs = session.exec(select(OutboxJob)).all()
            assert sorted(j.job_id for j in jobs) == sorted(alerting) and len(alerting) == 15
            assert {(j.queue, j.func) for j in jobs} == {(CALL_ALERTS.queue, CALL_ALERTS.func)}
    finally:
        await writer.close()
        await engine.dispose()
        sync.dispose()


@pytest.mark.integration
async def test_one_bad_webhook_does_not_sink_the_others(postgres_url: str) -> None:
    engine = make_async_engine(postgres_url)
    writer = IncomingCallWriter(engine, async_session_factory(engine))
    try:
        good, bad = call_sid(), call_sid()
        results = await asyncio.gather(
            writer.open(
                incoming_call(
                    call_sid=good,
                    caller_e164=STRANGER,
                    call_fields=fields(STRANGER),
                    dedup_key=f"voice:{good}:t",
                    payload={},
                )
            ),
            writer.open(
                incoming_call(
                    call_sid=bad, caller_e164=STRANGER, call_fields=fields(STRANGER), dedup_key="x" * 500, payload={}
                )
            ),
            return_exceptions=True,
        )
        assert results[0].customer_id is None  # type: ignore[union-attr]
        assert isinstance(results[1], Exception)
        sync = make_engine(postgres_url)
        with Session(sync) as session:
            assert [c.call_sid for c in session.exec(select(Call)).all()] == [good]
        sync.dispose()
    finally:
        await writer.close()
        await engine.dispose()
